"""Ten pushes at once into one repository (same artifact and tag; different tags): all succeed, and the
registry is consistent afterwards (every tag resolves, every blob its manifest names is there with the
right size and content digest). They share one digest cache file, which must survive the race too."""
import hashlib
import json
import os
import urllib.request
from multiprocessing.pool import ThreadPool

import pytest

N = 10


def get(url, accept=None, method="GET"):
    req = urllib.request.Request(url, method=method)
    if accept:
        req.add_header("Accept", accept)
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.status, resp.read(), resp.headers


def check_tag(host, repository, tag):
    """-> manifest; asserts every referenced blob is there, with its size, and hashes to its digest."""
    _status, body, headers = get("http://%s/v2/%s/manifests/%s" % (host, repository, tag),
                                 "application/vnd.oci.image.manifest.v1+json")
    assert headers["Docker-Content-Digest"] == "sha256:" + hashlib.sha256(body).hexdigest()
    manifest = json.loads(body)
    for desc in [manifest["config"]] + manifest["layers"]:
        status, _body, h = get("http://%s/v2/%s/blobs/%s" % (host, repository, desc["digest"]), method="HEAD")
        assert status == 200 and int(h["Content-Length"]) == desc["size"]
        _status, data, _headers = get("http://%s/v2/%s/blobs/%s" % (host, repository, desc["digest"]))
        assert "sha256:" + hashlib.sha256(data).hexdigest() == desc["digest"]
    return manifest


@pytest.fixture()
def cache_env(tmp_path):
    return {"XDG_CACHE_HOME": str(tmp_path / "shared-cache")}


@pytest.mark.parametrize("upload_mode", ["monolithic", "stream"])
def test_same_artifact_same_tag(registry, run_module, tmp_path, cache_env, upload_mode):
    payload = tmp_path / "k0s"
    payload.write_bytes(os.urandom(3 * 1024 * 1024 + 1))
    repository = "concurrent/same-%s" % upload_mode
    args = dict(reference="%s/%s:v1" % (registry.host, repository), files=[str(payload)], plain_http=True,
                upload_mode=upload_mode, annotations={"k0s": {"arch": "amd64"}})
    with ThreadPool(N) as pool:
        results = pool.map(lambda _i: run_module("artifact_push", args, env=cache_env, expect_fail=False), range(N))
    failures = [r["msg"] for r in results if r.get("failed")]
    assert failures == []
    digest = "sha256:" + hashlib.sha256(payload.read_bytes()).hexdigest()
    assert set(r["layers"][0]["digest"] for r in results) == {digest}
    manifest = check_tag(registry.host, repository, "v1")
    assert manifest["layers"][0]["digest"] == digest
    # The tag holds one of the manifests the runs reported.
    assert any(r["manifest"] == manifest for r in results)
    cache = json.loads((tmp_path / "shared-cache" / "k0smotron.oci" / "digests.json").read_text())
    assert digest in [e["digest"] for e in cache.values()], "the shared cache file is intact JSON"
    # And now it is settled: a re-push changes nothing.
    again = run_module("artifact_push", args, env=cache_env, expect_fail=False)
    assert again["changed"] is False and again["uploaded_bytes"] == 0


def test_different_tags_one_repository(registry, run_module, tmp_path, cache_env):
    payloads = []
    for i in range(N):
        d = tmp_path / ("f%d" % i)
        d.mkdir()
        p = d / "k0s"
        # Half share one content (same blob pushed concurrently under different tags), half are unique.
        p.write_bytes(b"shared k0s content" * 100000 if i % 2 else os.urandom(1024 * 1024 + i))
        payloads.append(str(p))
    repository = "concurrent/tags"

    def push(i):
        return run_module("artifact_push", dict(reference="%s/%s:t%d" % (registry.host, repository, i),
                                                files=[payloads[i]], plain_http=True), env=cache_env, expect_fail=False)

    with ThreadPool(N) as pool:
        results = pool.map(push, range(N))
    assert [r["msg"] for r in results if r.get("failed")] == []
    _status, body, _headers = get("http://%s/v2/%s/tags/list" % (registry.host, repository))
    assert sorted(json.loads(body)["tags"]) == sorted("t%d" % i for i in range(N))
    for i in range(N):
        manifest = check_tag(registry.host, repository, "t%d" % i)
        with open(payloads[i], "rb") as f:
            assert manifest["layers"][0]["digest"] == "sha256:" + hashlib.sha256(f.read()).hexdigest()
        info = run_module("artifact_info", dict(reference="%s/%s:t%d" % (registry.host, repository, i),
                                                plain_http=True), expect_fail=False)
        assert info["blob_digest"] == results[i]["layers"][0]["digest"]


BLOB_UNKNOWN = b'{"errors":[{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to registry"}]}'


def test_manifest_blob_unknown_race_is_retried(registry, run_module, tmp_path):
    """What the concurrent runs hit first: distribution answered a manifest PUT with MANIFEST_BLOB_UNKNOWN
    for a blob another client was committing at that moment. The PUT is retried (bounded)."""
    from tests.harness.faultproxy import FaultProxy
    payload = tmp_path / "k0s"
    payload.write_bytes(os.urandom(100000))
    with FaultProxy(registry.host) as proxy:
        rule = proxy.add("PUT", r"/manifests/", "status", count=2, status=400, body=BLOB_UNKNOWN)
        ok = run_module("artifact_push", dict(reference=proxy.host + "/concurrent/race:v1", files=[str(payload)],
                                              plain_http=True), expect_fail=False)
        assert rule.hits == 2 and ok["changed"] is True
        check_tag(registry.host, "concurrent/race", "v1")
        rule = proxy.add("PUT", r"/manifests/", "status", count=100, status=400, body=BLOB_UNKNOWN)
        failed = run_module("artifact_push", dict(reference=proxy.host + "/concurrent/race:v2", files=[str(payload)],
                                                  plain_http=True, retries=1), expect_fail=True)
    assert rule.hits == 2
    assert "does not have a blob the manifest names" in failed["msg"] and "concurrent/race" in failed["msg"]
    assert "does not match" not in failed["msg"]
