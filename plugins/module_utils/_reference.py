# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
#
# This module util is PRIVATE to the collection. It can change at any time without notice.
"""Parse and validate OCI references (REGISTRY/REPO[:TAG][@sha256:HEX]) and oci:// download URLs.

Pure functions: no network, no AnsibleModule, so filters, lookups and modules share them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

DOWNLOAD_SCHEME = "oci://"

# Full-match patterns only (re.fullmatch): "$" would also accept a trailing newline.
_HOST_RE = re.compile(r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]{1,5})?"
                      r"|\[[0-9a-fA-F:.]+\](?::[0-9]{1,5})?")
_COMPONENT_RE = re.compile(r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*")
_TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST_RE = re.compile(r"sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128}")
_HEX_RE = re.compile(r"[a-fA-F0-9]*")
_DIGEST_LENGTHS = {"sha256": 64, "sha512": 128}


class ReferenceError(ValueError):
    """A reference or download URL that cannot be used; the message says what to do."""


def is_registry_host(text):
    """``host[:port]`` as the first component of a reference: a name with a dot or a port, ``localhost``, or an
    IPv6 address in brackets (a bare word would be read as a Docker Hub repository)."""
    return (isinstance(text, str) and _HOST_RE.fullmatch(text) is not None
            and ("." in text or ":" in text or text == "localhost" or text.startswith("[")))


def validate_digest(digest, what="digest"):
    """Return ``digest`` if it is ``sha256:<64 lowercase hex>`` (or sha512), else raise ReferenceError."""
    if not isinstance(digest, str) or ":" not in digest:
        raise ReferenceError("%s %r is not a digest: expected sha256:<64 hex characters>" % (what, digest))
    algorithm, hexpart = digest.split(":", 1)
    if algorithm not in _DIGEST_LENGTHS:
        raise ReferenceError("%s %r uses algorithm %r: expected sha256:<64 hex characters>" % (what, digest, algorithm))
    want = _DIGEST_LENGTHS[algorithm]
    if len(hexpart) != want:
        raise ReferenceError("%s %r has %d characters after '%s:', expected %d hex characters"
                             % (what, digest, len(hexpart), algorithm, want))
    if not _HEX_RE.fullmatch(hexpart):
        raise ReferenceError("%s %r has non-hex characters after '%s:'" % (what, digest, algorithm))
    if hexpart != hexpart.lower():
        raise ReferenceError("%s %r must be lowercase hex" % (what, digest))
    return digest


def is_digest(text):
    """True for ``sha256:<64 lowercase hex>`` or ``sha512:<128 lowercase hex>``, nothing else."""
    return isinstance(text, str) and _DIGEST_RE.fullmatch(text) is not None


def is_tag(text):
    return isinstance(text, str) and _TAG_RE.fullmatch(text) is not None


def k0s_tag(version):
    """``v1.34.1+k0s.0`` -> ``v1.34.1-k0s.0``: registries do not accept ``+`` in tags."""
    if not isinstance(version, str) or not version:
        raise ReferenceError("k0s version must be a non-empty string such as v1.34.1+k0s.0, got %r" % (version,))
    tag = version.replace("+", "-")
    if not _TAG_RE.fullmatch(tag):
        raise ReferenceError("k0s version %r does not give a valid tag (%r): letters, digits, '_', '.', '-' only"
                             % (version, tag))
    return tag


class Reference:
    """An OCI reference: ``registry`` (host[:port]), ``repository``, optional ``tag`` and ``digest``."""

    def __init__(self, registry, repository, tag=None, digest=None):
        self.registry = registry
        self.repository = repository
        self.tag = tag
        self.digest = digest

    def __repr__(self):
        return "Reference(%r)" % str(self)

    def __str__(self):
        out = "%s/%s" % (self.registry, self.repository)
        if self.tag:
            out += ":" + self.tag
        if self.digest:
            out += "@" + self.digest
        return out

    def __eq__(self, other):
        return isinstance(other, Reference) and str(self) == str(other)

    def __hash__(self):
        return hash(str(self))

    @property
    def name(self):
        """``registry/repository`` without tag or digest."""
        return "%s/%s" % (self.registry, self.repository)

    def download_url(self, digest=None):
        """``oci://REGISTRY/REPO@sha256:HEX`` for a blob digest (what k0smotron's downloadURL takes)."""
        return make_download_url(self.name, digest or self.digest)

    @classmethod
    def parse(cls, text, option="reference", require_tag=False, require_digest=False, allow_scheme=False):
        """Parse ``REGISTRY/REPO[:TAG][@DIGEST]``. ``option`` names the option in error messages."""
        if not isinstance(text, str) or not text.strip():
            raise ReferenceError("option %s: empty reference; expected REGISTRY/REPOSITORY:TAG, e.g. "
                                 "registry.example.com/k0s/k0s:v1.34.1-k0s.0" % option)
        original = text
        text = text.strip()
        if "://" in text:
            scheme = text.split("://", 1)[0]
            if "/" in scheme or not scheme:
                raise ReferenceError("option %s: %r has '://' in the middle; a scheme can only come first, and oci:// "
                                     "belongs only in a download URL (oci://REGISTRY/REPOSITORY@sha256:<64 hex>); "
                                     "give REGISTRY/REPOSITORY:TAG here" % (option, original))
            if allow_scheme and text.startswith(DOWNLOAD_SCHEME):
                text = text[len(DOWNLOAD_SCHEME):]
            elif scheme == "oci":
                raise ReferenceError("option %s: %r starts with oci://, which belongs only in a download URL "
                                     "(K0sControlPlane downloadURL); give REGISTRY/REPOSITORY:TAG here"
                                     % (option, original))
            else:
                raise ReferenceError("option %s: %r has a %s:// scheme; give REGISTRY/REPOSITORY:TAG without "
                                     "a scheme (use plain_http for HTTP registries)" % (option, original, scheme))
        if "/" not in text:
            raise ReferenceError("option %s: %r has no registry host; expected REGISTRY/REPOSITORY[:TAG], "
                                 "e.g. registry.example.com/%s" % (option, original, text))
        registry, rest = text.split("/", 1)
        if not is_registry_host(registry):
            raise ReferenceError("option %s: %r does not start with a registry host (a name with a dot or a "
                                 "port, or localhost), e.g. registry.example.com/%s" % (option, original, text))
        digest = None
        if "@" in rest:
            rest, digest = rest.split("@", 1)
            validate_digest(digest, "option %s: digest" % option)
        tag = None
        last = rest.rsplit("/", 1)[-1]
        if ":" in last:
            rest, tag = rest.rsplit(":", 1)
            if "+" in tag:
                raise ReferenceError("option %s: tag %r contains '+', which registries reject; use %r "
                                     "(the k0smotron.oci.k0s_tag filter does this)" % (option, tag, tag.replace("+", "-")))
            if not _TAG_RE.fullmatch(tag):
                raise ReferenceError("option %s: tag %r is invalid: up to 128 characters of letters, digits, "
                                     "'_', '.' and '-', not starting with '.' or '-'" % (option, tag))
        if not rest:
            raise ReferenceError("option %s: %r has no repository after the registry host" % (option, original))
        for component in rest.split("/"):
            if not _COMPONENT_RE.fullmatch(component):
                hint = " (repository names must be lowercase)" if component.lower() != component else ""
                raise ReferenceError("option %s: repository %r is invalid at %r%s: use lowercase letters, digits "
                                     "and single separators '.', '_', '__', '-' between '/' components"
                                     % (option, rest, component, hint))
        if len(registry) + 1 + len(rest) > 255:
            raise ReferenceError("option %s: repository name %r is longer than 255 characters" % (option, rest))
        if require_tag and not tag and not digest:
            raise ReferenceError("option %s: %r has no tag; expected REGISTRY/REPOSITORY:TAG, e.g. %s:v1.34.1-k0s.0"
                                 % (option, original, text))
        if require_digest and not digest:
            raise ReferenceError("option %s: %r has no digest; expected REGISTRY/REPOSITORY@sha256:<64 hex>"
                                 % (option, original))
        return cls(registry, rest, tag, digest)


