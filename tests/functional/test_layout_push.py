"""k0smotron.oci.layout_push against the real registry and the real ORAS CLI, with a small k0s airgap bundle
made by the tests (tests/harness/ocilayout.py: k0s v1.34.1's image names, multi-platform, a shared base layer)."""
import gzip
import json
import os
import shutil
import subprocess

import pytest

from tests.harness.ocilayout import Bundle, K0S_IMAGES

from conftest import AUTH_PASSWORD, AUTH_USER


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    d = tmp_path_factory.mktemp("bundle")
    b = Bundle()
    b.tar = b.write_tar(str(d / "k0s-airgap-bundle-v1.34.1+k0s.0-linux-amd64.tar"))
    b.dir = b.write_dir(str(d / "layout"))
    return b


def push(run_module, src, target, expect_fail=False, check=False, **extra):
    args = dict(src=src, target=target, plain_http=True)
    args.update(extra)
    return run_module("layout_push", args, check=check, expect_fail=expect_fail)


def oras_json(oras, oras_env, *args):
    proc = subprocess.run([oras] + list(args), capture_output=True, text=True, env=oras_env, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_tar_is_pushed_in_place_keeping_every_digest_and_a_rerun_sends_nothing(
        registry, run_module, bundle, oras, oras_env):
    first = push(run_module, bundle.tar, registry.host + "/first")
    assert first["changed"] is True
    by_name = dict((i["name"], i) for i in first["images"])
    assert sorted(by_name) == sorted(K0S_IMAGES)
    for name, digest in bundle.digests().items():
        image = by_name[name]
        assert image["digest"] == digest
        assert image["reference"] == "%s/first/%s" % (registry.host, name.split("/", 1)[1])
        desc = oras_json(oras, oras_env, "manifest", "fetch", "--plain-http", "--descriptor", image["reference"])
        assert desc["digest"] == digest, "the registry must hold the layout's bytes, digest for digest"
    # one shared base layer, and per image and platform its own layer and config
    distinct_blobs = 1 + len(K0S_IMAGES) * 2 * 2
    assert sum(i["uploaded_blobs"] for i in first["images"]) == distinct_blobs, "no blob is sent twice"
    assert first["uploaded_bytes"] == sum(i["uploaded_bytes"] for i in first["images"]) > 0
    mounted = [i["mounted_blobs"] for i in first["images"]]
    assert mounted[0] == 0 and all(m == 1 for m in mounted[1:]), "the shared base layer is mounted, not sent again"

    again = push(run_module, bundle.tar, registry.host + "/first")
    assert again["changed"] is False and again["uploaded_bytes"] == 0
    assert all(i["existing_blobs"] == 5 and i["pushed_manifests"] == 0 for i in again["images"])


def test_same_digests_as_oras_cp_from_oci_layout(registry, run_module, bundle, oras, oras_env):
    pause = "quay.io/k0sproject/pause:3.10.1"
    digest = bundle.digests()[pause]
    proc = subprocess.run([oras, "cp", "-r", "--from-oci-layout", "%s@%s" % (bundle.tar, digest), "--to-plain-http",
                           "%s/by-oras/k0sproject/pause:3.10.1" % registry.host],
                          capture_output=True, text=True, env=oras_env, check=False)
    assert proc.returncode == 0, proc.stderr
    ours = push(run_module, bundle.tar, registry.host + "/by-module")
    ours_pause = [i for i in ours["images"] if i["name"] == pause][0]
    by_oras = oras_json(oras, oras_env, "manifest", "fetch", "--plain-http", "--descriptor",
                        "%s/by-oras/k0sproject/pause:3.10.1" % registry.host)
    assert ours_pause["digest"] == by_oras["digest"] == digest
    index = oras_json(oras, oras_env, "manifest", "fetch", "--plain-http", ours_pause["reference"])
    arm64 = [m for m in index["manifests"] if m["platform"]["architecture"] == "arm64"][0]
    manifest = oras_json(oras, oras_env, "manifest", "fetch", "--plain-http",
                         "%s/by-module/k0sproject/pause@%s" % (registry.host, arm64["digest"]))
    layer = manifest["layers"][-1]["digest"]
    blob = subprocess.run([oras, "blob", "fetch", "--plain-http", "--output", "-",
                           "%s/by-module/k0sproject/pause@%s" % (registry.host, layer)],
                          capture_output=True, env=oras_env, check=True).stdout
    assert blob == bundle.blobs[layer]


def test_directory_layout_and_check_mode(registry, run_module, bundle, oras, oras_env):
    planned = push(run_module, bundle.dir, registry.host + "/dir", check=True)
    assert planned["changed"] is True and planned["uploaded_bytes"] > 0
    missing = subprocess.run([oras, "manifest", "fetch", "--plain-http", planned["images"][0]["reference"]],
                             capture_output=True, env=oras_env, check=False)
    assert missing.returncode != 0, "check mode pushed something"
    real = push(run_module, bundle.dir, registry.host + "/dir")
    assert real["uploaded_bytes"] == planned["uploaded_bytes"]
    assert [i["digest"] for i in real["images"]] == [i["digest"] for i in planned["images"]]


def test_tls_and_credentials(auth_registry, run_module, bundle):
    res = run_module("layout_push", dict(src=bundle.tar, target=auth_registry.host + "/mirror", username=AUTH_USER,
                                         password=AUTH_PASSWORD, ca_path=auth_registry.ca["ca"]), expect_fail=False)
    assert res["changed"] is True and all(i["digest"] for i in res["images"])
    assert AUTH_PASSWORD not in json.dumps(res).replace('"********"', "")


def test_unusable_layouts_fail_with_one_clear_error(registry, run_module, bundle, tmp_path):
    gz = tmp_path / "bundle.tar.gz"
    with open(bundle.tar, "rb") as f:
        gz.write_bytes(gzip.compress(f.read()))
    res = push(run_module, str(gz), registry.host + "/bad", expect_fail=True)
    assert "uncompressed tar" in res["msg"]

    nameless = tmp_path / "nameless"
    shutil.copytree(bundle.dir, str(nameless))
    index = json.loads((nameless / "index.json").read_text())
    del index["manifests"][0]["annotations"]
    (nameless / "index.json").write_text(json.dumps(index))
    res = push(run_module, str(nameless), registry.host + "/bad", expect_fail=True)
    assert "without org.opencontainers.image.ref.name" in res["msg"]

    holed = tmp_path / "holed"
    shutil.copytree(bundle.dir, str(holed))
    os.remove(str(holed / "blobs" / "sha256" / index["manifests"][0]["digest"].split(":")[1]))
    res = push(run_module, str(holed), registry.host + "/bad", expect_fail=True)
    assert "has no manifest" in res["msg"]

    res = push(run_module, bundle.tar, registry.host + "/bad:tag", expect_fail=True)
    assert "option target" in res["msg"]


def test_tag_suffix_and_platforms(registry, run_module, bundle, tmp_path):
    """tag_suffix keeps one single-platform layout off another's tag; platforms are what index_push takes: an index's
    entries, or a lone manifest with the platform of its config."""
    pushed = push(run_module, bundle.tar, registry.host + "/suffixed", tag_suffix="-multi")
    pause = [i for i in pushed["images"] if i["name"] == "quay.io/k0sproject/pause:3.10.1"][0]
    assert pause["tag"] == "3.10.1-multi" and pause["reference"].endswith("/suffixed/k0sproject/pause:3.10.1-multi")
    assert pause["platforms"] == [
        {"digest": bundle.platform_manifests[(pause["name"], p)], "platform": p} for p in ("linux/amd64", "linux/arm64")]
    flat = Bundle(images=("quay.io/k0sproject/pause:3.10.1",), platforms=(("linux", "arm64"),), flat=True)
    single = push(run_module, flat.write_tar(str(tmp_path / "arm64.tar")), registry.host + "/suffixed", check=True)
    assert single["images"][0]["platforms"] == [
        {"digest": flat.platform_manifests[(pause["name"], "linux/arm64")], "platform": "linux/arm64"}]
    bad = push(run_module, bundle.tar, registry.host + "/suffixed", tag_suffix=":x", expect_fail=True)
    assert "with the tag suffix ':x' gives" in bad["msg"]
