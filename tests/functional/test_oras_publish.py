"""k0smotron.oci.oras_publish / playbook k0smotron.oci.publish_oras against the real registry and the loopback ORAS
mirror (upstream's release layout), then the node-side curl fetch (plugin_utils/_node_fetch.py) of a pushed tarball."""
import hashlib
import json
import os
import re
import subprocess
import urllib.error
import urllib.request

import pytest

from tests.functional.conftest import AUTH_PASSWORD, AUTH_USER
from tests.harness import tools
from tests.harness.nodefetch import node_fetch_module

node_fetch = node_fetch_module()

ARCHES = ("amd64", "arm64", "armv7")
WRAPPER = """
- name: Publish ORAS and print the result
  hosts: localhost
  gather_facts: false
  roles:
    - role: k0smotron.oci.oras_publish
  tasks:
    - name: Print the result
      ansible.builtin.debug:
        msg: "RESULT={{ oras_publish_result | to_json }}"
"""


def recap(out):
    m = re.search(r"localhost\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", out)
    assert m, out[-3000:]
    return {"ok": int(m.group(1)), "changed": int(m.group(2)), "failed": int(m.group(4))}


def result_of(out):
    m = re.search(r'"msg": "RESULT=(.*)"\n', out)
    assert m, out[-3000:]
    return json.loads(json.loads('"%s"' % m.group(1)))


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def asset(mirror_root, version, arch):
    return os.path.join(mirror_root, "v%s" % version, "oras_%s_linux_%s.tar.gz" % (version, arch))


def tags(registry, repository):
    """The tags of a repository in the plain registry, [] when it does not exist."""
    try:
        with urllib.request.urlopen("%s/v2/%s/tags/list" % (registry.url, repository), timeout=10) as r:
            return json.load(r).get("tags") or []
    except urllib.error.HTTPError as e:
        assert e.code == 404
        return []


