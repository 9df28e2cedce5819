"""artifact_push upload_mode: stream (one pass: PATCH while hashing, PUT ?digest=) and its fallbacks."""
import hashlib
import os

import pytest


@pytest.fixture()
def payload(tmp_path):
    p = tmp_path / "k0s"
    p.write_bytes(os.urandom(2 * 1024 * 1024 + 11))
    return str(p)


def sha(path):
    with open(path, "rb") as f:
        return "sha256:" + hashlib.sha256(f.read()).hexdigest()


def methods(proxy):
    return [(m, "PATCH" if m == "PATCH" else path.split("?")[0]) for m, path, _status in proxy.log]


def test_stream_push_is_one_pass_and_rerun_sends_nothing(proxy, run_module, payload):
    args = dict(reference=proxy.host + "/stream/k0s:v1", files=[payload], plain_http=True, digest_cache=False,
                upload_mode="stream")
    first = run_module("artifact_push", args, expect_fail=False)
    assert first["changed"] is True and first["uploaded_bytes"] == os.path.getsize(payload)
    assert first["layers"][0]["digest"] == sha(payload)
    patches = [e for e in proxy.log if e[0] == "PATCH"]
    assert len(patches) == 1 and patches[0][2] == 202
    # No HEAD of the file's blob before the upload: the digest was not known yet.
    assert not [e for e in proxy.log if e[0] == "HEAD" and sha(payload) in e[1]]
    proxy.clear()
    # Same title and size at the tag: hashed first, HEAD says present, nothing is sent.
    again = run_module("artifact_push", args, expect_fail=False)
    assert again["changed"] is False and again["uploaded_bytes"] == 0
    assert again["manifest_digest"] == first["manifest_digest"]
    assert not [e for e in proxy.log if e[0] in ("PATCH", "POST", "PUT")]
    info = run_module("artifact_info", dict(reference=args["reference"], plain_http=True), expect_fail=False)
    assert info["blob_digest"] == sha(payload)


def test_stream_fills_digest_cache(proxy, run_module, payload, tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    args = dict(reference=proxy.host + "/stream/k0s:cached", files=[payload], plain_http=True, upload_mode="stream")
    run_module("artifact_push", args, env=env, expect_fail=False)
    assert (tmp_path / "cache" / "k0smotron.oci" / "digests.json").exists()
    proxy.clear()
    # Another tag: the cached digest allows a HEAD first; the blob is there, so nothing is sent.
    other = run_module("artifact_push", dict(args, reference=proxy.host + "/stream/k0s:cached2"), env=env,
                       expect_fail=False)
    assert other["uploaded_bytes"] == 0
    assert [e for e in proxy.log if e[0] == "HEAD" and sha(payload) in e[1]]


@pytest.mark.parametrize("status", [413, 416, 400, 405])
def test_refused_patch_falls_back_to_monolithic(proxy, run_module, payload, status):
    rule = proxy.add("PATCH", r"/blobs/uploads/", "status", count=1, status=status)
    ref = "%s/stream-fallback-%d/k0s:v1" % (proxy.host, status)
    result = run_module("artifact_push", dict(reference=ref, files=[payload], plain_http=True, digest_cache=False,
                                              upload_mode="stream"), expect_fail=False)
    assert rule.hits == 1
    assert result["uploaded_bytes"] == os.path.getsize(payload)
    warnings = str(result.get("warnings"))
    assert "fell back to upload_mode=monolithic" in warnings and str(status) in warnings
    assert [e for e in proxy.log if e[0] == "PUT" and "digest=" in e[1] and e[2] == 201]
    info = run_module("artifact_info", dict(reference=ref, plain_http=True), expect_fail=False)
    assert info["blob_digest"] == sha(payload)


@pytest.mark.parametrize("action,status", [("reset", None), ("status", 503), ("status", 429)])
def test_broken_patch_restarts_the_session(proxy, run_module, payload, action, status):
    rule = proxy.add("PATCH", r"/blobs/uploads/", action, count=1, status=status or 503, retry_after=0)
    ref = "%s/stream-retry-%s/k0s:v1" % (proxy.host, status or action)
    result = run_module("artifact_push", dict(reference=ref, files=[payload], plain_http=True, digest_cache=False,
                                              upload_mode="stream"), expect_fail=False)
    assert rule.hits == 1 and not result.get("warnings")
    posts = [e for e in proxy.log if e[0] == "POST" and "/stream-retry" in e[1]]
    assert len(posts) >= 3  # file session, new file session after the fault, config blob
    info = run_module("artifact_info", dict(reference=ref, plain_http=True), expect_fail=False)
    assert info["blob_digest"] == sha(payload)


def test_stream_retries_are_bounded(proxy, run_module, payload):
    rule = proxy.add("PATCH", r"/blobs/uploads/", "reset", count=100)
    ref = proxy.host + "/stream-bounded/k0s:v1"
    result = run_module("artifact_push", dict(reference=ref, files=[payload], plain_http=True, digest_cache=False,
                                              upload_mode="stream", retries=2), expect_fail=True)
    assert rule.hits == 3
    assert "gave up after 3 attempts" in result["msg"] and "stream-bounded/k0s" in result["msg"]
    assert not [e for e in proxy.log if e[0] == "PUT" and "/manifests/" in e[1]]


def test_known_digest_wins_over_stream(proxy, run_module, payload):
    result = run_module("artifact_push", dict(reference=proxy.host + "/stream-known/k0s:v1", files=[payload],
                                              plain_http=True, upload_mode="stream", digests={"k0s": sha(payload)}),
                        expect_fail=False)
    assert result["uploaded_bytes"] == os.path.getsize(payload)
    assert not [e for e in proxy.log if e[0] == "PATCH"], "a known digest is one monolithic PUT"
