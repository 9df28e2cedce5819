"""What a newcomer meets in the first hour (issue 20, section 3): messages that name where credentials came from,
the role variable to set, a plain-HTTP client talking to a TLS registry, misspelt role variables, and rendering
without the internet. Real TLS + htpasswd registry, real ansible-playbook."""
import os
import socket

import pytest
from conftest import AUTH_PASSWORD, AUTH_USER

from tests.harness import mirror as mirror_mod
from tests.harness import tools

VERSION = "v1.34.1+k0s.0"
CONTROL_PLANE = os.path.join(tools.ROOT, "playbooks", "control_plane.yml")


def closed_port_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return "http://127.0.0.1:%d/oras" % s.getsockname()[1]


@pytest.fixture(scope="module")
def k0s_release(tmp_path_factory):
    root = tmp_path_factory.mktemp("fh-release")
    files = {"amd64": mirror_mod.stand_in_k0s(str(root / "src-amd64"), VERSION)}
    mirror_mod.build_k0s_mirror(str(root / "mirror"), VERSION, files)
    with mirror_mod.Mirror(str(root / "mirror")) as m:
        yield m


# ----------------------------------------------------------------------------- where credentials came from

def test_401_names_the_environment_variables(auth_registry, run_module):
    result = run_module("artifact_info", dict(reference=auth_registry.host + "/private/none:v1",
                                              ca_path=auth_registry.ca["ca"]),
                        env={"K0SMOTRON_OCI_USERNAME": AUTH_USER, "K0SMOTRON_OCI_PASSWORD": "Wr0ng-pa55word-x"},
                        expect_fail=True)
    assert "K0SMOTRON_OCI_USERNAME" in result["msg"] and "K0SMOTRON_OCI_PASSWORD" in result["msg"], result["msg"]
    assert "options" not in result["msg"]


def test_401_names_the_options_when_given(auth_registry, run_module):
    result = run_module("artifact_info", dict(reference=auth_registry.host + "/private/none:v1",
                                              ca_path=auth_registry.ca["ca"], username=AUTH_USER,
                                              password="Wr0ng-pa55word-x"), expect_fail=True)
    assert "came from username and password" in result["msg"], result["msg"]


def test_no_credentials_names_the_config_file_read(auth_registry, run_module, tmp_path):
    result = run_module("artifact_info", dict(reference=auth_registry.host + "/private/none:v1",
                                              ca_path=auth_registry.ca["ca"]),
                        env={"DOCKER_CONFIG": str(tmp_path / "empty")}, expect_fail=True)
    assert "no credentials were found" in result["msg"]
    assert str(tmp_path / "empty" / "config.json") in result["msg"], result["msg"]
    assert "oras login %s" % auth_registry.host in result["msg"]


# ----------------------------------------------------------------------------- plain HTTP to a TLS registry

def test_plain_http_against_tls_says_it_speaks_tls(auth_registry, run_module, tmp_path):
    for module, args in (("artifact_info", {}), ("artifact_push", {"files": [str(tmp_path / "k0s")]})):
        (tmp_path / "k0s").write_bytes(b"k0s")
        result = run_module(module, dict(reference=auth_registry.host + "/x/k0s:v1", plain_http=True, retries=0,
                                         **args), expect_fail=True)
        assert "speaks TLS" in result["msg"] and "plain_http: false" in result["msg"], result["msg"]


# ----------------------------------------------------------------------------- messages name role variables

def test_k0s_publish_messages_name_its_variables(ansible_playbook, auth_registry, k0s_release, tmp_path):
    extra = {"k0s_publish_repository": auth_registry.host + "/fh/k0s", "k0s_publish_base_url": k0s_release.url,
             "k0s_publish_cache_dir": str(tmp_path / "cache"), "k0s_publish_trusted_keys": [mirror_mod.RELEASE_KEY.public_pem]}
    p = ansible_playbook("k0smotron.oci.publish", extra_vars=extra, env={"XDG_CACHE_HOME": str(tmp_path / "xdg")})
    assert p.returncode != 0
    assert "set k0s_publish_registry_ca_path to the CA bundle" in p.stdout, p.stdout[-3000:]
    assert "set ca_path" not in p.stdout
    extra["k0s_publish_registry_plain_http"] = True
    p = ansible_playbook("k0smotron.oci.publish", extra_vars=extra, env={"XDG_CACHE_HOME": str(tmp_path / "xdg")})
    assert "set k0s_publish_registry_plain_http: false" in p.stdout, p.stdout[-3000:]