def make_download_url(name, digest):
    """``oci://NAME@DIGEST`` after validating both (NAME = REGISTRY/REPOSITORY, no tag)."""
    ref = Reference.parse(name, option="repository", allow_scheme=True)
    if ref.digest or ref.tag:
        raise ReferenceError("repository %r must not carry a tag or digest when building a download URL" % name)
    validate_digest(digest, "blob digest")
    return "%s%s@%s" % (DOWNLOAD_SCHEME, ref.name, digest)


def parse_download_url(url, option="download URL"):
    """Parse ``oci://REGISTRY/REPO@sha256:HEX`` (k0smotron's downloadURL contract)."""
    if not isinstance(url, str) or not url.startswith(DOWNLOAD_SCHEME):
        raise ReferenceError("%s %r must start with oci:// and name a blob by digest: "
                             "oci://REGISTRY/REPOSITORY@sha256:<64 hex>" % (option, url))
    ref = Reference.parse(url, option=option, allow_scheme=True)
    if not ref.digest:
        raise ReferenceError("%s %r names no digest: k0smotron fetches a blob by digest, "
                             "oci://REGISTRY/REPOSITORY@sha256:<64 hex> (a tag is not enough)" % (option, url))
    if ref.tag:
        raise ReferenceError("%s %r carries a tag and a digest; k0smotron passes the whole path to "
                             "'oras blob fetch', so drop the tag: %s" % (option, url, ref.download_url()))
    return ref
