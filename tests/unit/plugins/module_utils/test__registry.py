# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import io
import json
import socket
import threading

import pytest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ansible_collections.k0smotron.oci.plugins.module_utils import _registry as r
from ansible_collections.k0smotron.oci.plugins.module_utils._docker_config import Credentials

BLOB = b"k0s binary bytes" * 1000
BLOB_DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()


class Script:
    """Per-request answers: a list of callables (handler) -> True if it answered."""

    def __init__(self):
        self.steps = []
        self.seen = []


def start_server(script):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def handle_any(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
            script.seen.append((self.command, self.path, dict(self.headers), body))
            action = script.steps.pop(0) if script.steps else "ok"
            if action == "drop":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if isinstance(action, tuple):
                status, headers, payload = action
            else:
                status, headers, payload = 200, {}, BLOB
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_HEAD = do_PUT = do_POST = handle_any

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture()
def server():
    script = Script()
    srv = start_server(script)
    srv.script = script
    yield srv
    srv.shutdown()
    srv.server_close()


def client(srv, **kw):
    kw.setdefault("sleep", lambda s: None)
    return r.RegistryClient("127.0.0.1:%d" % srv.server_address[1], "k0s/k0s", plain_http=True, **kw)


def test_retries_after_500_and_connection_drop(server):
    server.script.steps = [(500, {}, b"{}"), "drop", "ok"]
    out = io.BytesIO()
    assert client(server, retries=3).download_blob(BLOB_DIGEST, out) == len(BLOB)
    assert out.getvalue() == BLOB
    assert len(server.script.seen) == 3


def test_retries_are_bounded_and_message_is_clear(server):
    server.script.steps = [(503, {}, b'{"errors":[{"code":"UNAVAILABLE","message":"busy"}]}')] * 5
    with pytest.raises(r.RegistryConnectionError) as e:
        client(server, retries=2).blob_size(BLOB_DIGEST)
    assert "503" in str(e.value) and "gave up after 3 attempts" in str(e.value) and "k0s/k0s" in str(e.value)
    assert len(server.script.seen) == 3


def test_retry_after_is_used(server):
    slept = []
    server.script.steps = [(429, {"Retry-After": "7"}, b""), (200, {}, b"")]
    client(server, sleep=slept.append).blob_size(BLOB_DIGEST)
    assert slept == [7.0]


def test_exponential_backoff(server):
    slept = []
    server.script.steps = ["drop", "drop", "drop", "ok"]
    client(server, sleep=slept.append, retries=3).blob_size(BLOB_DIGEST)
    assert slept == [0.5, 1.0, 2.0]


def test_digest_mismatch_is_reported(server):
    server.script.steps = [(200, {}, b"tampered")]
    with pytest.raises(r.RegistryDigestError, match="does not match its digest"):
        client(server).download_blob(BLOB_DIGEST, io.BytesIO())


def test_bearer_flow_and_scope(server):
    host = "127.0.0.1:%d" % server.server_address[1]
    challenge = 'Bearer realm="http://%s/token",service="reg",scope="repository:k0s/k0s:pull"' % host
    server.script.steps = [
        (401, {"WWW-Authenticate": challenge}, b""),
        (200, {}, json.dumps({"token": "tok-123"}).encode()),
        (200, {}, b""),
    ]
    c = client(server, push=True, credentials=Credentials("user", "secret-pw"))
    c.blob_size(BLOB_DIGEST)
    token_req = server.script.seen[1]
    assert token_req[1].startswith("/token?")
    assert "scope=repository%3Ak0s%2Fk0s%3Apull%2Cpush" in token_req[1] and "service=reg" in token_req[1]
    assert token_req[2]["Authorization"].startswith("Basic ")
    assert server.script.seen[2][2]["Authorization"] == "Bearer tok-123"


def test_identity_token_uses_refresh_grant(server):
    host = "127.0.0.1:%d" % server.server_address[1]
    server.script.steps = [
        (401, {"WWW-Authenticate": 'Bearer realm="http://%s/token",service="reg"' % host}, b""),
        (200, {}, json.dumps({"access_token": "acc"}).encode()),
        (200, {}, b""),
    ]
    client(server, credentials=Credentials(identity_token="refresh-me")).blob_size(BLOB_DIGEST)
    method, path, _headers, body = server.script.seen[1]
    assert method == "POST" and b"grant_type=refresh_token" in body and b"refresh_token=refresh-me" in body


def test_basic_challenge_without_credentials(server):
    server.script.steps = [(401, {"WWW-Authenticate": 'Basic realm="x"'}, b"")]
    with pytest.raises(r.RegistryAuthError, match="requires a login"):
        client(server).blob_size(BLOB_DIGEST)


def test_wrong_credentials_message_has_no_password(server):
    server.script.steps = [(401, {"WWW-Authenticate": 'Basic realm="x"'}, b""),
                           (401, {"WWW-Authenticate": 'Basic realm="x"'}, b'{"errors":[{"code":"UNAUTHORIZED"}]}')]
    with pytest.raises(r.RegistryAuthError) as e:
        client(server, credentials=Credentials("me", "hunter2-secret")).get_manifest("v1")
    assert "authentication failed as user 'me'" in str(e.value)
    assert "hunter2-secret" not in str(e.value)


def test_redirect_to_other_host_drops_authorization(server):
    other = Script()
    other_srv = start_server(other)
    try:
        location = "http://localhost:%d/blob-store/object" % other_srv.server_address[1]
        server.script.steps = [(401, {"WWW-Authenticate": 'Basic realm="x"'}, b""), (307, {"Location": location}, b"")]
        out = io.BytesIO()
        client(server, credentials=Credentials("u", "p")).download_blob(BLOB_DIGEST, out)
        assert out.getvalue() == BLOB
        assert "Authorization" in server.script.seen[1][2]
        assert "Authorization" not in other.seen[0][2]
    finally:
        other_srv.shutdown()
        other_srv.server_close()


def test_404_without_registry_error_is_not_a_registry(server):
    server.script.steps = [(404, {"Content-Type": "text/html"}, b"<html>nope</html>")]
    with pytest.raises(r.RegistryNotFoundError, match="is 127.0.0.1:[0-9]+ an OCI registry"):
        client(server).get_manifest("v1")


def test_refused_connection(server):
    port = server.server_address[1]
    server.shutdown()
    server.server_close()
    c = r.RegistryClient("127.0.0.1:%d" % port, "k0s", plain_http=True, retries=1, sleep=lambda s: None)
    with pytest.raises(r.RegistryConnectionError, match="connection refused"):
        c.blob_size(BLOB_DIGEST)


@pytest.mark.parametrize("header,expected", [
    ('Bearer realm="https://auth.example.com/token",service="registry.example.com"',
     ("bearer", {"realm": "https://auth.example.com/token", "service": "registry.example.com"})),
    ('Basic realm="Registry Realm"', ("basic", {"realm": "Registry Realm"})),
    (None, (None, {})),
])
def test_parse_challenge(header, expected):
    assert r.parse_challenge(header) == expected


@pytest.mark.parametrize("params,needle", [
    ({"username": "u", "password": ""}, "option password"),
    ({"username": "", "password": "p"}, "option username"),
])
def test_credentials_from_params_errors(params, needle):
    with pytest.raises(r.RegistryAuthError, match=needle):
        r.credentials_from_params(params, "reg.example.com")


def test_params_from_options_env_fallback(monkeypatch):
    monkeypatch.setenv("K0SMOTRON_OCI_PLAIN_HTTP", "yes")
    monkeypatch.setenv("K0SMOTRON_OCI_RETRIES", "5")
    params = r.params_from_options({"timeout": "2.5"})
    assert params["plain_http"] is True and params["retries"] == 5 and params["timeout"] == 2.5
    assert params["validate_certs"] is True