def test_control_plane_messages_name_its_variables(ansible_playbook, auth_registry, oras_mirror, tmp_path):
    extra = {"control_plane_artifact_reference": auth_registry.host + "/fh/k0s:v1.34.1-k0s.0",
             "control_plane_output_dir": str(tmp_path / "out"), "control_plane_oras_base_url": oras_mirror.url,
             "control_plane_oras_version": oras_mirror.version,
             "control_plane_registry_username": AUTH_USER, "control_plane_registry_password": "Wr0ng-pa55word-x"}
    p = ansible_playbook(CONTROL_PLANE, extra_vars=extra)
    assert p.returncode != 0
    assert "set control_plane_registry_ca_path to the CA bundle" in p.stdout, p.stdout[-3000:]
    extra["control_plane_registry_ca_path"] = auth_registry.ca["ca"]
    p = ansible_playbook(CONTROL_PLANE, extra_vars=extra)
    assert p.returncode != 0
    assert "came from control_plane_registry_username and control_plane_registry_password" in p.stdout, \
        p.stdout[-3000:]
    assert AUTH_PASSWORD not in p.stdout and "Wr0ng-pa55word-x" not in p.stdout


# ----------------------------------------------------------------------------- misspelt role variables

def test_misspelt_variables_are_named_with_a_suggestion(ansible_playbook, tmp_path):
    extra = {"control_plane_download_url": "oci://registry.example.com/k0s@sha256:" + "a" * 64,
             "control_plane_output_dir": str(tmp_path / "out"), "control_plane_oras_install": False,
             "control_plane_registry_ca_pth": "/etc/ca.pem", "control_plane_zzz": 1}
    p = ansible_playbook(CONTROL_PLANE, extra_vars=extra)
    assert p.returncode == 0, p.stdout[-3000:]
    assert ("WARNING: control_plane_registry_ca_pth is not a variable of this role and is ignored; did you mean "
            "control_plane_registry_ca_path?") in p.stdout
    assert "WARNING: control_plane_zzz is not a variable of this role" in p.stdout
    p = ansible_playbook("k0smotron.oci.publish", extra_vars={"k0s_publish_repository": "r.example/k0s",
                                                              "k0s_publish_architecture": ["amd64"],
                                                              "k0s_publish_version": "nope"})
    assert "did you mean k0s_publish_architectures?" in p.stdout, p.stdout[-3000:]


# ----------------------------------------------------------------------------- rendering offline

def test_unreachable_oras_release_names_the_offline_variables(ansible_playbook, tmp_path):
    extra = {"control_plane_download_url": "oci://registry.example.com/k0s@sha256:" + "a" * 64,
             "control_plane_output_dir": str(tmp_path / "out"), "control_plane_oras_base_url": closed_port_url()}
    p = ansible_playbook(CONTROL_PLANE, extra_vars=extra)
    assert p.returncode != 0
    assert "Cannot fetch the ORAS checksums" in p.stdout, p.stdout[-3000:]
    for name in ("control_plane_oras_checksums", "control_plane_oras_base_url", "control_plane_oras_source: registry",
                 "control_plane_oras_install: false"):
        assert name in p.stdout


# ----------------------------------------------------------------------------- one CA setting, and the summary

def test_one_ca_serves_resolve_and_nodes_and_a_summary_ends(ansible_playbook, auth_registry, run_module,
                                                            oras_mirror, tmp_path):
    k0s = mirror_mod.stand_in_k0s(str(tmp_path / "k0s"), VERSION)
    ref = auth_registry.host + "/fh/k0s-ca:v1.34.1-k0s.0"
    run_module("artifact_push", dict(reference=ref, files=[k0s], username=AUTH_USER, password=AUTH_PASSWORD,
                                     ca_path=auth_registry.ca["ca"]), expect_fail=False)
    out = tmp_path / "out"
    with open(auth_registry.ca["ca"]) as f:
        pem = f.read()
    extra = {"control_plane_artifact_reference": ref, "control_plane_output_dir": str(out),
             "control_plane_oras_base_url": oras_mirror.url, "control_plane_oras_version": oras_mirror.version,
             "control_plane_registry_username": AUTH_USER, "control_plane_registry_password": AUTH_PASSWORD,
             "control_plane_registry_ca": pem, "control_plane_aws_ssh_key_name": "k"}
    (tmp_path / "tmp").mkdir()
    p = ansible_playbook(CONTROL_PLANE, extra_vars=extra, env={"TMPDIR": str(tmp_path / "tmp")})
    assert p.returncode == 0, p.stdout[-3000:]
    url = "oci://%s/fh/k0s-ca@sha256:%s" % (auth_registry.host, mirror_mod.sha256_file(k0s))
    assert "downloadURL: " + url in p.stdout
    assert "kubectl apply -f %s/" % out in p.stdout
    assert "Cluster default/aws-test" in p.stdout
    assert "Create the temporary CA file" in p.stdout
    assert not list((tmp_path / "tmp").glob("*registry-ca.pem")), "the temporary CA file is left behind"
