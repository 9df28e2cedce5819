"""artifact_push / artifact_info against a real registry, checked by the real ORAS CLI both ways."""
import hashlib
import json
import os
import subprocess

import pytest


def sha256(path):
    with open(path, "rb") as f:
        return "sha256:" + hashlib.sha256(f.read()).hexdigest()


@pytest.fixture()
def k0s_file(tmp_path):
    path = tmp_path / "k0s"
    path.write_bytes(os.urandom(2 * 1024 * 1024 + 17))
    return str(path)


def oras_run(oras, env, *args):
    proc = subprocess.run([oras] + list(args), capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_push_then_oras_reads_same_bytes(registry, run_module, oras, oras_env, k0s_file, tmp_path):
    ref = registry.host + "/interop/k0s:v1.34.1-k0s.0"
    pushed = run_module("artifact_push", dict(reference=ref, files=[k0s_file], plain_http=True,
                                              annotations={"k0s": {"arch": "amd64"}}), expect_fail=False)
    assert pushed["changed"] is True
    assert pushed["layers"][0]["digest"] == sha256(k0s_file)
    assert pushed["download_url"] == "oci://%s/interop/k0s@%s" % (registry.host, sha256(k0s_file))
    assert pushed["download_urls"] == {"k0s": pushed["download_url"]}

    raw = oras_run(oras, oras_env, "manifest", "fetch", "--plain-http", ref)
    manifest = json.loads(raw)
    assert "sha256:" + hashlib.sha256(raw.encode()).hexdigest() == pushed["manifest_digest"]
    assert manifest["artifactType"] == "application/vnd.unknown.artifact.v1"
    assert manifest["config"]["digest"] == "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    layer = manifest["layers"][0]
    assert layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar"
    assert layer["annotations"] == {"arch": "amd64", "org.opencontainers.image.title": "k0s"}
    assert "org.opencontainers.image.created" in manifest["annotations"]

    out = tmp_path / "fetched"
    oras_run(oras, oras_env, "blob", "fetch", "--plain-http", "--output", str(out),
             "%s/interop/k0s@%s" % (registry.host, layer["digest"]))
    assert out.read_bytes() == open(k0s_file, "rb").read()
    # oras pull (the whole artifact) restores the file under its title.
    pulled = tmp_path / "pulled"
    oras_run(oras, oras_env, "pull", "--plain-http", "-o", str(pulled), ref)
    assert (pulled / "k0s").read_bytes() == open(k0s_file, "rb").read()


def test_oras_push_then_artifact_info_and_byte_identical_manifest(registry, run_module, oras, oras_env, k0s_file,
                                                                  tmp_path):
    annotations = tmp_path / "annotations.json"
    annotations.write_text(json.dumps({"k0s": {"arch": "amd64"}}))
    ref = registry.host + "/from-oras/k0s:v1.34.1-k0s.0"
    workdir = os.path.dirname(k0s_file)
    proc = subprocess.run([oras, "push", "--plain-http", ref, "k0s", "--annotation-file", str(annotations)],
                          capture_output=True, text=True, env=oras_env, cwd=workdir, check=False)
    assert proc.returncode == 0, proc.stderr
    raw = oras_run(oras, oras_env, "manifest", "fetch", "--plain-http", ref)
    oras_manifest = json.loads(raw)
    oras_manifest_digest = "sha256:" + hashlib.sha256(raw.encode()).hexdigest()
    assert oras_manifest_digest in proc.stdout  # what oras reports

    info = run_module("artifact_info", dict(reference=ref, plain_http=True), expect_fail=False)
    assert info["changed"] is False
    assert info["blob_digest"] == oras_manifest["layers"][0]["digest"] == sha256(k0s_file)
    assert info["manifest_digest"] == oras_manifest_digest
    assert info["blob_digest"] != info["manifest_digest"]
    assert info["title"] == "k0s"
    assert info["download_url"] == "oci://%s/from-oras/k0s@%s" % (registry.host, sha256(k0s_file))

    # Same file, same annotations, same 'created': the module writes exactly oras' bytes.
    created = oras_manifest["annotations"]["org.opencontainers.image.created"]
    ours = run_module("artifact_push", dict(
        reference=registry.host + "/from-oras/k0s:module-copy", files=[k0s_file], plain_http=True,
        annotation_file=str(annotations),
        annotations={"$manifest": {"org.opencontainers.image.created": created}}), expect_fail=False)
    assert ours["manifest_digest"] == oras_manifest_digest
    assert ours["uploaded_bytes"] == 0  # the blobs were already there (HEAD)


def test_idempotent_check_real_check_real(registry, run_module, oras, oras_env, k0s_file):
    ref = registry.host + "/idem/k0s:v1"
    args = dict(reference=ref, files=[k0s_file], plain_http=True, annotations={"k0s": {"arch": "amd64"}})
    first_check = run_module("artifact_push", args, check=True, diff=True, expect_fail=False)
    assert first_check["changed"] is True
    assert first_check["uploaded_bytes"] == 0
    assert first_check["diff"]["before"]["manifest_digest"] is None
    missing = subprocess.run([oras, "manifest", "fetch", "--plain-http", ref], capture_output=True, env=oras_env, check=False)
    assert missing.returncode != 0, "check mode must not push"

    real = run_module("artifact_push", args, diff=True, expect_fail=False)
    assert real["changed"] is True and real["uploaded_bytes"] == os.path.getsize(k0s_file)
    second_check = run_module("artifact_push", args, check=True, expect_fail=False)
    assert second_check["changed"] is False
    again = run_module("artifact_push", args, diff=True, expect_fail=False)
    assert again["changed"] is False
    assert again["uploaded_bytes"] == 0
    assert again["manifest_digest"] == real["manifest_digest"]
    assert again["diff"]["before"] == again["diff"]["after"]

    # A changed annotation is a change (new manifest, no blob upload).
    changed = run_module("artifact_push", dict(args, annotations={"k0s": {"arch": "arm64"}}), expect_fail=False)
    assert changed["changed"] is True and changed["uploaded_bytes"] == 0
    assert changed["manifest_digest"] != real["manifest_digest"]


def test_multi_file_needs_title_and_known_digest_is_enforced(registry, run_module, tmp_path):
    a, b = tmp_path / "k0s", tmp_path / "k0s.sig"
    a.write_bytes(b"binary")
    b.write_bytes(b"signature")
    ref = registry.host + "/multi/k0s:v1"
    pushed = run_module("artifact_push", dict(reference=ref, files=[str(a), str(b)], plain_http=True,
                                              digests={"k0s": sha256(str(a))}), expect_fail=False)
    assert [layer["title"] for layer in pushed["layers"]] == ["k0s", "k0s.sig"]
    info = run_module("artifact_info", dict(reference=ref, plain_http=True), expect_fail=True)
    assert "title" in info["msg"] and "'k0s.sig'" in info["msg"]
    info = run_module("artifact_info", dict(reference=ref, plain_http=True, title="k0s.sig"), expect_fail=False)
    assert info["blob_digest"] == sha256(str(b))

    c = tmp_path / "other" / "k0s"
    c.parent.mkdir()
    c.write_bytes(b"tampered binary")
    wrong = run_module("artifact_push", dict(reference=registry.host + "/multi/k0s:v2", files=[str(c)],
                                             plain_http=True, digests={"k0s": sha256(str(a))}, digest_cache=False),
                       expect_fail=True)
    assert "does not match" in wrong["msg"] and "multi" in wrong["msg"]


def test_multi_arch_index_resolves_per_platform(registry, run_module, tmp_path):
    files = {}
    for arch in ("amd64", "arm64"):
        d = tmp_path / arch
        d.mkdir()
        (d / "k0s").write_bytes(("k0s for %s" % arch).encode())
        files[arch] = str(d / "k0s")
        run_module("artifact_push", dict(reference="%s/multiarch/k0s:v1-%s" % (registry.host, arch), files=[files[arch]],
                                         plain_http=True), expect_fail=False)
    args = dict(reference=registry.host + "/multiarch/k0s:v1", plain_http=True,
                manifests=[{"tag": "v1-amd64", "platform": "linux/amd64"}, {"tag": "v1-arm64", "platform": "linux/arm64"}])
    first = run_module("index_push", args, expect_fail=False)
    assert first["changed"] is True
    assert run_module("index_push", args, expect_fail=False)["changed"] is False
    for arch in ("amd64", "arm64"):
        info = run_module("artifact_info", dict(reference=registry.host + "/multiarch/k0s:v1", plain_http=True,
                                                platform="linux/" + arch), expect_fail=False)
        assert info["blob_digest"] == sha256(files[arch])
        assert info["index_digest"] == first["index_digest"]
    ambiguous = run_module("artifact_info", dict(reference=registry.host + "/multiarch/k0s:v1", plain_http=True),
                           expect_fail=True)
    assert "platform" in ambiguous["msg"] and "linux/arm64" in ambiguous["msg"]
