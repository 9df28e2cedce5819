# -*- coding: utf-8 -*-
"""The registry client against the harness' scriptable fake registry (tests/harness/fakeregistry.py)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import hashlib
import io
import json

import pytest

from ansible_collections.k0smotron.oci.plugins.module_utils import _registry as r
from ansible_collections.k0smotron.oci.plugins.module_utils._docker_config import Credentials
from ansible_collections.k0smotron.oci.plugins.module_utils._registry_auth import parse_challenge
from ansible_collections.k0smotron.oci.plugins.module_utils._registry_errors import RegistryConnectionError
from ansible_collections.k0smotron.oci.plugins.module_utils._registry_http import BytesBody, origin
from ansible_collections.k0smotron.oci.plugins.module_utils._registry_options import params_from_options
from ansible_collections.k0smotron.oci.tests.harness import fakeregistry
from ansible_collections.k0smotron.oci.tests.harness.fakeregistry import (
    FakeRegistry, drop, endless, json_error, redirect, reply, stall)

BLOB = b"k0s binary bytes" * 1000
BLOB_DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()
SHA512_DIGEST = "sha512:" + hashlib.sha512(BLOB).hexdigest()
REPO = "k0s/k0s"
fake, fake_certs = fakeregistry.fake, fakeregistry.fake_certs  # the harness' fixtures


@pytest.fixture()
def tls_fake(fake_certs):
    with FakeRegistry(tls=fake_certs) as srv:
        yield srv


def client(srv, **kw):
    kw.setdefault("sleep", lambda s: None)
    kw.setdefault("timeout", 5)
    return r.RegistryClient(srv.host, REPO, plain_http=True, **kw)


def tls_client(srv, fake_certs, **kw):
    kw.setdefault("sleep", lambda s: None)
    kw.setdefault("timeout", 5)
    return r.RegistryClient(srv.host, REPO, ca_path=fake_certs["ca"], **kw)


# ---------------------------------------------------------------- behaviour kept from before
def test_retries_after_500_and_connection_drop(fake):
    fake.on("GET", "/blobs/", json_error(500, "UNKNOWN"), count=1).on("GET", "/blobs/", drop(), count=1)
    fake.on("GET", "/blobs/", reply(200, body=BLOB))
    out = io.BytesIO()
    assert client(fake, retries=3).download_blob(BLOB_DIGEST, out) == len(BLOB)
    assert out.getvalue() == BLOB
    assert fake.count("GET") == 3


def test_retries_are_bounded_and_message_is_clear(fake):
    fake.on("HEAD", "/blobs/", json_error(503, "UNAVAILABLE", "busy"))
    with pytest.raises(RegistryConnectionError) as e:
        client(fake, retries=2).blob_size(BLOB_DIGEST)
    assert "503" in str(e.value) and "gave up after 3 attempts" in str(e.value) and REPO in str(e.value)
    assert fake.count("HEAD") == 3


def test_retry_after_is_used(fake):
    slept = []
    fake.on("HEAD", "/blobs/", reply(429, {"Retry-After": "7"}), count=1).on("HEAD", "/blobs/", reply(200, body=BLOB))
    client(fake, sleep=slept.append).blob_size(BLOB_DIGEST)
    assert slept == [7.0]


def test_exponential_backoff(fake):
    slept = []
    fake.on("HEAD", "/blobs/", drop(), count=3).on("HEAD", "/blobs/", reply(200, body=BLOB))
    client(fake, sleep=slept.append, retries=3).blob_size(BLOB_DIGEST)
    assert slept == [0.5, 1.0, 2.0]


def test_digest_mismatch_is_reported(fake):
    fake.on("GET", "/blobs/", reply(200, body=b"tampered"))
    with pytest.raises(r.RegistryDigestError, match="does not match its digest"):
        client(fake).download_blob(BLOB_DIGEST, io.BytesIO())


def bearer_challenge(srv, path="/token"):
    return {"WWW-Authenticate": 'Bearer realm="%s%s",service="reg",scope="repository:k0s/k0s:pull"' % (srv.url, path)}


def test_bearer_flow_and_scope(fake):
    fake.on("HEAD", "/blobs/", reply(401, bearer_challenge(fake)), count=1)
    fake.on("GET", "/token", reply(200, body=json.dumps({"token": "tok-123"})))
    fake.on("HEAD", "/blobs/", reply(200, body=BLOB))
    client(fake, push=True, credentials=Credentials("user", "secret-pw")).blob_size(BLOB_DIGEST)
    token_req = fake.requests("GET", "/token")[0]
    assert "scope=repository%3Ak0s%2Fk0s%3Apull%2Cpush" in token_req.path and "service=reg" in token_req.path
    assert token_req.header("Authorization").startswith("Basic ")
    assert fake.requests("HEAD")[1].header("Authorization") == "Bearer tok-123"


def test_identity_token_uses_refresh_grant(fake):
    fake.on("HEAD", "/blobs/", reply(401, bearer_challenge(fake)), count=1)
    fake.on("POST", "/token", reply(200, body=json.dumps({"access_token": "acc"})))
    fake.on("HEAD", "/blobs/", reply(200, body=BLOB))
    client(fake, credentials=Credentials(identity_token="refresh-me")).blob_size(BLOB_DIGEST)
    body = fake.requests("POST", "/token")[0].body
    assert b"grant_type=refresh_token" in body and b"refresh_token=refresh-me" in body


def test_basic_challenge_without_credentials(fake):
    fake.on("HEAD", "/blobs/", reply(401, {"WWW-Authenticate": 'Basic realm="x"'}))
    with pytest.raises(r.RegistryAuthError, match="requires a login"):
        client(fake).blob_size(BLOB_DIGEST)


def test_wrong_credentials_message_has_no_password_and_carries_status_and_codes(fake):
    fake.on("GET", "/manifests/", json_error(401, "UNAUTHORIZED", headers={"WWW-Authenticate": 'Basic realm="x"'}))
    with pytest.raises(r.RegistryAuthError) as e:
        client(fake, credentials=Credentials("me", "hunter2-secret")).get_manifest("v1")
    assert "authentication failed as user 'me'" in str(e.value)
    assert "hunter2-secret" not in str(e.value)
    assert e.value.status == 401 and e.value.codes == ["UNAUTHORIZED"]


def test_redirect_to_other_host_drops_authorization(fake):
    with FakeRegistry() as other:
        other.on("GET", "/blob-store/", reply(200, body=BLOB))
        location = "http://localhost:%d/blob-store/object" % other.port
        fake.on("GET", "/blobs/", reply(401, {"WWW-Authenticate": 'Basic realm="x"'}), count=1)
        fake.on("GET", "/blobs/", redirect(location))
        out = io.BytesIO()
        client(fake, credentials=Credentials("u", "p")).download_blob(BLOB_DIGEST, out)
        assert out.getvalue() == BLOB
        assert fake.requests("GET")[1].header("Authorization")
        assert other.requests()[0].header("Authorization") is None


def test_404_without_registry_error_is_not_a_registry(fake):
    fake.on("GET", "/manifests/", reply(404, {"Content-Type": "text/html"}, b"<html>nope</html>"))
    with pytest.raises(r.RegistryNotFoundError, match="is 127.0.0.1:[0-9]+ an OCI registry"):
        client(fake).get_manifest("v1")


def test_refused_connection():
    with FakeRegistry() as srv:
        port = srv.port
    c = r.RegistryClient("127.0.0.1:%d" % port, "k0s", plain_http=True, retries=1, sleep=lambda s: None)
    with pytest.raises(RegistryConnectionError, match="connection refused"):
        c.blob_size(BLOB_DIGEST)


@pytest.mark.parametrize("header,expected", [
    ('Bearer realm="https://auth.example.com/token",service="registry.example.com"',
     ("bearer", {"realm": "https://auth.example.com/token", "service": "registry.example.com"})),
    ('Basic realm="Registry Realm"', ("basic", {"realm": "Registry Realm"})),
    (None, (None, {})),
])
def test_parse_challenge(header, expected):
    assert parse_challenge(header) == expected


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
    params = params_from_options({"timeout": "2.5"})
    assert params["plain_http"] is True and params["retries"] == 5 and params["timeout"] == 2.5
    assert params["validate_certs"] is True


# ---------------------------------------------------------------- downgrades
def basic_challenge():
    return reply(401, {"WWW-Authenticate": 'Basic realm="x"'})


def test_upload_location_downgraded_to_http_on_same_host_is_refused(tls_fake, fake_certs):
    location = "http://%s/v2/k0s/k0s/blobs/uploads/abc" % tls_fake.host
    tls_fake.on("POST", "/blobs/uploads/", basic_challenge(), count=1)
    tls_fake.on("POST", "/blobs/uploads/", reply(202, {"Location": location}))
    tls_fake.on("PUT", "/blobs/uploads/", reply(201))
    c = tls_client(tls_fake, fake_certs, credentials=Credentials("u", "secret-pw"), push=True)
    with pytest.raises(r.RegistryError, match="https to http"):
        c.upload_blob(BLOB_DIGEST, BytesBody(BLOB))
    assert [s for s in tls_fake.seen if not s.tls] == [], "nothing may go out in clear text"


def test_blob_redirect_downgraded_to_http_is_refused(tls_fake, fake_certs):
    tls_fake.on("GET", "/blobs/", basic_challenge(), count=1)
    tls_fake.on("GET", "/blobs/", redirect("http://%s/store/blob" % tls_fake.host))
    tls_fake.on("GET", "/store/", reply(200, body=BLOB))
    c = tls_client(tls_fake, fake_certs, credentials=Credentials("u", "secret-pw"))
    with pytest.raises(r.RegistryError, match="https to http"):
        c.download_blob(BLOB_DIGEST, io.BytesIO(), expected_size=len(BLOB))
    assert [s for s in tls_fake.seen if not s.tls] == []


def test_same_host_other_port_gets_no_credentials(fake):
    with FakeRegistry() as other:
        other.on("GET", "/store/", reply(200, body=BLOB))
        fake.on("GET", "/blobs/", basic_challenge(), count=1)
        fake.on("GET", "/blobs/", redirect("http://127.0.0.1:%d/store/blob" % other.port))
        client(fake, credentials=Credentials("u", "p")).download_blob(BLOB_DIGEST, io.BytesIO())
        assert other.requests()[0].header("Authorization") is None


@pytest.mark.parametrize("a,b,same", [
    ("https://reg.example.com/v2/", "https://reg.example.com:443/x", True),
    ("https://reg.example.com/v2/", "http://reg.example.com:443/x", False),
    ("https://REG.example.com/v2/", "https://reg.example.com/x", True),
    ("http://reg.example.com/v2/", "http://reg.example.com:80/x", True),
    ("https://reg.example.com:5000/", "https://reg.example.com/", False),
])
def test_origin_compares_scheme_host_and_effective_port(a, b, same):
    assert (origin(a) == origin(b)) is same


# ---------------------------------------------------------------- caps
def test_manifest_over_4mib_is_refused(fake):
    fake.on("GET", "/manifests/", reply(200, {"Content-Type": r.OCI_MANIFEST}, b" " * (r.MAX_MANIFEST + 1)))
    with pytest.raises(r.RegistryError, match="larger than 4 MiB") as e:
        client(fake).get_manifest("v1")
    assert REPO in str(e.value)


def test_endless_manifest_body_is_refused(fake):
    fake.on("GET", "/manifests/", endless(headers={"Content-Type": r.OCI_MANIFEST}))
    with pytest.raises(r.RegistryError, match="larger than 4 MiB"):
        client(fake).get_manifest("v1")


def test_endless_error_body_is_capped(fake):
    fake.on("GET", "/manifests/", endless(status=400, headers={"Content-Type": "application/json"}))
    with pytest.raises(r.RegistryError, match="answered 400"):
        client(fake).get_manifest("v1")


def test_endless_token_response_is_refused(fake):
    fake.on("HEAD", "/blobs/", reply(401, bearer_challenge(fake)))
    fake.on("GET", "/token", endless(headers={"Content-Type": "application/json"}))
    with pytest.raises(r.RegistryAuthError, match="token service .* larger than"):
        client(fake, credentials=Credentials("u", "p")).blob_size(BLOB_DIGEST)


# ---------------------------------------------------------------- blob size bound
def test_endless_blob_stops_at_the_expected_size(fake):
    fake.on("GET", "/blobs/", endless(chunk=BLOB))
    out = io.BytesIO()
    with pytest.raises(r.RegistryError, match="more than the %d bytes" % len(BLOB)):
        client(fake, retries=0).download_blob(BLOB_DIGEST, out, expected_size=len(BLOB))
    assert len(out.getvalue()) <= len(BLOB)


def test_blob_without_length_is_refused_when_size_unknown(fake):
    fake.on("GET", "/blobs/", reply(200, body=BLOB, chunked=True))
    with pytest.raises(r.RegistryError, match="no usable Content-Length"):
        client(fake).download_blob(BLOB_DIGEST, io.BytesIO())


def test_blob_length_larger_than_expected_is_refused(fake):
    fake.on("GET", "/blobs/", reply(200, body=BLOB + b"x" * 10))
    with pytest.raises(r.RegistryError, match="announces 16010 bytes"):
        client(fake).download_blob(BLOB_DIGEST, io.BytesIO(), expected_size=len(BLOB))


def test_blob_without_length_is_fine_when_size_known(fake):
    fake.on("GET", "/blobs/", reply(200, body=BLOB, chunked=True))
    out = io.BytesIO()
    assert client(fake).download_blob(BLOB_DIGEST, out, expected_size=len(BLOB)) == len(BLOB)


# ---------------------------------------------------------------- tokens
@pytest.mark.parametrize("token", ["tok-secret\n", "tok secret", "tok\x00secret", ""])
def test_bad_token_is_refused_without_showing_it(fake, token):
    fake.on("HEAD", "/blobs/", reply(401, bearer_challenge(fake)))
    fake.on("GET", "/token", reply(200, body=json.dumps({"token": token})))
    with pytest.raises(r.RegistryAuthError) as e:
        client(fake, credentials=Credentials("u", "p")).blob_size(BLOB_DIGEST)
    assert "tok" not in str(e.value).replace("token", "")
    assert "127.0.0.1" in str(e.value)


# ---------------------------------------------------------------- malformed answers
def test_numeric_token_is_refused_as_not_a_string(fake):
    fake.on("HEAD", "/blobs/", reply(401, bearer_challenge(fake)))
    fake.on("GET", "/token", reply(200, body=b'{"token": 12345}'))
    with pytest.raises(r.RegistryAuthError, match="not a string"):
        client(fake, credentials=Credentials("u", "p")).blob_size(BLOB_DIGEST)


def test_short_manifest_body_is_retried_then_named(fake):
    fake.on("GET", "/manifests/", reply(200, {"Content-Type": r.OCI_MANIFEST}, b"{}", length=100))
    with pytest.raises(RegistryConnectionError) as e:
        client(fake, retries=1).get_manifest("v1")
    assert fake.count("GET") == 2 and "127.0.0.1" in str(e.value) and "gave up after 2 attempts" in str(e.value)


def test_non_numeric_content_length_on_head_is_named(fake):
    fake.on("HEAD", "/blobs/", reply(200, length="12abc"))
    with pytest.raises(r.RegistryError, match="Content-Length"):
        client(fake).blob_size(BLOB_DIGEST)


def test_stalled_manifest_read_is_retried_and_named(fake):
    fake.on("GET", "/manifests/", stall(5, headers={"Content-Type": r.OCI_MANIFEST}))
    with pytest.raises(RegistryConnectionError) as e:
        client(fake, retries=1, timeout=0.2).get_manifest("v1")
    assert fake.count("GET") == 2
    assert REPO in str(e.value) and "gave up after 2 attempts" in str(e.value)


def test_manifest_that_is_not_utf8_json_is_refused(fake):
    fake.on("GET", "/manifests/", reply(200, {"Content-Type": r.OCI_MANIFEST}, b"\xff\xfe{"))
    with pytest.raises(r.RegistryError, match="not a JSON"):
        client(fake).get_manifest_json("v1")


# ---------------------------------------------------------------- digests
def test_sha512_manifest_is_verified(fake):
    fake.on("GET", "/manifests/", reply(200, {"Content-Type": r.OCI_MANIFEST}, b"{}"))
    with pytest.raises(r.RegistryDigestError):
        client(fake).get_manifest(SHA512_DIGEST)


def test_sha512_blob_is_verified(fake):
    fake.on("GET", "/blobs/", reply(200, body=BLOB))
    out = io.BytesIO()
    assert client(fake).download_blob(SHA512_DIGEST, out) == len(BLOB)
    fake.on("GET", "/blobs/", reply(200, body=b"x" * len(BLOB)))
    with FakeRegistry() as bad:
        bad.on("GET", "/blobs/", reply(200, body=b"x" * len(BLOB)))
        with pytest.raises(r.RegistryDigestError):
            client(bad).download_blob(SHA512_DIGEST, io.BytesIO())


@pytest.mark.parametrize("digest", ["sha256:../../../../v2/other/manifests/x", "sha256:" + "A" * 64,
                                    "sha256:" + "a" * 64 + "\n", "md5:abc"])
def test_client_refuses_malformed_digests_before_any_request(fake, digest):
    with pytest.raises(r.RegistryError, match="digest"):
        client(fake).get_manifest(digest)
    with pytest.raises(r.RegistryError, match="digest"):
        client(fake).blob_size(digest)
    assert fake.seen == []


# ---------------------------------------------------------------- full disk
class FullDisk(io.BytesIO):
    def __init__(self, code):
        io.BytesIO.__init__(self)
        self.code = code

    def write(self, data):
        raise OSError(self.code, "No space left on device" if self.code == errno.ENOSPC else "Disk quota exceeded")


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
def test_full_disk_is_not_retried_and_says_so(fake, code):
    fake.on("GET", "/blobs/", reply(200, body=BLOB))
    with pytest.raises(r.RegistryError) as e:
        client(fake, retries=3).download_blob(BLOB_DIGEST, FullDisk(code))
    assert fake.count("GET") == 1
    assert ("No space left on device" if code == errno.ENOSPC else "Disk quota exceeded") in str(e.value)


# ---------------------------------------------------------------- the retry policy: N retries = N+1 attempts
def always_503():
    return json_error(503, "UNAVAILABLE", "busy")


def run_upload(c, _tmp_path):
    c.upload_blob(BLOB_DIGEST, BytesBody(BLOB))


def run_stream(c, tmp_path):
    p = tmp_path / "blob"
    p.write_bytes(BLOB)
    c.upload_blob_stream(str(p), len(BLOB))


CASES = {
    "HEAD": (("HEAD", "/blobs/"), lambda c, t: c.blob_size(BLOB_DIGEST)),
    "GET": (("GET", "/manifests/"), lambda c, t: c.get_manifest("v1")),
    "GET-blob": (("GET", "/blobs/"), lambda c, t: c.download_blob(BLOB_DIGEST, io.BytesIO())),
    "PUT-manifest": (("PUT", "/manifests/"), lambda c, t: c.put_manifest("v1", b"{}", r.OCI_MANIFEST)),
    "POST": (("POST", "/uploads/"), run_upload),
    "PUT-blob": (("PUT", "/uploads/"), run_upload),
    "PATCH": (("PATCH", "/uploads/"), run_stream),
    "PUT-stream": (("PUT", "/uploads/"), run_stream),
}


@pytest.mark.parametrize("retries", [0, 3])
@pytest.mark.parametrize("case", sorted(CASES))
def test_retries_n_means_at_most_n_plus_1_attempts_of_any_request(fake, tmp_path, case, retries):
    (method, path), action = CASES[case]
    fake.on(method, path, always_503())
    fake.on("POST", "/uploads/", reply(202, {"Location": "/v2/k0s/k0s/blobs/uploads/abc"}))
    fake.on("PATCH", "/uploads/", reply(202, {"Location": "/v2/k0s/k0s/blobs/uploads/abc"}))
    with pytest.raises(RegistryConnectionError) as e:
        action(client(fake, retries=retries), tmp_path)
    assert fake.count(method, path) == retries + 1
    for other in ("HEAD", "GET", "PUT", "POST", "PATCH"):
        assert fake.count(other) <= retries + 1, (other, fake.seen)
    assert "gave up after %d attempts" % (retries + 1) in str(e.value)


@pytest.mark.parametrize("retries", [0, 2])
def test_retries_n_bounds_token_fetches(fake, retries):
    fake.on("HEAD", "/blobs/", reply(401, bearer_challenge(fake)))
    fake.on("GET", "/token", always_503())
    with pytest.raises(RegistryConnectionError) as e:
        client(fake, retries=retries, credentials=Credentials("u", "p")).blob_size(BLOB_DIGEST)
    assert fake.count("GET", "/token") == retries + 1
    assert fake.count("HEAD") == retries + 1
    assert "gave up after %d attempts" % (retries + 1) in str(e.value)


# ---------------------------------------------------------------- issue 18 item 7: deep JSON
# 400 KB of nested arrays: valid JSON, far deeper than Python's recursion limit.
DEEP_JSON = b"[" * 200000 + b"]" * 200000


@pytest.mark.parametrize("content_type", [r.OCI_MANIFEST, "application/json"])
def test_deep_manifest_is_the_invalid_json_error(fake, content_type):
    fake.on("GET", "/manifests/", reply(200, {"Content-Type": content_type}, DEEP_JSON))
    with pytest.raises(r.RegistryError, match="is not a JSON object") as e:
        client(fake).get_manifest_json("v1")
    assert REPO in str(e.value)


def test_deep_token_answer_is_the_invalid_json_error(fake):
    fake.on("HEAD", "/blobs/", reply(401, bearer_challenge(fake)))
    fake.on("GET", "/token", reply(200, {"Content-Type": "application/json"}, DEEP_JSON))
    with pytest.raises(r.RegistryAuthError, match="did not answer with a JSON object"):
        client(fake, credentials=Credentials("u", "p")).blob_size(BLOB_DIGEST)


def test_deep_error_body_is_an_error_without_codes(fake):
    fake.on("GET", "/manifests/", reply(400, {"Content-Type": "application/json"}, DEEP_JSON))
    with pytest.raises(r.RegistryError, match="answered 400") as e:
        client(fake).get_manifest("v1")
    assert e.value.codes == []


# ---------------------------------------------------------------- issue 18 items 10 and 11
def test_require_blob_names_a_manifest_digest(fake):
    fake.on("HEAD", "/blobs/", reply(404))
    fake.on("HEAD", "/manifests/", reply(200, {"Content-Type": r.OCI_MANIFEST}))
    with pytest.raises(r.RegistryNotFoundError, match="is a manifest digest, not a blob digest") as e:
        client(fake).require_blob(BLOB_DIGEST)
    assert REPO in str(e.value)


def test_require_blob_unknown_and_known(fake):
    fake.on("HEAD", "/blobs/", reply(404), count=1)
    fake.on("HEAD", "/manifests/", reply(404))
    with pytest.raises(r.RegistryNotFoundError, match="blob %s not found" % BLOB_DIGEST):
        client(fake).require_blob(BLOB_DIGEST)
    fake.on("HEAD", "/blobs/", reply(200, length=len(BLOB)))
    assert client(fake).require_blob(BLOB_DIGEST) == len(BLOB)


@pytest.mark.parametrize("credentials, used", [(None, False), (Credentials("u", "p"), True)])
def test_client_tells_whether_a_login_was_used(fake, credentials, used):
    fake.on("HEAD", "/blobs/", reply(401, bearer_challenge(fake)), count=1)
    fake.on("GET", "/token", reply(200, {"Content-Type": "application/json"}, b'{"token": "t0k"}'))
    fake.on("HEAD", "/blobs/", reply(200, length=len(BLOB)))
    c = client(fake, credentials=credentials)
    assert c.blob_size(BLOB_DIGEST) == len(BLOB)
    assert c.auth.used_credentials is used
