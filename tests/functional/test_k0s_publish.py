"""k0smotron.oci.k0s_publish / playbook k0smotron.oci.publish against a real registry and a loopback mirror
laid out like the k0s release page (<base>/<version>/k0s-<version>-<arch>, sha256sums.txt with "<hex> *<asset>")."""
import json
import re
import subprocess

import pytest
from conftest import AUTH_PASSWORD, AUTH_USER

from tests.harness import mirror as mirror_mod

VERSION = "v1.34.1+k0s.0"
# The fake releases are signed as k0s signs its releases (tests/harness/mirror.py); pin their key.
TRUSTED = [mirror_mod.RELEASE_KEY.public_pem]
TAG = "v1.34.1-k0s.0"


def recap(out):
    m = re.search(r"localhost\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", out)
    assert m, out[-3000:]
    return {"ok": int(m.group(1)), "changed": int(m.group(2)), "failed": int(m.group(4))}


@pytest.fixture(scope="module")
def k0s_release(tmp_path_factory):
    """Stand-in binaries for amd64, arm64, arm (different content each) behind a release-layout mirror."""
    root = tmp_path_factory.mktemp("k0s-release")
    files = {a: mirror_mod.stand_in_k0s(str(root / ("src-" + a)), VERSION, pad_bytes=100 + i)
             for i, a in enumerate(("amd64", "arm64", "arm"))}
    mirror_mod.build_k0s_mirror(str(root / "mirror"), VERSION, files)
    m = mirror_mod.Mirror(str(root / "mirror")).start()
    m.files = files
    m.sha = {a: mirror_mod.sha256_file(p) for a, p in files.items()}
    yield m
    m.stop()


