"""k0smotron.oci.k0s_publish with k0s_publish_images (bundle, mirror): the release's airgap bundles from a loopback
mirror laid out like the k0s release page (k0s-airgap-bundle-<version>-linux-<arch>.tar listed in sha256sums.txt), or
local files, into a real registry; what oras reads back."""
import hashlib
import json
import re
import subprocess

import pytest

from tests.harness import mirror as mirror_mod
from tests.harness.ocilayout import K0S_IMAGES, Bundle

VERSION = "v1.34.1+k0s.0"
TAG = "v1.34.1-k0s.0"
TRUSTED = [mirror_mod.RELEASE_KEY.public_pem]
ARCHES = ("amd64", "arm64")
PAUSE = "quay.io/k0sproject/pause:3.10.1"


def recap(out):
    m = re.search(r"localhost\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", out)
    assert m, out[-3000:]
    return int(m.group(2))


def asset(arch):
    return "k0s-airgap-bundle-%s-linux-%s.tar" % (VERSION, arch)


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """Stand-in binaries and, per architecture, a bundle of that architecture's images only (as k0s ships them:
    index.json names each image's own manifest), behind a release-layout mirror."""
    root = tmp_path_factory.mktemp("k0s-images-release")
    files = dict((a, mirror_mod.stand_in_k0s(str(root / ("k0s-" + a)), VERSION, pad_bytes=10 + i))
                 for i, a in enumerate(ARCHES))
    bundles, paths = {}, {}
    for arch in ARCHES:
        bundles[arch] = Bundle(platforms=(("linux", arch),), flat=True)
        paths[arch] = bundles[arch].write_tar(str(root / asset(arch)))
    mirror_mod.build_k0s_mirror(str(root / "mirror"), VERSION, files, bundles=paths)
    m = mirror_mod.Mirror(str(root / "mirror")).start()
    m.bundles, m.paths = bundles, paths
    m.sha = dict((a, mirror_mod.sha256_file(p)) for a, p in paths.items())
    m.root = root
    yield m
    m.stop()


def base_vars(registry, release, tmp_path, **extra):
    out = {"k0s_publish_trusted_keys": TRUSTED, "k0s_publish_repository": registry.host + "/rel/k0s",
           "k0s_publish_base_url": release.url, "k0s_publish_registry_plain_http": True,
           "k0s_publish_cache_dir": str(tmp_path / "cache")}
    out.update(extra)
    return out


def fetch(oras, oras_env, ref, *flags):
    proc = subprocess.run([oras, "manifest", "fetch", "--plain-http"] + list(flags) + [ref], capture_output=True,
                          text=True, env=oras_env, check=False)
    return proc.returncode, (json.loads(proc.stdout) if proc.returncode == 0 else proc.stderr)


def test_bundle_delivery_per_arch_artifacts_and_index(ansible_playbook, registry, release, run_module, oras, oras_env,
                                                      tmp_path):
    """bundle, two architectures: check, real, real, check - changed, changed, not changed, not changed; each
    bundle is the blob of its architecture's artifact (digest = the release's checksum), and oras fetches it back."""
    extra = base_vars(registry, release, tmp_path, k0s_publish_images="bundle", k0s_publish_architectures=list(ARCHES))
    runs = []
    for check in (True, False, False, True):
        p = ansible_playbook("k0smotron.oci.publish", extra_vars=extra, check=check)
        assert p.returncode == 0, p.stdout[-4000:]
        runs.append((recap(p.stdout), p.stdout))
    assert runs[0][0] > 0 and runs[1][0] > 0
    assert runs[2][0] == 0 and runs[3][0] == 0, [r[0] for r in runs]
    out = runs[2][1]
    repo = registry.host + "/rel/k0s-airgap-bundle"
    assert "Would push the image index %s:%s over %s-amd64, %s-arm64" % (repo, TAG, TAG, TAG) in runs[0][1]
    assert '"k0s airgap bundles %s -> %s:%s (a multi-arch index over %s-amd64, %s-arm64)"' % (
        VERSION, repo, TAG, TAG, TAG) in out, out[-3000:]
    for arch, platform in (("amd64", "linux/amd64"), ("arm64", "linux/arm64")):
        url = "oci://%s@sha256:%s" % (repo, release.sha[arch])
        assert '"%s: %s (already in the registry)"' % (arch, url) in out
        assert '"%s: %s (pushed)"' % (arch, url) in runs[1][1]
        info = run_module("artifact_info", {"reference": "%s:%s" % (repo, TAG), "platform": platform,
                                            "plain_http": True}, expect_fail=False)
        assert info["blob_digest"] == "sha256:" + release.sha[arch]
        assert info["title"] == asset(arch)
        got = tmp_path / ("fetched-" + arch)
        proc = subprocess.run([oras, "blob", "fetch", "--plain-http", "--output", str(got),
                               "%s@sha256:%s" % (repo, release.sha[arch])], capture_output=True, text=True,
                              env=oras_env, check=False)
        assert proc.returncode == 0, proc.stderr
        assert hashlib.sha256(got.read_bytes()).hexdigest() == release.sha[arch]


