# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.k0smotron.oci.plugins.module_utils._checksums import (
    ChecksumError,
    is_sha256_hex,
    parse_checksums,
)

A = "a" * 64
B = "B" * 64


@pytest.mark.parametrize("text, expected", [
    ("%s *k0s-v1.34.1+k0s.0-amd64\n" % A, {"k0s-v1.34.1+k0s.0-amd64": A}),
    ("%s  oras_1.3.0_linux_arm64.tar.gz\n\n# comment\n" % A, {"oras_1.3.0_linux_arm64.tar.gz": A}),
    ("%s  x\n%s  y\n" % (A, B), {"x": A, "y": B.lower()}),
    ("%s  x\n%s  x\n" % (A, A), {"x": A}),
    ("", {}),
])
def test_parse_checksums(text, expected):
    assert parse_checksums(text) == expected


@pytest.mark.parametrize("text, message", [
    ("<html>Not Found</html>\n", "line 1"),
    ("%s\n" % A, "line 1"),
    ("%s  x y\n" % A, "line 1"),
    ("%s  x\n" % A[:63], "line 1"),
    ("%s  x\n%s  x\n" % (A, B), "listed twice"),
])
def test_parse_checksums_rejects(text, message):
    with pytest.raises(ChecksumError, match=message):
        parse_checksums(text)


@pytest.mark.parametrize("value, expected", [
    (A, True), (A + "\n", False), (B, False), (A[:63], False), (None, False), ("sha256:" + A, False),
])
def test_is_sha256_hex(value, expected):
    assert is_sha256_hex(value) is expected
