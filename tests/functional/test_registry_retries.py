"""Retries through a fault-injecting proxy in front of the real registry."""
import hashlib
import os

import pytest


@pytest.fixture()
def payload(tmp_path):
    p = tmp_path / "k0s"
    p.write_bytes(os.urandom(1024 * 1024 + 3))
    return str(p)


def digest(path):
    with open(path, "rb") as f:
        return "sha256:" + hashlib.sha256(f.read()).hexdigest()


STEPS = [
    ("HEAD", r"/blobs/sha256:"),
    ("POST", r"/blobs/uploads/$"),
    ("PUT", r"/blobs/uploads/.*digest="),
    ("GET", r"/manifests/"),
    ("PUT", r"/manifests/"),
]


@pytest.mark.parametrize("method,path", STEPS, ids=["head", "post", "put-blob", "get-manifest", "put-manifest"])
@pytest.mark.parametrize("action", ["status", "reset"])
def test_push_survives_one_fault_per_step(proxy, run_module, payload, method, path, action):
    rule = proxy.add(method, path, action, count=1, status=503)
    tag = "retry-%s-%s-%s" % (method.lower(), action, abs(hash(path)) % 1000)
    result = run_module("artifact_push", dict(reference="%s/retry/k0s:%s" % (proxy.host, tag), files=[payload],
                                              plain_http=True, digest_cache=False), expect_fail=False)
    assert rule.hits == 1, "the fault was injected"
    assert result["layers"][0]["digest"] == digest(payload)
    info = run_module("artifact_info", dict(reference="%s/retry/k0s:%s" % (proxy.host, tag), plain_http=True),
                      expect_fail=False)
    assert info["blob_digest"] == digest(payload)


def test_429_with_retry_after_is_honoured(proxy, run_module, payload):
    rule = proxy.add("GET", r"/manifests/", "status", count=2, status=429, retry_after=1)
    result = run_module("artifact_push", dict(reference=proxy.host + "/retry/k0s:ra", files=[payload], plain_http=True),
                        expect_fail=False)
    assert rule.hits == 2
    assert result["_seconds"] >= 2.0, "two Retry-After: 1 answers mean at least two seconds of waiting"


def test_retries_are_bounded(proxy, run_module, payload):
    rule = proxy.add("HEAD", r"/blobs/", "status", count=100, status=503)
    result = run_module("artifact_push", dict(reference=proxy.host + "/retry/k0s:bounded", files=[payload],
                                              plain_http=True, retries=2), expect_fail=True)
    assert rule.hits == 3
    assert "503" in result["msg"] and "gave up after 3 attempts" in result["msg"] and "retry/k0s" in result["msg"]
    assert not [entry for entry in proxy.log if entry[0] == "PUT" and "/manifests/" in entry[1]], \
        "no manifest may be pushed when a blob step failed"


@pytest.mark.parametrize("action", ["reset", "truncate", "status"])
def test_blob_fetch_survives_one_fault(proxy, run_module, payload, tmp_path, action):
    pushed = run_module("artifact_push", dict(reference=proxy.host + "/retry/k0s:fetch", files=[payload],
                                              plain_http=True), expect_fail=False)
    rule = proxy.add("GET", r"/blobs/sha256:", action, count=1, status=500)
    dest = tmp_path / "k0s-out"
    result = run_module("blob_fetch", dict(reference=pushed["download_url"], dest=str(dest), plain_http=True),
                        expect_fail=False)
    assert rule.hits == 1
    assert result["changed"] is True
    assert digest(str(dest)) == pushed["layers"][0]["digest"]
    assert sorted(os.listdir(tmp_path)) == ["k0s", "k0s-out"], "no temp files left behind"


@pytest.mark.parametrize("method,path", [("PUT", r"/blobs/uploads/"), ("POST", r"/blobs/uploads/$"),
                                         ("PUT", r"/manifests/")], ids=["put-blob", "post", "put-manifest"])
def test_retries_n_means_n_plus_1_requests(proxy, run_module, payload, method, path):
    """Issue 12: retries: 3 sent 16 blob PUTs (a retry loop around a retried request). Now 4, and the message says 4."""
    rule = proxy.add(method, path, "status", count=100, status=503)
    result = run_module("artifact_push", dict(reference=proxy.host + "/retry/k0s:count-%s" % method.lower(),
                                              files=[payload], plain_http=True, retries=3, digest_cache=False),
                        expect_fail=True)
    assert rule.hits == 4, rule.hits
    assert "gave up after 4 attempts" in result["msg"]
