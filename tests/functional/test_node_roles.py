"""Roles k0smotron.oci.oras and k0smotron.oci.k0s_binary, playbook k0smotron.oci.node, for real.

localhost, against the TLS + htpasswd registry, ORAS installed from the loopback mirror, a stand-in
k0s pushed with the real ORAS CLI; every path lives in a scratch prefix (tmp_path).
"""
import base64
import hashlib
import json
import os
import re
import stat
import subprocess
import urllib.request

import pytest

from conftest import AUTH_PASSWORD, AUTH_USER
from tests.harness import mirror as mirror_mod
from tests.harness import tools

oras_wrapper = tools.plugin_util("_node_scripts").oras_wrapper

ARCH = tools.HOST_ARCH
TAG = "v1.34.1-k0s.0"


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def last_failure(out):
    """The text of the last fatal task result (one line, or a JSON block with -vvv)."""
    start = out.rindex("fatal:")
    end = out.find("\nPLAY RECAP", start)
    return out[start:end if end > 0 else None]


def recap(out):
    """The localhost line of PLAY RECAP as a dict of ints."""
    lines = [line for line in out.splitlines() if line.startswith("localhost") and "ok=" in line]
    assert lines, out
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", lines[-1])}


@pytest.fixture(scope="module")
def pushed(auth_registry, oras, tmp_path_factory):
    """A stand-in k0s pushed to the auth registry with ``oras push`` (TLS, credentials, CA)."""
    work = tmp_path_factory.mktemp("node-push")
    binary = mirror_mod.stand_in_k0s(str(work / "k0s"), pad_bytes=64 * 1024)
    env = dict(os.environ, HOME=str(work), DOCKER_CONFIG=str(work / "docker"))
    ref = "%s/node-roles/k0s:%s" % (auth_registry.host, TAG)
    proc = subprocess.run([oras, "push", "--ca-file", auth_registry.ca["ca"],
                           "--registry-config", str(work / "oras-config.json"),
                           "--username", AUTH_USER, "--password-stdin", ref, "k0s"],
                          input=AUTH_PASSWORD, text=True, cwd=str(work), env=env, capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr
    digest = sha256(binary)
    return {
        "path": binary,
        "sha256": digest,
        "reference": ref,
        "url": "oci://%s/node-roles/k0s@sha256:%s" % (auth_registry.host, digest),
    }


@pytest.fixture()
def prefix(tmp_path):
    p = tmp_path / "prefix"
    for d in ("bin", "lib", "root"):
        (p / d).mkdir(parents=True)
    return p


def node_vars(prefix, auth_registry, oras_mirror, pushed, method="oras", **extra):
    v = {
        "oras_version": oras_mirror.version,
        "oras_base_url": oras_mirror.url,
        "oras_install_dir": str(prefix / "lib" / "k0smotron-oci"),
        "oras_bin_dir": str(prefix / "bin"),
        "oras_download_retries": 1,
        "oras_download_delay": 0,
        "k0s_binary_fetch_method": method,
        "k0s_binary_download_url": pushed["url"],
        "k0s_binary_install_path": str(prefix / "bin" / "k0s"),
        "k0s_binary_docker_config_path": str(prefix / "root" / ".docker" / "config.json"),
        "k0s_binary_registry_username": AUTH_USER,
        "k0s_binary_registry_password": AUTH_PASSWORD,
        "k0s_binary_registry_ca_path": auth_registry.ca["ca"],
    }
    v.update(extra)
    return v


OTHER_CONFIG = {
    "auths": {"other.example.com": {"auth": base64.b64encode(b"someone:else").decode()}},
    "credHelpers": {"gcr.io": "gcloud"},
}


@pytest.mark.parametrize("method", ["oras", "module"])
def test_node_playbook_installs_and_is_idempotent(ansible_playbook, auth_registry, oras_mirror, pushed, prefix,
                                                  method):
    config = prefix / "root" / ".docker" / "config.json"
    config.parent.mkdir(mode=0o755)
    config.write_text(json.dumps(OTHER_CONFIG))
    os.chmod(str(config), 0o644)
    xv = node_vars(prefix, auth_registry, oras_mirror, pushed, method=method)

    first = ansible_playbook("k0smotron.oci.node", extra_vars=xv)
    assert first.returncode == 0, first.stdout
    assert recap(first.stdout)["changed"] > 0

    k0s = prefix / "bin" / "k0s"
    assert sha256(str(k0s)) == pushed["sha256"]
    assert mode(str(k0s)) == 0o755
    assert mode(str(config)) == 0o600
    assert mode(str(config.parent)) == 0o700
    written = json.loads(config.read_text())
    assert written["auths"]["other.example.com"] == OTHER_CONFIG["auths"]["other.example.com"]
    assert written["credHelpers"] == OTHER_CONFIG["credHelpers"]
    assert written["auths"][auth_registry.host]["auth"] == base64.b64encode(
        ("%s:%s" % (AUTH_USER, AUTH_PASSWORD)).encode()).decode()
    assert not [n for n in os.listdir(str(prefix / "bin")) if n.startswith(".")]

    wrapper = prefix / "bin" / "oras"
    real = prefix / "lib" / "k0smotron-oci" / ("oras-%s" % oras_mirror.version) / "oras"
    if method == "oras":
        # The one wrapper text (_node_scripts.oras_wrapper), the same install-oras.sh writes.
        assert wrapper.read_text() == oras_wrapper(str(real), oras_mirror.version)
        assert mode(str(real)) == 0o755
        # The wrapper makes ORAS work without HOME (systemd / Ignition).
        env = {k: v for k, v in os.environ.items() if k != "HOME"}
        proc = subprocess.run([str(wrapper), "version"], capture_output=True, text=True, env=env, check=False)
        assert proc.returncode == 0 and oras_mirror.version in proc.stdout, proc.stderr
    else:
        assert not wrapper.exists() and not real.exists()

    second = ansible_playbook("k0smotron.oci.node", extra_vars=xv)
    assert second.returncode == 0, second.stdout
    assert recap(second.stdout)["changed"] == 0, second.stdout

    check = ansible_playbook("k0smotron.oci.node", extra_vars=xv, check=True, diff=True)
    assert check.returncode == 0, check.stdout
    assert recap(check.stdout)["changed"] == 0, check.stdout
    assert AUTH_PASSWORD not in first.stdout + second.stdout + check.stdout


def test_check_mode_on_a_fresh_node_changes_nothing(ansible_playbook, auth_registry, oras_mirror, pushed, prefix):
    xv = node_vars(prefix, auth_registry, oras_mirror, pushed)
    res = ansible_playbook("k0smotron.oci.node", extra_vars=xv, check=True)
    assert res.returncode == 0, res.stdout
    assert recap(res.stdout)["changed"] > 0
    for d in ("bin", "lib", "root"):
        assert os.listdir(str(prefix / d)) == [], d


HANDLER_PLAY = """
- name: Node with a restart handler
  hosts: localhost
  gather_facts: false
  roles:
    - role: k0smotron.oci.k0s_binary
  post_tasks:
    - name: Record the returned flag
      ansible.builtin.copy:
        content: "{{ k0s_binary_changed }}"
        dest: "%(flag)s"
        mode: "0644"
  handlers:
    - name: Pretend to restart k0s
      ansible.builtin.copy:
        content: restarted
        dest: "%(marker)s"
        mode: "0644"
      listen: k0s_binary binary changed
"""


def test_tag_form_handler_and_flag(ansible_playbook, auth_registry, oras_mirror, pushed, prefix, tmp_path):
    marker, flag = tmp_path / "restarted", tmp_path / "flag"
    play = HANDLER_PLAY % {"marker": marker, "flag": flag}
    xv = node_vars(prefix, auth_registry, oras_mirror, pushed, method="module",
                   k0s_binary_download_url="", k0s_binary_artifact_reference=pushed["reference"],
                   k0s_binary_artifact_title="k0s")
    res = ansible_playbook(play, extra_vars=xv)
    assert res.returncode == 0, res.stdout
    assert sha256(str(prefix / "bin" / "k0s")) == pushed["sha256"]
    assert marker.read_text() == "restarted"
    assert flag.read_text() == "True"

    marker.unlink()
    res = ansible_playbook(play, extra_vars=xv)
    assert res.returncode == 0, res.stdout
    assert not marker.exists()
    assert flag.read_text() == "False"


def test_wrong_oras_checksum_installs_nothing(ansible_playbook, auth_registry, oras_mirror, pushed, prefix):
    xv = node_vars(prefix, auth_registry, oras_mirror, pushed, oras_checksums={ARCH: "0" * 64})
    res = ansible_playbook("k0smotron.oci.node", extra_vars=xv)
    assert res.returncode != 0
    assert "checksum" in res.stdout.lower(), res.stdout
    assert os.listdir(str(prefix / "bin")) == []
    assert os.listdir(str(prefix / "lib")) == []


def test_tampered_oras_tarball_installs_nothing(ansible_playbook, auth_registry, oras_mirror, tampered_mirror,
                                                pushed, prefix):
    xv = node_vars(prefix, auth_registry, oras_mirror, pushed, oras_base_url=tampered_mirror.url)
    res = ansible_playbook("k0smotron.oci.node", extra_vars=xv)
    assert res.returncode != 0
    assert "checksum" in res.stdout.lower(), res.stdout
    assert os.listdir(str(prefix / "bin")) == []
    assert os.listdir(str(prefix / "lib")) == []


def test_local_tarball_needs_and_uses_a_checksum(ansible_playbook, auth_registry, oras_mirror, pushed, prefix,
                                                 tmp_path):
    name = "oras_%s_linux_%s.tar.gz" % (oras_mirror.version, ARCH)
    tarball = tmp_path / name
    urllib.request.urlretrieve("%s/v%s/%s" % (oras_mirror.url, oras_mirror.version, name), str(tarball))
    xv = node_vars(prefix, auth_registry, oras_mirror, pushed, oras_base_url="http://127.0.0.1:9/unused",
                   oras_local_tarball=str(tarball))
    res = ansible_playbook("k0smotron.oci.node", extra_vars=xv)
    assert res.returncode != 0 and "oras_checksums" in res.stdout, res.stdout

    xv["oras_checksums"] = {ARCH: sha256(str(tarball))}
    res = ansible_playbook("k0smotron.oci.node", extra_vars=xv)
    assert res.returncode == 0, res.stdout
    assert sha256(str(prefix / "bin" / "k0s")) == pushed["sha256"]


@pytest.mark.parametrize("method", ["oras", "module"])
def test_wrong_digest_keeps_the_existing_binary(ansible_playbook, auth_registry, oras_mirror, pushed, prefix,
                                                method):
    k0s = prefix / "bin" / "k0s"
    old = b"#!/bin/sh\necho the working k0s\n"
    k0s.write_bytes(old)
    os.chmod(str(k0s), 0o755)
    missing = hashlib.sha256(b"no such blob").hexdigest()
    url = "oci://%s/node-roles/k0s@sha256:%s" % (auth_registry.host, missing)
    xv = node_vars(prefix, auth_registry, oras_mirror, pushed, method=method, k0s_binary_download_url=url)
    before = sorted(os.listdir(str(prefix / "bin")))
    res = ansible_playbook("k0smotron.oci.node", extra_vars=xv)
    assert res.returncode != 0
    fatal = last_failure(res.stdout)
    assert "not found" in fatal and missing in fatal and "node-roles/k0s" in fatal, fatal
    assert k0s.read_bytes() == old
    after = sorted(os.listdir(str(prefix / "bin")))
    assert [n for n in after if n.startswith(".")] == []
    assert set(after) - {"oras"} == set(before)


@pytest.mark.parametrize("method", ["oras", "module"])
def test_wrong_password_fails_clearly_without_showing_it(ansible_playbook, auth_registry, oras_mirror, pushed, prefix,
                                                         method):
    wrong = "Wr0ng-n0de-pa55-Zq7"
    xv = node_vars(prefix, auth_registry, oras_mirror, pushed, method=method, k0s_binary_registry_password=wrong)
    res = ansible_playbook("k0smotron.oci.node", extra_vars=xv, verbosity=3, diff=True)
    assert res.returncode != 0
    fatal = last_failure(res.stdout)
    assert re.search(r"unauthori[sz]ed|authentication|401", fatal, re.I), fatal
    for secret in (wrong, base64.b64encode(("%s:%s" % (AUTH_USER, wrong)).encode()).decode()):
        assert secret not in res.stdout
    assert not (prefix / "bin" / "k0s").exists()


def test_invalid_download_url_is_rejected_before_anything_happens(ansible_playbook, auth_registry, oras_mirror,
                                                                  pushed, prefix):
    xv = node_vars(prefix, auth_registry, oras_mirror, pushed, method="module",
                   k0s_binary_download_url=pushed["reference"])
    res = ansible_playbook("k0smotron.oci.node", extra_vars=xv)
    assert res.returncode != 0
    assert "oci://" in last_failure(res.stdout)
    assert os.listdir(str(prefix / "root")) == []


@pytest.mark.parametrize("version", ["v1.3.0", "1.3.0\n", "1.3.0;id"])
def test_bad_oras_version_is_rejected_before_anything_happens(ansible_playbook, auth_registry, oras_mirror,
                                                              pushed, prefix, version):
    """The oras role checks oras_version with the same rule as install-oras.sh (full match, no trailing newline)."""
    xv = node_vars(prefix, auth_registry, oras_mirror, pushed, method="oras", oras_version=version)
    res = ansible_playbook("k0smotron.oci.node", extra_vars=xv)
    assert res.returncode != 0
    assert "oras_version must be an ORAS release version" in last_failure(res.stdout), res.stdout[-3000:]
    assert os.listdir(str(prefix / "root")) == []
    assert not (prefix / "bin" / "oras").exists()


@pytest.mark.parametrize("method", ["oras", "module"])
def test_failed_fetch_keeps_the_previous_config_json(ansible_playbook, auth_registry, oras_mirror, pushed, prefix, method):
    config = prefix / "root" / ".docker" / "config.json"
    config.parent.mkdir(mode=0o700)
    working = dict(OTHER_CONFIG, auths=dict(OTHER_CONFIG["auths"], **{auth_registry.host: {
        "auth": base64.b64encode(("%s:%s" % (AUTH_USER, AUTH_PASSWORD)).encode()).decode()}}))
    config.write_text(json.dumps(working))
    before = config.read_bytes()
    wrong = "Wr0ng-n0de-pa55-Zq7"
    xv = node_vars(prefix, auth_registry, oras_mirror, pushed, method=method, k0s_binary_registry_password=wrong)
    res = ansible_playbook("k0smotron.oci.node", extra_vars=xv)
    assert res.returncode != 0
    assert config.read_bytes() == before, "the working config.json was replaced by one with the wrong password"
    assert os.listdir(str(config.parent)) == ["config.json"], "no staged copy left behind"
    assert not (prefix / "bin" / "k0s").exists()


def test_failed_fetch_writes_no_config_json(ansible_playbook, auth_registry, oras_mirror, pushed, prefix):
    xv = node_vars(prefix, auth_registry, oras_mirror, pushed, k0s_binary_registry_password="Wr0ng-n0de-pa55-Zq7")
    res = ansible_playbook("k0smotron.oci.node", extra_vars=xv)
    assert res.returncode != 0
    assert os.listdir(str(prefix / "root" / ".docker")) == []
