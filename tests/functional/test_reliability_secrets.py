"""Secrets never leak: with ansible-playbook -vvvv (and --diff), the password, the bearer tokens and
the base64 ``user:password`` string appear in no module's output, no role's output and no diff; in
the control_plane role's rendered files they appear only inside the Secret's data."""
import base64
import glob
import json
import os
import re

import pytest
import yaml
from conftest import AUTH_PASSWORD, AUTH_USER

from tests.harness import mirror as mirror_mod
from tests.harness.faultproxy import FaultProxy
from tests.harness.tools import ROOT
from test_node_roles import node_vars as node_roles_vars

BASIC = base64.b64encode(("%s:%s" % (AUTH_USER, AUTH_PASSWORD)).encode()).decode()

MODULES_PLAY = """
- name: Every registry module with credentials
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/k0smotron.oci.registry: "{{ conn }}"
  tasks:
    - name: Push
      k0smotron.oci.artifact_push:
        reference: "{{ repo }}:v1"
        files: ["{{ payload }}"]
        annotations: {k0s: {arch: amd64}}
      register: pushed
    - name: Resolve
      k0smotron.oci.artifact_info:
        reference: "{{ repo }}:v1"
      register: info
    - name: Fetch
      k0smotron.oci.blob_fetch:
        reference: "{{ info.download_url }}"
        dest: "{{ dest }}"
        mode: "0755"
    - name: Index
      k0smotron.oci.index_push:
        reference: "{{ repo }}:v1-index"
        manifests:
          - tag: v1
            platform: linux/amd64
    - name: Show what was registered, as users do when debugging
      ansible.builtin.debug:
        var: pushed
"""


def secrets_in(text, extra=()):
    found = []
    for name, secret in [("password", AUTH_PASSWORD), ("base64 user:password", BASIC)] + list(extra):
        if secret and secret in text:
            found.append(name)
    return found


def token_secrets(front):
    return [("bearer token", t) for t in sorted(front.tokens)]


@pytest.fixture()
def payload(tmp_path):
    p = tmp_path / "k0s"
    p.write_bytes(os.urandom(200000))
    return str(p)


def run_plays(ansible_playbook, play, xv, rerun=False):
    """A first run (changes, with --diff) and optionally a re-run (no changes), at -vvvv."""
    first = ansible_playbook(play, extra_vars=xv, diff=True, verbosity=4)
    assert first.returncode == 0, first.stdout[-4000:]
    if not rerun:
        return first.stdout
    second = ansible_playbook(play, extra_vars=xv, diff=True, verbosity=4)
    assert second.returncode == 0, second.stdout[-4000:]
    assert re.search(r"changed=0\s", second.stdout), second.stdout[-2000:]
    return first.stdout + second.stdout


def test_modules_bearer_flow_vvvv(ansible_playbook, registry, payload, tmp_path):
    with FaultProxy(registry.host, bearer_users={AUTH_USER: AUTH_PASSWORD}) as front:
        xv = {"repo": front.host + "/secrets/bearer", "payload": payload, "dest": str(tmp_path / "out"),
              "conn": {"username": AUTH_USER, "password": AUTH_PASSWORD, "plain_http": True}}
        out = run_plays(ansible_playbook, MODULES_PLAY, xv, rerun=True)
        assert len(front.tokens) >= 4, "every module ran the token flow"
        assert secrets_in(out, token_secrets(front)) == []
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in out, "the -vvvv output shows the (masked) module arguments"
    assert (tmp_path / "out").read_bytes() == open(payload, "rb").read()


def test_modules_basic_auth_tls_vvvv(ansible_playbook, auth_registry, payload, tmp_path):
    xv = {"repo": auth_registry.host + "/secrets/basic", "payload": payload, "dest": str(tmp_path / "out"),
          "conn": {"username": AUTH_USER, "password": AUTH_PASSWORD, "ca_path": auth_registry.ca["ca"]}}
    out = run_plays(ansible_playbook, MODULES_PLAY, xv)
    assert secrets_in(out) == []


def test_modules_docker_config_vvvv(ansible_playbook, auth_registry, payload, tmp_path):
    """Credentials read from config.json (auths.HOST.auth = the base64 string) stay out of the output."""
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(auth_registry.docker_config()))
    xv = {"repo": auth_registry.host + "/secrets/config", "payload": payload, "dest": str(tmp_path / "out"),
          "conn": {"config_path": str(cfg), "ca_path": auth_registry.ca["ca"]}}
    out = run_plays(ansible_playbook, MODULES_PLAY, xv)
    assert secrets_in(out) == []


