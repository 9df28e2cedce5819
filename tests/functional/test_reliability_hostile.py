"""Hostile and malformed registries (issue 12), through the modules, with the harness' fake registry
(tests/harness/fakeregistry.py). Well-behaved registries are covered by the real ones elsewhere."""
import hashlib
import json
import os

from tests.harness import fakeregistry
from tests.harness.fakeregistry import FakeRegistry, endless, json_error, reply

BLOB = b"k0s" * 4096
BLOB_DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
fake, fake_certs = fakeregistry.fake, fakeregistry.fake_certs  # the harness' fixtures


def test_item3_endless_blob_body_stops_at_the_blob_size(fake, run_module, tmp_path):
    fake.on("HEAD", "/blobs/", reply(200, length=len(BLOB)))
    fake.on("GET", "/blobs/", endless(chunk=b"\0" * 65536))
    dest = tmp_path / "out" / "k0s"
    dest.parent.mkdir()
    result = run_module("blob_fetch", dict(reference="%s/k0s/k0s@%s" % (fake.host, BLOB_DIGEST), dest=str(dest),
                                           plain_http=True, retries=1), expect_fail=True)
    assert "more than the %d bytes" % len(BLOB) in result["msg"] and fake.host in result["msg"]
    assert os.listdir(str(dest.parent)) == [], "nothing written, no temp file left"


def test_item3_blob_without_any_size_is_refused(fake, run_module, tmp_path):
    fake.on("HEAD", "/blobs/", reply(200, length=False))
    fake.on("GET", "/blobs/", reply(200, body=BLOB, chunked=True))
    result = run_module("blob_fetch", dict(reference="%s/k0s/k0s@%s" % (fake.host, BLOB_DIGEST),
                                           dest=str(tmp_path / "k0s"), plain_http=True), expect_fail=True)
    assert "no usable Content-Length" in result["msg"]
    assert os.listdir(str(tmp_path)) == []


def test_item2_huge_manifest_is_refused_with_flat_memory(fake, run_module):
    fake.on("GET", "/manifests/", reply(200, {"Content-Type": OCI_MANIFEST}, b" " * (64 << 20)))
    result = run_module("artifact_info", dict(reference=fake.host + "/k0s/k0s:v1", plain_http=True), expect_fail=True)
    assert "larger than 4 MiB" in result["msg"] and "k0s/k0s" in result["msg"]
    assert result["_maxrss_mib"] < 100, "the module read no more than the cap"


def test_item1_upload_location_downgrade_is_refused_and_nothing_goes_out_in_clear(fake_certs, run_module, tmp_path):
    payload = tmp_path / "k0s"
    payload.write_bytes(BLOB)
    with FakeRegistry(tls=fake_certs) as fake:
        fake.on(None, "/v2/", reply(401, {"WWW-Authenticate": 'Basic realm="fake"'}), count=1)
        fake.on("HEAD", "/blobs/", reply(404))
        fake.on("GET", "/manifests/", json_error(404, "MANIFEST_UNKNOWN"))
        fake.on("POST", "/blobs/uploads/", reply(202, {"Location": "http://%s/v2/k0s/k0s/blobs/uploads/u1" % fake.host}))
        result = run_module("artifact_push", dict(reference=fake.host + "/k0s/k0s:v1", files=[str(payload)],
                                                  ca_path=fake_certs["ca"], username="u", password="Secret-pw-123"),
                            expect_fail=True)
        assert "https to http" in result["msg"] and "Secret-pw-123" not in json.dumps(result)
        assert [s for s in fake.seen if not s.tls] == []
        assert fake.count("PUT") == 0


def test_item4_token_with_a_newline_is_refused_without_showing_it(fake, run_module):
    challenge = 'Bearer realm="%s/token",service="fake"' % fake.url
    fake.on("GET", "/manifests/", reply(401, {"WWW-Authenticate": challenge}))
    fake.on("GET", "/token", reply(200, {"Content-Type": "application/json"}, '{"token":"tok-SECRET-123\\n"}'))
    result = run_module("artifact_info", dict(reference=fake.host + "/k0s/k0s:v1", plain_http=True,
                                              username="u", password="p"), expect_fail=True)
    assert "control characters" in result["msg"] and "SECRET" not in json.dumps(result)


def test_issue18_item7_deep_manifest_is_a_registry_error_not_a_crash(fake, run_module):
    # 400 KB of nested arrays: valid JSON far deeper than Python's recursion limit.
    fake.on("GET", "/manifests/", reply(200, {"Content-Type": OCI_MANIFEST}, b"[" * 200000 + b"]" * 200000))
    result = run_module("artifact_info", dict(reference=fake.host + "/k0s/k0s:v1", plain_http=True), expect_fail=True)
    assert "is not a JSON object" in result["msg"] and "k0s/k0s" in result["msg"]
    assert "recursion" not in json.dumps(result).lower()
