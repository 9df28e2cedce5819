# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
#
# This module util is PRIVATE to the collection. It can change at any time without notice.
"""The registry client's errors: one family, each carrying the HTTP status and the registry's error codes.

``str()`` of every error names the registry and repository and never holds a secret or a header value.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json


class RegistryError(Exception):
    """Base error. ``status``: the HTTP status that caused it (or None); ``codes``: the registry's error
    codes from its ``{"errors": [{"code": ...}]}`` body, in order (e.g. ``["MANIFEST_UNKNOWN"]``)."""

    def __init__(self, message, status=None, codes=None):
        Exception.__init__(self, message)
        self.status = status
        self.codes = list(codes or [])


class RegistryAuthError(RegistryError):
    pass


class RegistryNotFoundError(RegistryError):
    pass


class RegistryDigestError(RegistryError):
    pass


class RegistryLimitError(RegistryError):
    """An answer larger than the client accepts (manifest, token, blob beyond its size)."""


class RegistryConnectionError(RegistryError):
    """The network or the registry failed, and retrying (``retries``) did not help."""

    def __init__(self, message, retry_after=None, status=None, codes=None):
        RegistryError.__init__(self, message, status, codes)
        self.retry_after = retry_after


class RegistryStreamRefused(RegistryError):
    """The registry does not take a whole blob in one streamed PATCH (some cap chunk sizes or want a
    monolithic PUT): the caller falls back to hashing first and a monolithic PUT."""


class LocalWriteError(RegistryError):
    """Writing what the registry sent failed on this machine (full disk, quota): never retried."""


class Transient(Exception):
    """Internal: one attempt failed in a way worth retrying. The retry policy turns the last one into
    ``give_up`` (default RegistryConnectionError) with the attempt count."""

    def __init__(self, message, retry_after=None, status=None, codes=None, give_up=None):
        Exception.__init__(self, message)
        self.retry_after = retry_after
        self.status = status
        self.codes = list(codes or [])
        self.give_up = give_up or RegistryConnectionError


def json_document(data):
    """The JSON value in ``data`` (UTF-8 bytes), or None when it is not UTF-8 JSON. Nesting too deep for
    Python's parser counts as not JSON: a registry's answer must never crash the module (RecursionError)."""
    try:
        return json.loads(data.decode("utf-8"))
    except (ValueError, AttributeError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None


def _errors(body):
    doc = json_document(body)
    errors = doc.get("errors") if isinstance(doc, dict) else None
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


def error_codes(body):
    """The registry's error codes in ``body`` (bytes), as strings; [] when it is not the registry API."""
    return [str(e.get("code")) for e in _errors(body or b"") if e.get("code")]


def error_detail(body):
    """The registry's own error text (``code: message; ...``), trimmed to 300 characters; '' if none."""
    return "; ".join("%s: %s" % (e.get("code", "?"), e.get("message", "")) for e in _errors(body or b""))[:300]
