# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.k0smotron.oci.plugins.module_utils._reference import (
    Reference,
    ReferenceError,
    k0s_tag,
    make_download_url,
    parse_download_url,
    validate_digest,
)

HEX = "a" * 64


@pytest.mark.parametrize("text,registry,repository,tag,digest", [
    ("example.com/my-repo/k0s:v1.34.1-k0s.0", "example.com", "my-repo/k0s", "v1.34.1-k0s.0", None),
    ("127.0.0.1:5000/k0s", "127.0.0.1:5000", "k0s", None, None),
    ("localhost/a/b/c:latest", "localhost", "a/b/c", "latest", None),
    ("ghcr.io/org/k0s@sha256:" + HEX, "ghcr.io", "org/k0s", None, "sha256:" + HEX),
    ("ghcr.io/org/k0s:v1@sha256:" + HEX, "ghcr.io", "org/k0s", "v1", "sha256:" + HEX),
    ("registry.example.com:8443/a.b/c__d-e:tag_1.2", "registry.example.com:8443", "a.b/c__d-e", "tag_1.2", None),
    ("[::1]:5000/k0s:v1", "[::1]:5000", "k0s", "v1", None),
])
def test_parse_valid(text, registry, repository, tag, digest):
    ref = Reference.parse(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (registry, repository, tag, digest)
    assert str(ref) == text


@pytest.mark.parametrize("text,needle", [
    ("", "empty reference"),
    ("oci://example.com/k0s:v1", "belongs only in a download URL"),
    ("https://example.com/k0s:v1", "https:// scheme"),
    ("k0s:v1", "no registry host"),
    ("my-repo/k0s:v1", "does not start with a registry host"),
    ("example.com/My-Repo/k0s:v1", "must be lowercase"),
    ("example.com/k0s:v1.34.1+k0s.0", "contains '+'"),
    ("example.com/k0s:-bad", "tag '-bad' is invalid"),
    ("example.com/k0s@sha256:abc", "expected 64"),
    ("example.com/k0s@md5:" + HEX, "algorithm 'md5'"),
    ("example.com/k0s@sha256:" + "A" * 64, "lowercase"),
    ("example.com/k0s@sha256:" + "g" * 64, "non-hex"),
    ("example.com/", "no repository"),
    ("example.com/a//b:v1", "invalid"),
])
def test_parse_errors_name_the_option_and_fix(text, needle):
    with pytest.raises(ReferenceError) as e:
        Reference.parse(text, option="reference")
    assert needle in str(e.value)
    assert "option reference" in str(e.value) or "digest" in str(e.value)


def test_require_tag_and_digest():
    with pytest.raises(ReferenceError, match="has no tag"):
        Reference.parse("example.com/k0s", require_tag=True)
    with pytest.raises(ReferenceError, match="has no digest"):
        Reference.parse("example.com/k0s:v1", require_digest=True)
    assert Reference.parse("example.com/k0s@sha256:" + HEX, require_tag=True).digest


@pytest.mark.parametrize("version,tag", [
    ("v1.34.1+k0s.0", "v1.34.1-k0s.0"),
    ("v1.36.3+k0s.2", "v1.36.3-k0s.2"),
    ("v1.37.0-alpha.1+k0s.0", "v1.37.0-alpha.1-k0s.0"),
    ("latest", "latest"),
])
def test_k0s_tag(version, tag):
    assert k0s_tag(version) == tag


@pytest.mark.parametrize("bad", ["", None, "v1 2", ".v1"])
def test_k0s_tag_rejects(bad):
    with pytest.raises(ReferenceError):
        k0s_tag(bad)


def test_download_url_roundtrip():
    url = make_download_url("example.com/my-repo/k0s", "sha256:" + HEX)
    assert url == "oci://example.com/my-repo/k0s@sha256:" + HEX
    ref = parse_download_url(url)
    assert (ref.registry, ref.repository, ref.digest) == ("example.com", "my-repo/k0s", "sha256:" + HEX)
    assert str(ref) == "example.com/my-repo/k0s@sha256:" + HEX


@pytest.mark.parametrize("url,needle", [
    ("example.com/k0s@sha256:" + HEX, "must start with oci://"),
    ("oci://example.com/k0s:v1", "names no digest"),
    ("oci://example.com/k0s:v1@sha256:" + HEX, "drop the tag"),
    ("oci://example.com/k0s@sha256:abcdefg123456789", "expected 64"),
    (None, "must start with oci://"),
])
def test_parse_download_url_errors(url, needle):
    with pytest.raises(ReferenceError) as e:
        parse_download_url(url)
    assert needle in str(e.value)


def test_validate_digest_accepts_sha512():
    assert validate_digest("sha512:" + "b" * 128)


@pytest.mark.parametrize("text", [
    "reg.example.com/repo:v1\n@sha256:" + HEX,
    "reg.example.com/repo\n:v1",
    "reg.example.com/a\n/b:v1",
    "reg.example.com\n/repo:v1",
])
def test_trailing_newline_inside_a_reference_is_refused(text):
    with pytest.raises(ReferenceError):
        Reference.parse(text)


def test_k0s_tag_refuses_a_trailing_newline():
    with pytest.raises(ReferenceError):
        k0s_tag("v1.34.1+k0s.0\n")
