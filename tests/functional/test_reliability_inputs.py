"""Bad input gives one clear error naming the option (or what to fix) and changes nothing.

Complements test_blob_fetch.py (blob_fetch references, dest) and test_registry_auth.py (empty password on
push, unknown CA on artifact_info, plain_http mismatches). "Unreadable config.json": the suite runs as
root, and root reads a chmod 000 file anyway, so unreadable is made the ways root cannot read through:
a directory at the path, a file that is not JSON, JSON that is not an object, a broken base64 'auth'.
"""
import json
import os
import urllib.error
import urllib.request

import pytest

from tests.harness.mirror import Mirror

A64 = "a" * 64


def tag_exists(host, repository, tag):
    req = urllib.request.Request("http://%s/v2/%s/manifests/%s" % (host, repository, tag), method="HEAD")
    req.add_header("Accept", "application/vnd.oci.image.manifest.v1+json")
    try:
        with urllib.request.urlopen(req, timeout=10):
            return True
    except urllib.error.HTTPError as e:
        assert e.code == 404
        return False


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("inputs")
    (d / "k0s").write_bytes(b"\x7fELF not really k0s" * 100)
    (d / "adir").mkdir()
    (d / "config-dir" / "config.json").mkdir(parents=True)
    (d / "not-json.json").write_text('{"auths": {')
    (d / "list.json").write_text("[1, 2]")
    return d


BAD_REFERENCES = [
    ("oci://{h}/inputs/k0s:v1", "starts with oci://"),
    ("{h}/oci://inputs/k0s:v1", "'://' in the middle"),
    ("{h}/inputs/k0s", "has no tag"),
    ("{h}/Inputs/K0s:v1", "must be lowercase"),
    ("{h}/inputs/k0s:v1@sha256:abcd", "expected 64"),
    ("{h}/inputs/k0s:v1@sha256:" + A64, "carries a digest"),
    ("{h}/inputs/k0s:v1.34.1+k0s.0", "contains '+'"),
    ("inputs/k0s:v1", "registry host"),
    ("https://{h}/inputs/k0s:v1", "scheme"),
    ("", "empty reference"),
]


@pytest.mark.parametrize("reference,needle", BAD_REFERENCES, ids=[n for _r, n in BAD_REFERENCES])
def test_push_bad_reference(registry, run_module, files, reference, needle):
    ref = reference.format(h=registry.host)
    result = run_module("artifact_push", dict(reference=ref, files=[str(files / "k0s")], plain_http=True),
                        expect_fail=True)
    assert "option reference" in result["msg"] and needle in result["msg"], result["msg"]
    assert not tag_exists(registry.host, "inputs/k0s", "v1")


@pytest.mark.parametrize("module,reference,needle", [
    # artifact_info takes an oci:// download URL (to check its digest), which must name a blob by digest
    ("artifact_info", "oci://{h}/inputs/k0s:v1", "names no digest"),
    ("artifact_info", "{h}/inputs/k0s@sha256:" + "a" * 63, "expected 64"),
    ("artifact_info", "{h}/inputs/k0s", "neither a tag nor a digest"),
    ("artifact_info", "{h}/Inputs/k0s:v1", "lowercase"),
    ("index_push", "oci://{h}/inputs/k0s:idx", "starts with oci://"),
    ("index_push", "{h}/inputs/k0s", "has no tag"),
    ("blob_fetch", "{h}/oci://inputs/k0s@sha256:" + A64, "'://' in the middle"),
    ("blob_fetch", "oci://{h}/inputs/k0s@sha256:" + "A" * 64, "lowercase"),
])
def test_other_modules_bad_reference(registry, run_module, tmp_path, module, reference, needle):
    args = dict(reference=reference.format(h=registry.host), plain_http=True)
    if module == "index_push":
        args["manifests"] = [{"tag": "v1", "platform": "linux/amd64"}]
    if module == "blob_fetch":
        args["dest"] = str(tmp_path / "k0s")
    result = run_module(module, args, expect_fail=True)
    assert "option reference" in result["msg"] and needle in result["msg"], result["msg"]
    assert os.listdir(str(tmp_path)) == []


@pytest.mark.parametrize("case,needle", [
    ("missing", "does not exist"),
    ("directory", "is a directory"),
    ("duplicate", "same base name"),
    ("none", "at least one file"),
])
def test_push_bad_files(registry, run_module, files, tmp_path, case, needle):
    other = tmp_path / "k0s"
    other.write_bytes(b"another k0s")
    paths = {"missing": [str(files / "no-such-k0s")], "directory": [str(files / "adir")],
             "duplicate": [str(files / "k0s"), str(other)], "none": []}[case]
    result = run_module("artifact_push", dict(reference=registry.host + "/inputs/files:v1", files=paths,
                                              plain_http=True), expect_fail=True)
    assert "option files" in result["msg"] and needle in result["msg"], result["msg"]
    assert not tag_exists(registry.host, "inputs/files", "v1")