def test_mirror_two_arches_index_per_image_idempotent(ansible_playbook, registry, release, oras, oras_env, tmp_path):
    """mirror, two single-architecture bundles: each goes under TAG-ARCH (neither takes the other's tag), and the
    plain tag is an index over both architectures' manifests. Check mode on an empty registry writes nothing; a
    rerun writes nothing and sends 0 bytes."""
    target = registry.host + "/mirror2"
    extra = base_vars(registry, release, tmp_path, k0s_publish_images="mirror", k0s_publish_architectures=list(ARCHES),
                      k0s_publish_images_target=target)
    p = ansible_playbook("k0smotron.oci.publish", extra_vars=extra, check=True)
    assert p.returncode == 0 and recap(p.stdout) > 0, p.stdout[-4000:]
    assert '"amd64: %d images, %d would be written, ' % (len(K0S_IMAGES), len(K0S_IMAGES)) in p.stdout, p.stdout[-3000:]
    assert "Would push %d multi-arch image indexes under %s" % (len(K0S_IMAGES), target) in p.stdout
    assert fetch(oras, oras_env, target + "/k0sproject/pause:3.10.1")[0] != 0, "check mode wrote nothing"

    p = ansible_playbook("k0smotron.oci.publish", extra_vars=extra)
    assert p.returncode == 0 and recap(p.stdout) > 0, p.stdout[-4000:]
    for name in K0S_IMAGES:
        path = name.split("/", 1)[1]
        code, index = fetch(oras, oras_env, "%s/%s" % (target, path))
        assert code == 0, index
        assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
        assert [(m["digest"], m["platform"]) for m in index["manifests"]] == [
            (release.bundles[arch].platform_manifests[(name, "linux/" + arch)], {"os": "linux", "architecture": arch})
            for arch in ARCHES]
        for arch in ARCHES:
            code, desc = fetch(oras, oras_env, "%s/%s-%s" % (target, path, arch), "--descriptor")
            assert code == 0 and desc["digest"] == release.bundles[arch].digests()[name], desc
    assert '"The k0s config takes spec.images.repository: %s (fact k0s_publish_images_mirror_repository)."' % target \
        in p.stdout
    assert '"%d images tagged with a multi-arch index over amd64, arm64 (each architecture also under TAG-ARCH)"' % (
        len(K0S_IMAGES)) in p.stdout

    again = ansible_playbook("k0smotron.oci.publish", extra_vars=extra)
    assert again.returncode == 0 and recap(again.stdout) == 0, again.stdout[-4000:]
    for arch in ARCHES:
        assert '"%s: %d images, 0 written, 0 bytes sent"' % (arch, len(K0S_IMAGES)) in again.stdout, again.stdout[-3000:]
    assert recap(ansible_playbook("k0smotron.oci.publish", extra_vars=extra, check=True).stdout) == 0


def test_mirror_one_arch_local_bundle_keeps_every_digest(ansible_playbook, registry, release, oras, oras_env, tmp_path):
    """mirror, one architecture, a local multi-platform bundle checked against k0s_publish_images_checksums: the
    images keep the layout's digests under their plain tags; the default target is k0s_publish_repository's
    registry."""
    bundle = Bundle()
    local = bundle.write_tar(str(tmp_path / "bundle.tar"))
    sha = mirror_mod.sha256_file(local)
    extra = base_vars(registry, release, tmp_path, k0s_publish_images="mirror",
                      k0s_publish_images_files={"amd64": local}, k0s_publish_images_checksums={"amd64": "0" * 64})
    p = ansible_playbook("k0smotron.oci.publish", extra_vars=extra)
    assert p.returncode != 0
    assert "(k0s_publish_images_files.amd64) has sha256 %s, expected %s (k0s_publish_images_checksums)" % (
        sha, "0" * 64) in p.stdout, p.stdout[-3000:]

    extra["k0s_publish_images_checksums"] = {"amd64": "sha256:" + sha}
    p = ansible_playbook("k0smotron.oci.publish", extra_vars=extra)
    assert p.returncode == 0, p.stdout[-4000:]
    assert '"The k0s config takes spec.images.repository: %s (fact' % registry.host in p.stdout
    for name, digest in bundle.digests().items():
        code, desc = fetch(oras, oras_env, "%s/%s" % (registry.host, name.split("/", 1)[1]), "--descriptor")
        assert code == 0 and desc["digest"] == digest, desc

    # A bundle for an architecture that is not published is an error naming both variables.
    p = ansible_playbook("k0smotron.oci.publish", extra_vars=dict(extra, k0s_publish_images_files={
        "amd64": local, "arm64": local}))
    assert p.returncode != 0
    assert "k0s_publish_images_files gives a file for arm64, which k0s_publish_architectures does not list" in p.stdout