def test_check_real_idempotent_then_a_node_fetches_with_curl(ansible_playbook, auth_registry, oras_mirror, oras,
                                                             oras_env, tmp_path):
    """TLS + htpasswd registry, credentials and CA from the environment: check, real, real, check ->
    changed, changed, not changed, not changed; the artifact is what oras reads; a node's curl fetch matches."""
    repo = auth_registry.host + "/airgap/oras"
    extra = {"oras_publish_repository": repo, "oras_publish_base_url": oras_mirror.url,
             "oras_publish_version": oras_mirror.version, "oras_publish_cache_dir": str(tmp_path / "cache"),
             "oras_publish_download_delay": 0}
    env = {"K0SMOTRON_OCI_USERNAME": AUTH_USER, "K0SMOTRON_OCI_PASSWORD": AUTH_PASSWORD,
           "K0SMOTRON_OCI_CA_PATH": auth_registry.ca["ca"], "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    changed, results = [], []
    for check in (True, False, False, True):
        p = ansible_playbook(WRAPPER, extra_vars=extra, check=check, env=env)
        assert p.returncode == 0, p.stdout[-4000:]
        assert AUTH_PASSWORD not in p.stdout
        changed.append(recap(p.stdout)["changed"])
        results.append(result_of(p.stdout))
        if check and len(changed) == 1:
            # Check mode pushed nothing.
            tag = subprocess.run([oras, "repo", "tags", "--ca-file", auth_registry.ca["ca"], "-u", AUTH_USER,
                                  "--password-stdin", "%s/airgap/oras" % auth_registry.host], input=AUTH_PASSWORD,
                                 capture_output=True, text=True, env=oras_env, check=False)
            assert "v%s" % oras_mirror.version not in tag.stdout
    assert changed[0] > 0 and changed[1] > 0 and changed[2] == 0 and changed[3] == 0, changed
    # Check mode predicts everything but a new manifest's digest (its "created" annotation is set when it is pushed).
    assert [{a: dict(e, manifest_digest=None) for a, e in r.items()} for r in results[1:]] == \
        [{a: dict(e, manifest_digest=None) for a, e in results[0].items()}] * 3
    assert results[1] == results[2] == results[3]

    result = results[1]
    assert sorted(result) == sorted(ARCHES)
    for arch in ARCHES:
        path = asset(oras_mirror.root, oras_mirror.version, arch)
        entry = result[arch]
        assert entry["digest"] == "sha256:" + sha(path)
        assert entry["size"] == os.path.getsize(path)
        assert entry["file_name"] == os.path.basename(path)
        assert entry["registry"] == auth_registry.host and entry["repository"] == "airgap/oras"
        assert entry["reference"] == "%s@%s" % (repo, entry["digest"])
        assert entry["download_url"] == "oci://" + entry["reference"]
        assert entry["artifact"] == "%s:v%s" % (repo, oras_mirror.version)

    # The real ORAS CLI reads one artifact with one layer per tarball.
    login = ["--ca-file", auth_registry.ca["ca"], "-u", AUTH_USER, "--password-stdin"]
    out = subprocess.run([oras, "manifest", "fetch"] + login + ["%s:v%s" % (repo, oras_mirror.version)],
                         input=AUTH_PASSWORD, capture_output=True, text=True, env=oras_env, check=True).stdout
    manifest = json.loads(out)
    assert [layer["annotations"]["org.opencontainers.image.title"] for layer in manifest["layers"]] == \
        [result[a]["file_name"] for a in ARCHES]
    assert [layer["annotations"]["arch"] for layer in manifest["layers"]] == list(ARCHES)
    assert manifest["annotations"]["org.opencontainers.image.version"] == oras_mirror.version

    # A node: curl alone, under dash, no HOME, credentials from its config.json, the private CA.
    entry = result[tools.HOST_ARCH]
    config = tmp_path / "config.json"
    config.write_text(json.dumps(auth_registry.docker_config()))
    out_dir = tmp_path / "node"
    out_dir.mkdir()
    dest = str(out_dir / entry["file_name"])
    script = tmp_path / "fetch-oras.sh"
    script.write_text(node_fetch.fetch_script(entry["registry"], entry["repository"], entry["digest"], dest,
                                              config_path=str(config), ca_file=auth_registry.ca["ca"]))
    proc = subprocess.run(["dash", str(script)], env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "sha256:" + sha(dest) == entry["digest"]
    with open(dest, "rb") as got, open(asset(oras_mirror.root, oras_mirror.version, tools.HOST_ARCH), "rb") as want:
        assert got.read() == want.read()


def test_the_playbook_with_one_arch(ansible_playbook, registry, oras_mirror, tmp_path):
    extra = {"oras_publish_repository": registry.host + "/pb/oras", "oras_publish_base_url": oras_mirror.url,
             "oras_publish_version": "v" + oras_mirror.version, "oras_publish_architectures": ["arm64"],
             "oras_publish_registry_plain_http": True, "oras_publish_cache_dir": str(tmp_path / "cache"),
             "oras_publish_tag": "stable"}
    p = ansible_playbook("k0smotron.oci.publish_oras", extra_vars=extra)
    assert p.returncode == 0, p.stdout[-4000:]
    digest = "sha256:" + sha(asset(oras_mirror.root, oras_mirror.version, "arm64"))
    assert "%s/pb/oras@%s" % (registry.host, digest) in p.stdout
    assert tags(registry, "pb/oras") == ["stable"]


def test_tampered_tarball_is_refused_and_nothing_pushed(ansible_playbook, registry, tampered_mirror, oras_mirror, tmp_path):
    extra = {"oras_publish_repository": registry.host + "/tampered/oras", "oras_publish_base_url": tampered_mirror.url,
             "oras_publish_version": oras_mirror.version, "oras_publish_registry_plain_http": True,
             "oras_publish_cache_dir": str(tmp_path / "cache"), "oras_publish_download_retries": 1,
             "oras_publish_download_delay": 0}
    p = ansible_playbook(WRAPPER, extra_vars=extra)
    assert p.returncode != 0
    assert recap(p.stdout)["failed"] == 1
    assert "oras_%s_linux_%s.tar.gz" % (oras_mirror.version, tools.HOST_ARCH) in p.stdout
    assert "did not match" in p.stdout, p.stdout[-3000:]
    assert "RESULT=" not in p.stdout
    assert tags(registry, "tampered/oras") == []


def test_local_files_and_checksums_need_no_network(ansible_playbook, registry, oras_mirror, tmp_path):
    """Air-gapped controller: local tarballs + checksums, the base URL points nowhere."""
    files = {a: asset(oras_mirror.root, oras_mirror.version, a) for a in ("amd64", "armv7")}
    extra = {"oras_publish_repository": registry.host + "/local/oras", "oras_publish_base_url": "http://127.0.0.1:9",
             "oras_publish_version": oras_mirror.version, "oras_publish_architectures": ["amd64", "armv7"],
             "oras_publish_files": files, "oras_publish_checksums": {a: "sha256:" + sha(p) for a, p in files.items()},
             "oras_publish_registry_plain_http": True, "oras_publish_cache_dir": str(tmp_path / "cache")}
    p = ansible_playbook(WRAPPER, extra_vars=extra)
    assert p.returncode == 0, p.stdout[-4000:]
    result = result_of(p.stdout)
    assert {a: result[a]["digest"] for a in files} == {a: "sha256:" + sha(p) for a, p in files.items()}
    # A wrong checksum for a local file: refused before anything is pushed.
    extra.update({"oras_publish_repository": registry.host + "/local-bad/oras",
                  "oras_publish_checksums": {"amd64": "0" * 64, "armv7": sha(files["armv7"])}})
    p = ansible_playbook(WRAPPER, extra_vars=extra)
    assert p.returncode != 0 and "Nothing was pushed" in p.stdout, p.stdout[-3000:]
    assert tags(registry, "local-bad/oras") == []


@pytest.mark.parametrize("overrides, message", [
    ({"oras_publish_repository": "oras"}, "option oras_publish_repository"),
    ({"oras_publish_repository": "127.0.0.1:5000/oras:v1"}, "oras_publish_repository must be REGISTRY/REPOSITORY"),
    ({"oras_publish_tag": "+bad"}, "option oras_publish_tag"),
    ({"oras_publish_version": "latest"}, "oras_publish_version must be an ORAS release"),
    ({"oras_publish_checksums": {"amd64": "abc"}}, "oras_publish_checksums an arch to 64 hex digits"),
    ({"oras_publish_checksums": {"amd64": "a" * 64 + "\n"}}, "oras_publish_checksums an arch to 64 hex digits"),
    ({"oras_publish_version": "1.3.0\n"}, "oras_publish_version must be an ORAS release"),
    ({"oras_publish_architectures": ["riscv64"]}, "oras_publish_architectures"),
], ids=["repository", "repository-tag", "tag", "version", "checksum", "checksum-newline", "version-newline", "arch"])
def test_preflight(ansible_playbook, registry, overrides, message, tmp_path):
    extra = {"oras_publish_repository": registry.host + "/pre/oras", "oras_publish_base_url": "http://127.0.0.1:9",
             "oras_publish_cache_dir": str(tmp_path / "cache")}
    extra.update(overrides)
    p = ansible_playbook("k0smotron.oci.publish_oras", extra_vars=extra)
    assert p.returncode != 0 and message in p.stdout, p.stdout[-3000:]


def test_offline_like_k0s_publish_local_files_alone(ansible_playbook, registry, oras_mirror, tmp_path):
    """As in k0s_publish: a local tarball needs no checksum list (it is verified when oras_publish_checksums lists
    it), so files plus oras_publish_architectures are enough offline; an architecture left to download on an
    offline controller gets one message naming the variables to set."""
    tarball = asset(oras_mirror.root, oras_mirror.version, "amd64")
    extra = {"oras_publish_repository": registry.host + "/offline/oras", "oras_publish_base_url": "http://127.0.0.1:9",
             "oras_publish_version": oras_mirror.version, "oras_publish_files": {"amd64": tarball},
             "oras_publish_architectures": ["amd64"], "oras_publish_registry_plain_http": True,
             "oras_publish_cache_dir": str(tmp_path / "cache"), "oras_publish_download_retries": 0}
    p = ansible_playbook("k0smotron.oci.publish_oras", extra_vars=extra)
    assert p.returncode == 0, p.stdout[-3000:]
    assert '"ORAS %s -> %s/offline/oras:v%s (pushed)"' % (oras_mirror.version, registry.host, oras_mirror.version) \
        in p.stdout, p.stdout[-3000:]
    assert '"amd64: %s = %s/offline/oras@sha256:%s"' % (os.path.basename(tarball), registry.host, sha(tarball)) in p.stdout
    del extra["oras_publish_architectures"]
    p = ansible_playbook("k0smotron.oci.publish_oras", extra_vars=extra)
    assert p.returncode != 0
    assert "cannot reach http://127.0.0.1:9/v%s/oras_%s_checksums.txt" % (oras_mirror.version, oras_mirror.version) \
        in p.stdout, p.stdout[-3000:]
    assert "give oras_publish_files (a file for each of oras_publish_architectures) with oras_publish_checksums" \
        in p.stdout