def test_failures_do_not_leak(ansible_playbook, registry, payload, tmp_path):
    """A refused token and a refused basic login: the error output at -vvvv holds no secret."""
    wrong = "Wr0ng-but-s3cret-value"
    with FaultProxy(registry.host, bearer_users={AUTH_USER: AUTH_PASSWORD}) as front:
        xv = {"repo": front.host + "/secrets/denied", "payload": payload, "dest": str(tmp_path / "out"),
              "conn": {"username": AUTH_USER, "password": wrong, "plain_http": True}}
        proc = ansible_playbook(MODULES_PLAY, extra_vars=xv, diff=True, verbosity=4)
    assert proc.returncode != 0 and "token service" in proc.stdout
    assert wrong not in proc.stdout
    assert base64.b64encode(("%s:%s" % (AUTH_USER, wrong)).encode()).decode() not in proc.stdout


# --------------------------------------------------------------------------- roles

@pytest.fixture(scope="module")
def pushed_k0s(auth_registry, run_module, tmp_path_factory):
    d = tmp_path_factory.mktemp("secrets-k0s")
    k0s = mirror_mod.stand_in_k0s(str(d / "k0s"))
    ref = "%s/secrets/k0s:v1.34.1-k0s.0" % auth_registry.host
    res = run_module("artifact_push", {"reference": ref, "files": [k0s], "username": AUTH_USER,
                                       "password": AUTH_PASSWORD, "ca_path": auth_registry.ca["ca"]},
                     expect_fail=False)
    return {"reference": ref, "url": res["download_url"], "sha256": mirror_mod.sha256_file(k0s)}


def node_vars(tmp_path, auth_registry, oras_mirror, pushed_k0s, method):
    prefix = tmp_path / "prefix"
    for d in ("bin", "lib", "root"):
        (prefix / d).mkdir(parents=True, exist_ok=True)
    return node_roles_vars(prefix, auth_registry, oras_mirror, pushed_k0s, method)


@pytest.mark.parametrize("method", ["module", "oras"])
def test_node_playbook_vvvv_diff(ansible_playbook, auth_registry, oras_mirror, pushed_k0s, tmp_path, method):
    xv = node_vars(tmp_path, auth_registry, oras_mirror, pushed_k0s, method)
    out = ""
    for check in ((False, True) if method == "module" else (False,)):
        proc = ansible_playbook("k0smotron.oci.node", extra_vars=xv, diff=True, check=check, verbosity=4)
        assert proc.returncode == 0, proc.stdout[-4000:]
        out += proc.stdout
    assert secrets_in(out) == []
    # The credentials did reach the node's config.json (so the test exercised them).
    config = json.loads((tmp_path / "prefix" / "root" / ".docker" / "config.json").read_text())
    assert config["auths"][auth_registry.host]["auth"] == BASIC


def test_control_plane_rendered_vvvv_diff(ansible_playbook, auth_registry, oras_mirror, pushed_k0s, tmp_path):
    playbook = os.path.join(ROOT, "playbooks", "control_plane.yml")
    out_dir = tmp_path / "rendered"
    xv = {"control_plane_output_dir": str(out_dir), "control_plane_oras_base_url": oras_mirror.url,
          "control_plane_oras_version": oras_mirror.version,
          "control_plane_artifact_reference": pushed_k0s["reference"],
          "control_plane_registry_username": AUTH_USER, "control_plane_registry_password": AUTH_PASSWORD,
          "control_plane_registry_ca_path": auth_registry.ca["ca"], "control_plane_aws_ssh_key_name": "my-key"}
    out = ""
    for check in (False, True):
        proc = ansible_playbook(playbook, extra_vars=xv, diff=True, check=check, verbosity=4)
        assert proc.returncode == 0, proc.stdout[-4000:]
        out += proc.stdout
    texts = dict((path, open(path).read()) for path in sorted(glob.glob(str(out_dir / "*"))))
    secret_files, data_values = [], []
    for path, text in texts.items():
        for doc in [d for d in yaml.safe_load_all(text) if d]:
            if doc.get("kind") != "Secret":
                continue
            secret_files.append(path)
            data_values += list(doc["data"].values())
            decoded = base64.b64decode(doc["data"][".dockerconfigjson"]).decode()
            assert BASIC in decoded, "the Secret carries the credentials"
            # Only in data: not in stringData, annotations or labels.
            assert secrets_in(json.dumps(dict(doc, data={}))) == [], path
    assert secret_files, "a Secret was rendered"
    for path, text in texts.items():
        # Plain password or base64 user:password nowhere (the Secret holds them base64-encoded once more).
        assert secrets_in(text) == [], path
        if path not in secret_files:
            assert not [v for v in data_values if v in text], "Secret data outside the Secret: %s" % path
    assert secret_files, "a Secret was rendered"
    # Not in the output (-vvvv, --diff), neither plain nor as the Secret's data value.
    assert secrets_in(out, [("Secret data", v) for v in data_values]) == []
