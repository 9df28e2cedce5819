"""Auth and TLS against the real TLS + htpasswd registry (and a Bearer token front in front of a real one)."""
import base64
import json
import os

import pytest
from conftest import AUTH_PASSWORD, AUTH_USER

from tests.harness.faultproxy import FaultProxy


@pytest.fixture()
def payload(tmp_path):
    p = tmp_path / "k0s"
    p.write_bytes(os.urandom(300000))
    return str(p)


def tls(reg, **extra):
    args = dict(ca_path=reg.ca["ca"])
    args.update(extra)
    return args


def assert_no_secret(result, secret=AUTH_PASSWORD):
    blob = json.dumps({k: v for k, v in result.items() if k != "invocation"}) + result["_stdout"] + result["_stderr"]
    assert secret not in blob.replace('"password": "********"', "")
    basic = base64.b64encode(("%s:%s" % (AUTH_USER, secret)).encode()).decode()
    assert basic not in blob


def test_right_credentials_push_info_fetch(auth_registry, run_module, payload, tmp_path):
    ref = auth_registry.host + "/private/k0s:v1"
    creds = dict(username=AUTH_USER, password=AUTH_PASSWORD)
    pushed = run_module("artifact_push", tls(auth_registry, reference=ref, files=[payload], **creds), expect_fail=False)
    assert pushed["changed"] is True
    assert_no_secret(pushed)
    assert pushed["invocation"]["module_args"]["password"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    info = run_module("artifact_info", tls(auth_registry, reference=ref, **creds), expect_fail=False)
    fetched = run_module("blob_fetch", tls(auth_registry, reference=info["download_url"], dest=str(tmp_path / "out"),
                                           **creds), expect_fail=False)
    assert (tmp_path / "out").read_bytes() == open(payload, "rb").read()
    assert_no_secret(fetched)


def test_wrong_password_fails_clearly_without_leaking(auth_registry, run_module, payload):
    wrong = "Wr0ng-pa55word-x"
    result = run_module("artifact_push", tls(auth_registry, reference=auth_registry.host + "/private/k0s:v2",
                                             files=[payload], username=AUTH_USER, password=wrong), expect_fail=True)
    assert "authentication failed" in result["msg"]
    assert auth_registry.host in result["msg"] and "private/k0s" in result["msg"]
    assert AUTH_USER in result["msg"]
    assert_no_secret(result, wrong)


def test_no_credentials_says_how_to_log_in(auth_registry, run_module, tmp_path):
    result = run_module("artifact_info", tls(auth_registry, reference=auth_registry.host + "/private/k0s:v1"),
                        env={"DOCKER_CONFIG": str(tmp_path / "empty")}, expect_fail=True)
    assert "requires a login" in result["msg"] and "username" in result["msg"]


def test_empty_password_names_the_option(auth_registry, run_module, payload):
    result = run_module("artifact_push", tls(auth_registry, reference=auth_registry.host + "/private/k0s:v3",
                                             files=[payload], username=AUTH_USER, password=""), expect_fail=True)
    assert "option password" in result["msg"]


@pytest.mark.parametrize("how", ["config_path", "DOCKER_CONFIG", "HOME"])
def test_credentials_from_docker_config(auth_registry, run_module, payload, tmp_path, how):
    cfg_dir = tmp_path / ".docker"
    cfg_dir.mkdir()
    config = auth_registry.docker_config()
    config["auths"]["other.example.com"] = {"auth": "b3RoZXI6b3RoZXI="}
    (cfg_dir / "config.json").write_text(json.dumps(config))
    args = tls(auth_registry, reference=auth_registry.host + "/private/k0s:cfg-" + how.lower(), files=[payload])
    env = {"DOCKER_CONFIG": str(tmp_path / "nowhere")}
    if how == "config_path":
        args["config_path"] = str(cfg_dir / "config.json")
    elif how == "DOCKER_CONFIG":
        env = {"DOCKER_CONFIG": str(cfg_dir)}
    else:
        env = {"HOME": str(tmp_path), "DOCKER_CONFIG": ""}
    # With HOME: an empty DOCKER_CONFIG is ignored, as docker does, and ~/.docker/config.json is used.
    result = run_module("artifact_push", args, env=env, expect_fail=False)
    assert_no_secret(result)


def test_credentials_from_env_fallback(auth_registry, run_module, payload):
    result = run_module("artifact_push", dict(reference=auth_registry.host + "/private/k0s:env", files=[payload]),
                        env={"K0SMOTRON_OCI_USERNAME": AUTH_USER, "K0SMOTRON_OCI_PASSWORD": AUTH_PASSWORD,
                             "K0SMOTRON_OCI_CA_PATH": auth_registry.ca["ca"]}, expect_fail=False)
    assert_no_secret(result)


def test_credential_helper(auth_registry, run_module, payload, tmp_path):
    run_module("artifact_push", tls(auth_registry, reference=auth_registry.host + "/private/k0s:helper", files=[payload],
                                    username=AUTH_USER, password=AUTH_PASSWORD), expect_fail=False)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    helper = bindir / "docker-credential-k0stest"
    helper.write_text("#!/bin/sh\nread host\n[ \"$host\" = \"%s\" ] || { echo 'credentials not found in native keychain'; exit 1; }\n"
                      "printf '{\"ServerURL\":\"%%s\",\"Username\":\"%s\",\"Secret\":\"%s\"}' \"$host\"\n"
                      % (auth_registry.host, AUTH_USER, AUTH_PASSWORD))
    helper.chmod(0o755)
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"credHelpers": {auth_registry.host: "k0stest"}}))
    result = run_module("artifact_info", tls(auth_registry, reference=auth_registry.host + "/private/k0s:helper",
                                             config_path=str(cfg)),
                        env={"PATH": str(bindir) + os.pathsep + os.environ["PATH"]}, expect_fail=False)
    assert result["title"] == "k0s"


