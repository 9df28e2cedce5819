"""blob_fetch: verified, atomic, idempotent downloads by digest."""
import hashlib
import os
import stat

import pytest

from tests.harness.faultproxy import FaultProxy


@pytest.fixture(scope="module")
def artifact(registry, run_module, tmp_path_factory):
    d = tmp_path_factory.mktemp("blob-src")
    src = d / "k0s"
    src.write_bytes(os.urandom(3 * 1024 * 1024 + 5))
    pushed = run_module("artifact_push", dict(reference=registry.host + "/fetch/k0s:v1", files=[str(src)],
                                              plain_http=True), expect_fail=False)
    return {"src": str(src), "url": pushed["download_url"], "digest": pushed["layers"][0]["digest"],
            "manifest_digest": pushed["manifest_digest"]}


def sha(path):
    with open(path, "rb") as f:
        return "sha256:" + hashlib.sha256(f.read()).hexdigest()


def test_check_real_check_real(run_module, artifact, tmp_path):
    dest = tmp_path / "k0s"
    args = dict(reference=artifact["url"], dest=str(dest), plain_http=True, mode="0755")
    first = run_module("blob_fetch", args, check=True, diff=True, expect_fail=False)
    assert first["changed"] is True and not dest.exists()
    assert first["diff"]["before"]["digest"] is None
    real = run_module("blob_fetch", args, expect_fail=False)
    assert real["changed"] is True and real["downloaded"] is True
    assert sha(str(dest)) == artifact["digest"]
    assert stat.S_IMODE(dest.stat().st_mode) == 0o755
    assert run_module("blob_fetch", args, check=True, expect_fail=False)["changed"] is False
    again = run_module("blob_fetch", args, expect_fail=False)
    assert again["changed"] is False and again["downloaded"] is False
    # A mode change alone is a change, without a download.
    moded = run_module("blob_fetch", dict(args, mode="0700"), expect_fail=False)
    assert moded["changed"] is True and moded["downloaded"] is False
    assert stat.S_IMODE(dest.stat().st_mode) == 0o700


def test_matching_file_needs_no_registry(run_module, artifact, tmp_path):
    dest = tmp_path / "k0s"
    dest.write_bytes(open(artifact["src"], "rb").read())
    bogus = artifact["url"].replace(artifact["url"].split("/")[2], "127.0.0.1:9")  # nothing listens on port 9
    result = run_module("blob_fetch", dict(reference=bogus, dest=str(dest), plain_http=True, retries=0),
                        expect_fail=False)
    assert result["changed"] is False


def test_manifest_digest_is_explained(run_module, artifact, tmp_path):
    url = artifact["url"].split("@")[0] + "@" + artifact["manifest_digest"]
    for check in (True, False):
        result = run_module("blob_fetch", dict(reference=url, dest=str(tmp_path / "k0s"), plain_http=True), check=check,
                            expect_fail=True)
        assert "manifest digest, not a blob digest" in result["msg"] and "blob_digest" in result["msg"]
    assert os.listdir(tmp_path) == []


def test_wrong_digest_keeps_existing_binary(run_module, artifact, tmp_path):
    dest = tmp_path / "k0s"
    dest.write_bytes(b"#!/bin/sh\necho working k0s\n")
    before = dest.read_bytes()
    url = artifact["url"].split("@")[0] + "@sha256:" + "0" * 64
    result = run_module("blob_fetch", dict(reference=url, dest=str(dest), plain_http=True), expect_fail=True)
    assert "not found" in result["msg"] and "fetch/k0s" in result["msg"]
    assert dest.read_bytes() == before
    assert os.listdir(tmp_path) == ["k0s"]


def test_corrupted_bytes_fail_and_keep_existing_binary(registry, run_module, artifact, tmp_path):
    dest = tmp_path / "k0s"
    dest.write_bytes(b"old working binary")
    with FaultProxy(registry.host) as proxy:
        proxy.add("GET", r"/blobs/sha256:", "corrupt", count=100)
        url = artifact["url"].replace(registry.host, proxy.host)
        result = run_module("blob_fetch", dict(reference=url, dest=str(dest), plain_http=True), expect_fail=True)
    assert "does not match its digest" in result["msg"] and "nothing was installed" in result["msg"]
    assert dest.read_bytes() == b"old working binary"
    assert os.listdir(tmp_path) == ["k0s"], "the temp file was removed"


@pytest.mark.parametrize("reference,needle", [
    ("127.0.0.1:5000/fetch/k0s:v1", "no digest"),
    ("oci://127.0.0.1:5000/fetch/k0s@sha256:abc", "expected 64"),
    ("https://127.0.0.1:5000/fetch/k0s@sha256:" + "a" * 64, "scheme"),
    ("oci://127.0.0.1:5000/Fetch/k0s@sha256:" + "a" * 64, "lowercase"),
])
def test_bad_references_name_the_option(run_module, tmp_path, reference, needle):
    result = run_module("blob_fetch", dict(reference=reference, dest=str(tmp_path / "k0s")), expect_fail=True)
    assert "option reference" in result["msg"] and needle in result["msg"]


def test_dest_is_directory_or_missing_dir(run_module, artifact, tmp_path):
    result = run_module("blob_fetch", dict(reference=artifact["url"], dest=str(tmp_path)), expect_fail=True)
    assert "option dest" in result["msg"] and "directory" in result["msg"]
    result = run_module("blob_fetch", dict(reference=artifact["url"], dest=str(tmp_path / "no" / "k0s")),
                        expect_fail=True)
    assert "does not exist" in result["msg"]


@pytest.mark.parametrize("present", [True, False], ids=["target-matches", "target-missing"])
def test_symlinked_dest_reports_the_blob_and_modes_the_target(run_module, artifact, tmp_path, present):
    """A symlinked dest: size is the blob's, state is not 'link', mode lands on the link's target, the link stays."""
    target = tmp_path / "k0s-v1"
    if present:
        target.write_bytes(open(artifact["src"], "rb").read())
        target.chmod(0o644)
    link = tmp_path / "k0s"
    link.symlink_to(target.name)
    result = run_module("blob_fetch", dict(reference=artifact["url"], dest=str(link), plain_http=True, mode="0755"),
                        expect_fail=False)
    assert result["size"] == os.path.getsize(artifact["src"])
    assert result["state"] == "file" and result["mode"] == "0755" and result["dest"] == str(link)
    assert result["downloaded"] is (not present)
    assert link.is_symlink() and sha(str(target)) == artifact["digest"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o755