def test_tampered_bundle_is_refused(ansible_playbook, registry, release, oras, oras_env, tmp_path):
    """A bundle replaced after sha256sums.txt was written, by another valid bundle: refused by its checksum, not
    cached, nothing of it pushed."""
    root = tmp_path / "bad"
    mirror_mod.build_k0s_mirror(str(root), VERSION, {"amd64": str(release.root / "k0s-amd64")},
                                bundles={"amd64": release.paths["amd64"]})
    Bundle(images=(PAUSE,), platforms=(("linux", "amd64"),), flat=True).write_tar(str(root / VERSION / asset("amd64")))
    with mirror_mod.Mirror(str(root)) as bad:
        extra = base_vars(registry, release, tmp_path, k0s_publish_images="mirror", k0s_publish_base_url=bad.url,
                          k0s_publish_images_target=registry.host + "/tampered",
                          k0s_publish_download_retries=0, k0s_publish_download_delay=0)
        p = ansible_playbook("k0smotron.oci.publish", extra_vars=extra)
    assert p.returncode != 0
    assert "k0s-airgap-bundle-v1.34.1%2Bk0s.0-linux-amd64.tar has sha256" in p.stdout and "the checksum did not match" in p.stdout, p.stdout[-3000:]
    assert not (tmp_path / "cache" / VERSION / "amd64" / asset("amd64")).exists()
    assert fetch(oras, oras_env, registry.host + "/tampered/k0sproject/pause:3.10.1")[0] != 0


def test_bad_image_inputs_fail_before_any_download(ansible_playbook, tmp_path):
    base = {"k0s_publish_repository": "r.example/k0s", "k0s_publish_base_url": "http://127.0.0.1:9/unused",
            "k0s_publish_cache_dir": str(tmp_path / "cache")}

    def run(**extra):
        p = ansible_playbook("k0smotron.oci.publish", extra_vars=dict(base, **extra))
        assert p.returncode != 0
        return p.stdout

    out = run(k0s_publish_images="mirror", k0s_publish_version="v1.33.4+k0s.0",
              k0s_publish_images_target="r.example/mirror")
    assert "a PREFIX needs k0s v1.34.1 or later" in out, out[-3000:]
    out = run(k0s_publish_images="bundle", k0s_publish_images_repository="r.example/b:v1")
    assert "k0s_publish_images_repository must be REGISTRY/REPOSITORY" in out
    out = run(k0s_publish_images="mirror", k0s_publish_images_target="oci://r.example")
    assert "option k0s_publish_images_target" in out, out[-3000:]
    out = run(k0s_publish_images="all")
    assert "k0s_publish_images" in out and "none, bundle, mirror" in out


@pytest.mark.parametrize("delivery", ["bundle", "mirror"])
def test_site_renders_what_publish_published(ansible_playbook, registry, release, oras_mirror, tmp_path, delivery):
    """site hands k0s_publish's images to control_plane: the bundle URLs to control_plane_images_bundle, or the
    mirror to spec.images.repository."""
    out = tmp_path / "manifests"
    extra = base_vars(registry, release, tmp_path, k0s_publish_images=delivery, k0s_publish_architectures=["amd64"],
                      k0s_publish_repository=registry.host + "/site-%s/k0s" % delivery,
                      control_plane_output_dir=str(out), control_plane_oras_base_url=oras_mirror.url,
                      control_plane_oras_version=oras_mirror.version, control_plane_aws_ssh_key_name="k")
    p = ansible_playbook("k0smotron.oci.site", extra_vars=extra)
    assert p.returncode == 0, p.stdout[-4000:]
    text = "".join(f.read_text() for f in sorted(out.iterdir()))
    if delivery == "bundle":
        assert re.search(r"%s/site-bundle/k0s-airgap-bundle@sha256:[0-9a-f]{64}" % re.escape(registry.host), text)
        assert "default_pull_policy: Never" in text
    else:
        assert "repository: %s" % registry.host in text
