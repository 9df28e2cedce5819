# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
#
# This module util is PRIVATE to the collection. It can change at any time without notice.
"""Release checksum lists (``sha256sum`` output): the one parser every role and module uses.

k0s publishes ``sha256sums.txt`` with lines ``<hex> *<asset>`` (binary-mode marker), ORAS publishes
``oras_<ver>_checksums.txt`` with ``<hex>  <asset>``. Both are read the same way.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

_LINE = re.compile(r"([0-9a-fA-F]{64})[ \t]+\*?([^\s]+)")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class ChecksumError(ValueError):
    """A checksum list or a single checksum is unusable; the message says what is wrong."""


def parse_checksums(text):
    """``{asset name: lowercase sha256 hex}`` from a checksum list. Blank lines and ``#`` comments are
    skipped; any other line that is not ``<64 hex> [*]<name>`` is an error (a truncated download or an
    HTML error page must not pass as an empty list). A name listed twice with different sums is an error."""
    sums = {}
    for number, line in enumerate((text or "").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.fullmatch(line)
        if not match:
            raise ChecksumError("line %d is not '<sha256 hex> <file name>': %r" % (number, line[:80]))
        hexsum, name = match.group(1).lower(), match.group(2)
        if sums.get(name, hexsum) != hexsum:
            raise ChecksumError("%s is listed twice with different checksums" % name)
        sums[name] = hexsum
    return sums


def is_sha256_hex(value):
    """True for exactly 64 lowercase hex digits (no prefix, no trailing newline)."""
    return isinstance(value, str) and _SHA256_HEX.fullmatch(value) is not None