def test_unknown_ca_is_a_clear_tls_error(auth_registry, run_module):
    result = run_module("artifact_info", dict(reference=auth_registry.host + "/private/k0s:v1",
                                              username=AUTH_USER, password=AUTH_PASSWORD), expect_fail=True)
    assert "TLS certificate" in result["msg"] and "ca_path" in result["msg"]
    insecure = run_module("artifact_info", dict(reference=auth_registry.host + "/private/k0s:v1", validate_certs=False,
                                                username=AUTH_USER, password=AUTH_PASSWORD), expect_fail=False)
    assert insecure["title"] == "k0s"


def test_plain_http_against_tls_and_tls_against_plain(auth_registry, registry, run_module):
    result = run_module("artifact_info", dict(reference=registry.host + "/x/k0s:v1"), expect_fail=True)
    assert "plain_http" in result["msg"]
    result = run_module("artifact_info", dict(reference=auth_registry.host + "/x/k0s:v1", plain_http=True,
                                              retries=0), expect_fail=True)
    assert "plain_http" in result["msg"] or "400" in result["msg"]


def test_bearer_token_flow(registry, run_module, payload, tmp_path):
    with FaultProxy(registry.host, bearer_users={AUTH_USER: AUTH_PASSWORD}) as front:
        ref = front.host + "/bearer/k0s:v1"
        pushed = run_module("artifact_push", dict(reference=ref, files=[payload], plain_http=True, username=AUTH_USER,
                                                  password=AUTH_PASSWORD), expect_fail=False)
        assert any("scope=repository%3Abearer%2Fk0s%3Apull%2Cpush" in r for r in front.token_requests), front.token_requests
        assert_no_secret(pushed)
        denied = run_module("artifact_info", dict(reference=ref, plain_http=True, username=AUTH_USER,
                                                  password="nope-nope"), expect_fail=True)
        assert "token service" in denied["msg"] and "nope-nope" not in denied["msg"]
        front.token_requests.clear()
        info = run_module("artifact_info", dict(reference=ref, plain_http=True, username=AUTH_USER,
                                                password=AUTH_PASSWORD), expect_fail=False)
        assert info["download_url"] == pushed["download_url"]
        assert all(r.endswith("pull") or "pull&" in r or "%3Apull" in r for r in front.token_requests)
