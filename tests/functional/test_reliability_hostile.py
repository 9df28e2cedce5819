"""Hostile and malformed registries (issues 12, 18), through the modules, with the harness' fake registry
(tests/harness/fakeregistry.py). Well-behaved registries are covered by the real ones elsewhere."""
import json
import os

import pytest

from tests.harness import fakeregistry, hostile
from tests.harness.fakeregistry import FakeRegistry, json_error, reply

BLOB = hostile.BLOB
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
fake, fake_certs = fakeregistry.fake, fakeregistry.fake_certs  # the harness' fixtures


# What blob_fetch must do in each scenario of tests/harness/hostile.py (the node's shell fetcher meets the same
# scenarios in tests/functional/test_node_fetch.py): a text of its error message.
HOSTILE_OUTCOMES = {
    "endless-blob": "more than the %d bytes" % len(hostile.BLOB),
    "blob-without-size": "no usable Content-Length",
    "endless-token-answer": "sent an answer larger than 1024 KiB",
    "escapes-in-location": "sent a Location with control characters; refused",
}


@pytest.mark.parametrize("scenario", sorted(hostile.SCENARIOS))
def test_hostile_registry(fake, run_module, tmp_path, scenario):
    hostile.SCENARIOS[scenario](fake)
    dest = tmp_path / "out" / "k0s"
    dest.parent.mkdir()
    result = run_module("blob_fetch", dict(reference="%s/%s@%s" % (fake.host, hostile.REPOSITORY, hostile.BLOB_DIGEST),
                                           dest=str(dest), plain_http=True, retries=1, username="u", password="hostile-pw"),
                        expect_fail=True)
    assert HOSTILE_OUTCOMES[scenario] in result["msg"] and fake.host in result["msg"], result["msg"]
    assert "\x1b" not in json.dumps(result) and "\x07" not in result["msg"], "terminal escapes in the result"
    assert os.listdir(str(dest.parent)) == [], "nothing written, no temp file left"


def test_hostile_scenarios_are_all_covered():
    assert sorted(HOSTILE_OUTCOMES) == sorted(hostile.SCENARIOS)


def test_huge_manifest_is_refused_with_flat_memory(fake, run_module):
    fake.on("GET", "/manifests/", reply(200, {"Content-Type": OCI_MANIFEST}, b" " * (64 << 20)))
    result = run_module("artifact_info", dict(reference=fake.host + "/k0s/k0s:v1", plain_http=True), expect_fail=True)
    assert "larger than 4 MiB" in result["msg"] and "k0s/k0s" in result["msg"]
    assert result["_maxrss_mib"] < 100, "the module read no more than the cap"


def test_upload_location_downgrade_is_refused_and_nothing_goes_out_in_clear(fake_certs, run_module, tmp_path):
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


def test_token_with_a_newline_is_refused_without_showing_it(fake, run_module):
    challenge = 'Bearer realm="%s/token",service="fake"' % fake.url
    fake.on("GET", "/manifests/", reply(401, {"WWW-Authenticate": challenge}))
    fake.on("GET", "/token", reply(200, {"Content-Type": "application/json"}, '{"token":"tok-SECRET-123\\n"}'))
    result = run_module("artifact_info", dict(reference=fake.host + "/k0s/k0s:v1", plain_http=True,
                                              username="u", password="p"), expect_fail=True)
    assert "control characters" in result["msg"] and "SECRET" not in json.dumps(result)


def test_deep_manifest_is_a_registry_error_not_a_crash(fake, run_module):
    # 400 KB of nested arrays: valid JSON far deeper than Python's recursion limit.
    fake.on("GET", "/manifests/", reply(200, {"Content-Type": OCI_MANIFEST}, b"[" * 200000 + b"]" * 200000))
    result = run_module("artifact_info", dict(reference=fake.host + "/k0s/k0s:v1", plain_http=True), expect_fail=True)
    assert "is not a JSON object" in result["msg"] and "k0s/k0s" in result["msg"]
    assert "recursion" not in json.dumps(result).lower()
