# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
import stat

import pytest

from ansible_collections.k0smotron.oci.plugins.module_utils import _docker_config as dc


def b64(text):
    return base64.b64encode(text.encode()).decode()


@pytest.fixture()
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DOCKER_CONFIG", raising=False)
    return tmp_path


def write(path, data):
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    with open(str(path), "w") as f:
        f.write(data if isinstance(data, str) else json.dumps(data))


def test_lookup_order(config_dir, monkeypatch):
    home_cfg = config_dir / "home" / ".docker" / "config.json"
    assert dc.find_config_file() == str(home_cfg)
    monkeypatch.setenv("DOCKER_CONFIG", str(config_dir / "dc"))
    assert dc.find_config_file() == str(config_dir / "dc" / "config.json")
    assert dc.find_config_file("/x/config.json") == "/x/config.json"


@pytest.mark.parametrize("entry,expected", [
    ({"auth": b64("user:pa:ss")}, ("user", "pa:ss", None)),
    ({"username": "u", "password": "p"}, ("u", "p", None)),
    ({"identitytoken": "idt"}, (None, None, "idt")),
    ({"auth": b64("<token>:refresh")}, (None, None, "refresh")),
])
def test_auths_entries(config_dir, entry, expected):
    write(config_dir / "home" / ".docker" / "config.json", {"auths": {"https://reg.example.com/v1/": entry}})
    creds = dc.credentials_for("reg.example.com")
    assert (creds.username, creds.password, creds.identity_token) == expected


def test_unknown_registry_is_anonymous(config_dir):
    write(config_dir / "home" / ".docker" / "config.json", {"auths": {"other.example.com": {"auth": b64("a:b")}}})
    assert not dc.credentials_for("reg.example.com")


def test_missing_default_file_is_fine_but_explicit_path_is_not(config_dir):
    assert not dc.credentials_for("reg.example.com")
    with pytest.raises(dc.DockerConfigError, match="cannot read docker config"):
        dc.credentials_for("reg.example.com", str(config_dir / "missing.json"))


@pytest.mark.parametrize("content,needle", [
    ("{not json", "not valid JSON"),
    ("[]", "JSON object"),
])
def test_bad_files(config_dir, content, needle):
    path = config_dir / "cfg.json"
    write(path, content)
    with pytest.raises(dc.DockerConfigError, match=needle):
        dc.credentials_for("reg.example.com", str(path))


def test_bad_auth_value_message_has_no_secret(config_dir):
    path = config_dir / "cfg.json"
    write(path, {"auths": {"reg.example.com": {"auth": b64("no-colon-secret")}}})
    with pytest.raises(dc.DockerConfigError) as e:
        dc.credentials_for("reg.example.com", str(path))
    assert "no-colon-secret" not in str(e.value)


def make_helper(bindir, name, body):
    path = bindir / ("docker-credential-" + name)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def test_cred_helpers_win_over_store_and_auths(config_dir, monkeypatch):
    bindir = config_dir / "bin"
    bindir.mkdir()
    make_helper(bindir, "one", 'read h; printf \'{"Username":"helper-user","Secret":"helper-secret"}\'\n')
    make_helper(bindir, "store", 'read h; printf \'{"Username":"<token>","Secret":"store-token"}\'\n')
    monkeypatch.setenv("PATH", str(bindir) + os.pathsep + os.environ["PATH"])
    path = config_dir / "cfg.json"
    write(path, {"credHelpers": {"reg.example.com": "one"}, "credsStore": "store",
                 "auths": {"reg.example.com": {"auth": b64("a:b")}}})
    creds = dc.credentials_for("reg.example.com", str(path))
    assert (creds.username, creds.password) == ("helper-user", "helper-secret")
    creds = dc.credentials_for("other.example.com", str(path))
    assert creds.identity_token == "store-token"


def test_helper_not_found_and_failing(config_dir, monkeypatch):
    bindir = config_dir / "bin"
    bindir.mkdir()
    make_helper(bindir, "none", 'echo "credentials not found in native keychain"; exit 1\n')
    make_helper(bindir, "broken", 'echo "keychain locked"; exit 1\n')
    monkeypatch.setenv("PATH", str(bindir) + os.pathsep + os.environ["PATH"])
    path = config_dir / "cfg.json"
    write(path, {"credsStore": "none", "auths": {"reg.example.com": {"auth": b64("a:b")}}})
    assert dc.credentials_for("reg.example.com", str(path)).username == "a"
    write(path, {"credsStore": "broken"})
    with pytest.raises(dc.DockerConfigError, match="keychain locked"):
        dc.credentials_for("reg.example.com", str(path))
    write(path, {"credsStore": "absent-helper"})
    with pytest.raises(dc.DockerConfigError, match="could not run"):
        dc.credentials_for("reg.example.com", str(path))


def test_node_config_writes_auth_for_username_and_password():
    """The nodes' curl fetcher reads only "auth": a username/password entry gets one (the rest is kept)."""
    config = {"auths": {"https://reg.example.com/v1/": {"username": "user", "password": "p:w"}}}
    entry = dc.node_config(config, "reg.example.com", "the docker config")["auths"]["reg.example.com"]
    assert base64.b64decode(entry["auth"]).decode() == "user:p:w"
    assert entry["username"] == "user" and entry["password"] == "p:w"
    # An entry with "auth" is copied as it is.
    given = {"auth": base64.b64encode(b"a:b").decode(), "username": "other", "password": "x"}
    assert dc.node_config({"auths": {"reg.example.com": given}}, "reg.example.com", "c")["auths"]["reg.example.com"] \
        == given