def manifest(oras, oras_env, ref, *flags):
    out = subprocess.run([oras, "manifest", "fetch"] + list(flags) + [ref], capture_output=True, text=True, env=oras_env,
                         check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_single_arch_env_credentials_idempotent(ansible_playbook, auth_registry, k0s_release, oras, oras_env,
                                                tmp_path):
    """Credentials and CA only in the environment (as the AWX credential type injects them); check, real,
    real, check: changed, changed, not changed, not changed."""
    extra = {"k0s_publish_trusted_keys": TRUSTED, "k0s_publish_repository": auth_registry.host + "/pub/k0s", "k0s_publish_base_url": k0s_release.url,
             "k0s_publish_cache_dir": str(tmp_path / "cache")}
    env = {"K0SMOTRON_OCI_USERNAME": AUTH_USER, "K0SMOTRON_OCI_PASSWORD": AUTH_PASSWORD,
           "K0SMOTRON_OCI_CA_PATH": auth_registry.ca["ca"], "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    results = []
    for check in (True, False, False, True):
        p = ansible_playbook("k0smotron.oci.publish", extra_vars=extra, check=check, env=env)
        assert p.returncode == 0, p.stdout[-4000:]
        assert AUTH_PASSWORD not in p.stdout
        results.append(recap(p.stdout)["changed"])
    assert results[0] > 0 and results[1] > 0
    assert results[2] == 0 and results[3] == 0, results
    url = "oci://%s/pub/k0s@sha256:%s" % (auth_registry.host, k0s_release.sha["amd64"])
    assert url in p.stdout
    # What oras sees: the seed's manifest shape, the layer annotation from {"k0s": {"arch": "amd64"}}.
    login = subprocess.run([oras, "login", "--ca-file", auth_registry.ca["ca"], "-u", AUTH_USER, "--password-stdin",
                            auth_registry.host], input=AUTH_PASSWORD, capture_output=True, text=True, env=oras_env,
                           check=False)
    assert login.returncode == 0, login.stderr
    doc = manifest(oras, oras_env, "%s/pub/k0s:%s" % (auth_registry.host, TAG), "--ca-file", auth_registry.ca["ca"])
    assert doc["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    (layer,) = doc["layers"]
    assert layer["digest"] == "sha256:" + k0s_release.sha["amd64"]
    assert layer["annotations"] == {"org.opencontainers.image.title": "k0s", "arch": "amd64"}


def test_multi_arch_index(ansible_playbook, registry, k0s_release, run_module, tmp_path):
    extra = {"k0s_publish_trusted_keys": TRUSTED, "k0s_publish_repository": registry.host + "/multi/k0s", "k0s_publish_base_url": k0s_release.url,
             "k0s_publish_architectures": ["amd64", "arm64", "arm"], "k0s_publish_registry_plain_http": True,
             "k0s_publish_cache_dir": str(tmp_path / "cache")}
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    p = ansible_playbook("k0smotron.oci.publish", extra_vars=extra, env=env)
    assert p.returncode == 0, p.stdout[-4000:]
    p2 = ansible_playbook("k0smotron.oci.publish", extra_vars=extra, env=env)
    assert p2.returncode == 0 and recap(p2.stdout)["changed"] == 0, p2.stdout[-4000:]
    for arch, platform in (("amd64", "linux/amd64"), ("arm64", "linux/arm64"), ("arm", "linux/arm/v7")):
        info = run_module("artifact_info", {"reference": registry.host + "/multi/k0s:" + TAG, "platform": platform,
                                            "plain_http": True}, expect_fail=False)
        assert info["blob_digest"] == "sha256:" + k0s_release.sha[arch], info
        assert info["download_url"] in p.stdout
        per_arch = run_module("artifact_info", {"reference": "%s/multi/k0s:%s-%s" % (registry.host, TAG, arch),
                                                "plain_http": True}, expect_fail=False)
        assert per_arch["blob_digest"] == info["blob_digest"]


@pytest.mark.parametrize("asset, appended, needle", [
    # The binary does not match sha256sums.txt.
    ("k0s-%s-amd64" % VERSION, "# tampered\n", "checksum"),
    # sha256sums.txt has a line of another shape (a truncated download, an error page) after the good one: the one
    # parser (parse_checksums) refuses the whole list and names the line.
    ("sha256sums.txt", "<html>502 Bad Gateway</html>\n", "k0smotron.oci.parse_checksums: line 2 is not"),
])
def test_broken_mirror_is_refused(ansible_playbook, registry, k0s_release, tmp_path, asset, appended, needle):
    """Nothing is cached and nothing is pushed."""
    root = tmp_path / "bad"
    mirror_mod.build_k0s_mirror(str(root), VERSION, {"amd64": k0s_release.files["amd64"]})
    with open(str(root / VERSION / asset), "a") as f:
        f.write(appended)
    with mirror_mod.Mirror(str(root)) as bad:
        extra = {"k0s_publish_trusted_keys": TRUSTED, "k0s_publish_repository": registry.host + "/broken/k0s", "k0s_publish_base_url": bad.url,
                 "k0s_publish_registry_plain_http": True, "k0s_publish_cache_dir": str(tmp_path / "cache"),
                 "k0s_publish_download_retries": 1, "k0s_publish_download_delay": 0}
        p = ansible_playbook("k0smotron.oci.publish", extra_vars=extra)
    assert p.returncode != 0
    assert needle in p.stdout, p.stdout[-3000:]
    assert not (tmp_path / "cache" / VERSION / "amd64" / "k0s").exists()
    assert "manifest_digest" not in p.stdout


def test_local_files_and_checksums(ansible_playbook, registry, k0s_release, tmp_path):
    local = str(tmp_path / "k0s-v1.34.1+k0s.0-arm64")
    with open(k0s_release.files["arm64"], "rb") as src, open(local, "wb") as dst:
        dst.write(src.read())
    mirror_mod.RELEASE_KEY.sign(local)
    base = {"k0s_publish_trusted_keys": TRUSTED, "k0s_publish_repository": registry.host + "/local/k0s", "k0s_publish_architectures": ["arm64"],
            "k0s_publish_files": {"arm64": local}, "k0s_publish_registry_plain_http": True,
            "k0s_publish_base_url": "http://127.0.0.1:9/unused", "k0s_publish_cache_dir": str(tmp_path / "cache")}
    wrong = dict(base, k0s_publish_checksums={"arm64": "0" * 64})
    p = ansible_playbook("k0smotron.oci.publish", extra_vars=wrong)
    assert p.returncode != 0 and "expected " + "0" * 64 in p.stdout, p.stdout[-3000:]
    right = dict(base, k0s_publish_checksums={"arm64": "sha256:" + k0s_release.sha["arm64"]})
    p = ansible_playbook("k0smotron.oci.publish", extra_vars=right)
    assert p.returncode == 0, p.stdout[-3000:]
    assert "oci://%s/local/k0s@sha256:%s" % (registry.host, k0s_release.sha["arm64"]) in p.stdout


def test_bad_inputs_fail_early(ansible_playbook):
    # A scheme: the reference parser names the variable and the problem.
    p = ansible_playbook("k0smotron.oci.publish", extra_vars={"k0s_publish_repository": "oci://x/y:tag"})
    assert p.returncode != 0 and "option k0s_publish_repository: 'oci://x/y:tag' starts with oci://" in p.stdout
    # A well-formed reference with a tag is still not a repository.
    p = ansible_playbook("k0smotron.oci.publish", extra_vars={"k0s_publish_repository": "r.example/k0s:v1"})
    assert p.returncode != 0 and "k0s_publish_repository must be REGISTRY/REPOSITORY" in p.stdout
    # The tags pushed under (<tag>-<arch> with several architectures) are checked before anything is downloaded.
    p = ansible_playbook("k0smotron.oci.publish", extra_vars={"k0s_publish_repository": "r.example/k0s",
                                                              "k0s_publish_tag": "v1+k0s"})
    assert p.returncode != 0 and "option k0s_publish_tag: tag 'v1+k0s' contains '+'" in p.stdout
    p = ansible_playbook("k0smotron.oci.publish", extra_vars={"k0s_publish_repository": "r.example/k0s",
                                                              "k0s_publish_architectures": ["armv7"]})
    assert p.returncode != 0 and "armv7" in p.stdout
    # Full match: a trailing newline is not a version, and a checksum with one is not a sha256.
    p = ansible_playbook("k0smotron.oci.publish", extra_vars={"k0s_publish_repository": "r.example/k0s",
                                                              "k0s_publish_version": "v1.34.1+k0s.0\n"})
    assert p.returncode != 0 and "k0s_publish_version must be a k0s release" in p.stdout, p.stdout[-3000:]
    p = ansible_playbook("k0smotron.oci.publish", extra_vars={"k0s_publish_repository": "r.example/k0s",
                                                              "k0s_publish_checksums": {"amd64": "a" * 64 + "\n"}})
    assert p.returncode != 0 and "k0s_publish_checksums an arch to 64 hex digits" in p.stdout, p.stdout[-3000:]


def test_site_check_real_idempotent(ansible_playbook, auth_registry, k0s_release, oras_mirror, tmp_path):
    """site: check mode on an empty repository (nothing pushed, nothing written), a real run (publish ->
    resolve -> render), a second real run with changed=0; credentials from the environment only."""
    out = tmp_path / "manifests"
    extra = {"k0s_publish_trusted_keys": TRUSTED, "k0s_publish_repository": auth_registry.host + "/site/k0s", "k0s_publish_base_url": k0s_release.url,
             "k0s_publish_cache_dir": str(tmp_path / "cache"), "control_plane_output_dir": str(out),
             "control_plane_oras_base_url": oras_mirror.url, "control_plane_oras_version": oras_mirror.version}
    env = {"K0SMOTRON_OCI_USERNAME": AUTH_USER, "K0SMOTRON_OCI_PASSWORD": AUTH_PASSWORD,
           "K0SMOTRON_OCI_CA_PATH": auth_registry.ca["ca"], "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    url = "oci://%s/site/k0s@sha256:%s" % (auth_registry.host, k0s_release.sha["amd64"])
    p = ansible_playbook("k0smotron.oci.site", extra_vars=extra, check=True, env=env)
    assert p.returncode == 0, p.stdout[-4000:]
    assert url in p.stdout
    assert not out.exists() or not list(out.iterdir())
    p = ansible_playbook("k0smotron.oci.site", extra_vars=extra, env=env)
    assert p.returncode == 0, p.stdout[-4000:]
    text = "".join(f.read_text() for f in sorted(out.iterdir()))
    assert "downloadURL: " + url in text
    assert AUTH_PASSWORD not in p.stdout
    p = ansible_playbook("k0smotron.oci.site", extra_vars=extra, env=env)
    assert p.returncode == 0 and recap(p.stdout)["changed"] == 0, p.stdout[-4000:]


def test_offline_controller_is_told_which_variables_to_set(ansible_playbook, tmp_path):
    """The default base URL out of reach (an unknown host, as on a controller without internet access): one
    message naming the variables for a mirror or local files, not a raw urlopen error after the retries."""
    p = ansible_playbook("k0smotron.oci.publish", extra_vars={
        "k0s_publish_repository": "r.example/k0s", "k0s_publish_base_url": "https://k0s-releases.invalid/download",
        "k0s_publish_cache_dir": str(tmp_path / "cache")})
    assert p.returncode != 0
    assert "cannot reach https://k0s-releases.invalid/download/v1.34.1%2Bk0s.0/sha256sums.txt" in p.stdout, \
        p.stdout[-3000:]
    assert ("point k0s_publish_base_url (or k0s_publish_checksums_url) at a mirror with the release's layout, or give "
            "k0s_publish_files (a file for each of k0s_publish_architectures) with k0s_publish_checksums") in p.stdout


def test_summary_and_files_for_other_architectures(ansible_playbook, registry, k0s_release, tmp_path):
    """The result is shown as lines a person reads (what was pushed, or was already there), not a dict repr;
    a local file for an architecture that is not published is an error, not silently ignored."""
    extra = {"k0s_publish_trusted_keys": TRUSTED, "k0s_publish_repository": registry.host + "/summary/k0s",
             "k0s_publish_files": {"amd64": k0s_release.files["amd64"]},
             "k0s_publish_registry_plain_http": True, "k0s_publish_base_url": "http://127.0.0.1:9/unused",
             "k0s_publish_cache_dir": str(tmp_path / "cache")}
    url = "oci://%s/summary/k0s@sha256:%s" % (registry.host, k0s_release.sha["amd64"])
    shown = []
    for dummy in range(2):
        p = ansible_playbook("k0smotron.oci.publish", extra_vars=extra)
        assert p.returncode == 0, p.stdout[-3000:]
        assert "{'amd64'" not in p.stdout
        assert '"k0s %s -> %s/summary/k0s:%s"' % (VERSION, registry.host, TAG) in p.stdout, p.stdout[-3000:]
        shown.append([line for line in ('"amd64: %s (pushed)"' % url, '"amd64: %s (already in the registry)"' % url)
                      if line in p.stdout])
    assert shown == [['"amd64: %s (pushed)"' % url], ['"amd64: %s (already in the registry)"' % url]]
    p = ansible_playbook("k0smotron.oci.publish", extra_vars=dict(extra, k0s_publish_files={
        "amd64": k0s_release.files["amd64"], "arm64": k0s_release.files["arm64"]}))
    assert p.returncode != 0
    assert "k0s_publish_files gives a file for arm64, which k0s_publish_architectures does not list (amd64)" in p.stdout