@pytest.mark.parametrize("args,needle", [
    (dict(digests={"k0s": "sha256:abc"}), "option digests[k0s]"),
    (dict(digests={"other": "sha256:" + A64}), "option digests"),
    (dict(annotations={"nofile": {"a": "b"}}), "option annotations"),
    (dict(annotations={"k0s": {"a": 1}}), "option annotations"),
    (dict(annotation_file="/nonexistent/annotations.json"), "option annotation_file"),
    (dict(platform="linux"), "platform"),
])
def test_push_bad_options(registry, run_module, files, args, needle):
    full = dict(reference=registry.host + "/inputs/options:v1", files=[str(files / "k0s")], plain_http=True)
    full.update(args)
    result = run_module("artifact_push", full, expect_fail=True)
    assert needle in result["msg"], result["msg"]
    assert not tag_exists(registry.host, "inputs/options", "v1")


@pytest.mark.parametrize("config,needle", [
    ("config-dir/config.json", "Is a directory"),
    ("not-json.json", "is not valid JSON"),
    ("list.json", "must hold a JSON object"),
    ("missing/config.json", "No such file"),
    ("bad-auth.json", "not base64"),
])
def test_unreadable_docker_config(registry, run_module, files, config, needle):
    if config == "bad-auth.json":
        (files / config).write_text(json.dumps({"auths": {registry.host: {"auth": "!!not base64!!"}}}))
    path = str(files / config)
    for module, extra in (("artifact_push", dict(files=[str(files / "k0s")])), ("artifact_info", {})):
        args = dict(reference=registry.host + "/inputs/config:v1", plain_http=True, config_path=path)
        args.update(extra)
        result = run_module(module, args, expect_fail=True)
        assert needle in result["msg"] and path in result["msg"], result["msg"]
        assert "config_path" in result["msg"] or needle == "not base64", result["msg"]
    assert not tag_exists(registry.host, "inputs/config", "v1")


@pytest.mark.parametrize("module", ["artifact_info", "blob_fetch", "index_push"])
@pytest.mark.parametrize("username,password,option", [("k0s-ci", "", "option password"),
                                                      ("", "a-long-secret", "option username")])
def test_empty_credentials(registry, run_module, tmp_path, module, username, password, option):
    args = dict(plain_http=True, username=username, password=password)
    if module == "blob_fetch":
        args.update(reference="oci://%s/inputs/k0s@sha256:%s" % (registry.host, A64), dest=str(tmp_path / "k0s"))
    else:
        args["reference"] = registry.host + "/inputs/creds:v1"
    if module == "index_push":
        args["manifests"] = [{"tag": "v1", "platform": "linux/amd64"}]
    result = run_module(module, args, expect_fail=True)
    assert option in result["msg"] and "empty" in result["msg"], result["msg"]
    assert os.listdir(str(tmp_path)) == []


@pytest.fixture(scope="module")
def not_a_registry(tmp_path_factory):
    """A plain web server: 404 HTML for /v2/..., 501 for POST."""
    root = tmp_path_factory.mktemp("not-a-registry")
    (root / "index.html").write_text("<html><body>hello</body></html>")
    with Mirror(str(root)) as m:
        yield m.url.split("://", 1)[1]


@pytest.mark.parametrize("module", ["artifact_push", "artifact_info", "blob_fetch", "index_push"])
def test_not_a_registry(not_a_registry, run_module, files, tmp_path, module):
    args = dict(plain_http=True, retries=0, reference=not_a_registry + "/inputs/k0s:v1")
    if module == "artifact_push":
        args["files"] = [str(files / "k0s")]
    elif module == "blob_fetch":
        args.update(reference="oci://%s/inputs/k0s@sha256:%s" % (not_a_registry, A64), dest=str(tmp_path / "k0s"))
    elif module == "index_push":
        args["manifests"] = [{"tag": "v1", "platform": "linux/amd64"}]
    result = run_module(module, args, expect_fail=True)
    assert "is %s an OCI registry" % not_a_registry in result["msg"], result["msg"]
    assert os.listdir(str(tmp_path)) == []


@pytest.mark.parametrize("module", ["artifact_push", "blob_fetch", "index_push"])
def test_unknown_ca_with_validate_certs(auth_registry, run_module, files, tmp_path, module):
    """A certificate from a CA the system does not trust, validate_certs on (the default)."""
    args = dict(reference=auth_registry.host + "/inputs/k0s:v1", retries=0, username="k0s-ci", password="whatever-pw")
    if module == "artifact_push":
        args["files"] = [str(files / "k0s")]
    elif module == "blob_fetch":
        args.update(reference="oci://%s/inputs/k0s@sha256:%s" % (auth_registry.host, A64), dest=str(tmp_path / "k0s"))
    else:
        args["manifests"] = [{"tag": "v1", "platform": "linux/amd64"}]
    result = run_module(module, args, expect_fail=True)
    assert "TLS certificate" in result["msg"] and "ca_path" in result["msg"] and "validate_certs" in result["msg"]
    assert auth_registry.host in result["msg"]
    assert os.listdir(str(tmp_path)) == []
