# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
#
# This plugin util is PRIVATE to the collection. It can change at any time without notice.
"""A curl-only OCI blob fetch for nodes: the POSIX shell function ``oci_blob_fetch`` and a renderer.

A node that must reach nothing but the registry cannot download the ORAS CLI from GitHub first, so
its install script fetches the ORAS tarball (or anything else) straight through the distribution API:
``GET /v2/<repo>/blobs/<digest>`` with ``curl``. The shell code runs under dash and busybox ash, needs
neither jq nor HOME, and contains no ``{{``, ``{%`` or ``{#``: cloud-init renders user-data (including
``write_files`` contents) with Jinja before anything runs. It is meant to be delivered as a file.

The shell code is the file ``_node_sh/oci-blob-fetch.sh``: ``fetch_library()`` returns it (for an installer
that embeds it); ``fetch_script()`` returns a complete script: the library plus one call with every value quoted.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import pkgutil
import re
import shlex

from ansible_collections.k0smotron.oci.plugins.module_utils._reference import (
    Reference,
    ReferenceError,
    is_registry_host,
    validate_digest,
)

FETCH_FUNCTION = "oci_blob_fetch"
DEFAULT_CONFIG_PATH = "/root/.docker/config.json"
MAX_RETRIES = 10

# Exit codes of oci_blob_fetch (also documented in the shell text below).
EXIT_OK = 0
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_NOT_FOUND = 4
EXIT_DIGEST = 5
EXIT_REDIRECT = 6
EXIT_HTTP = 7
EXIT_LOCAL = 8

_PORT_RE = re.compile(r".*:([0-9]+)")
_MODE_RE = re.compile(r"0?[0-7]{3}")
_JINJA_DELIMITERS = ("{{", "{%", "{#")

NODE_SCRIPT_PACKAGE = "ansible_collections.k0smotron.oci.plugins.plugin_utils"
NODE_SCRIPT_DIR = "_node_sh"


def node_script(name):
    """The text of a shipped node script, ``plugins/plugin_utils/_node_sh/NAME``.

    Read with ``pkgutil.get_data`` as ansible-core reads its PowerShell module_utils: under Ansible's collection
    loader this finds the file in a source tree and in an installed collection alike. A plain Python import
    of the collection (the test harness) has namespace packages, whose loader has no ``get_data``: then the
    file is read next to this module. Only controller code calls this (filters): the scripts are not shipped
    to managed nodes with modules."""
    data = pkgutil.get_data(NODE_SCRIPT_PACKAGE, "%s/%s" % (NODE_SCRIPT_DIR, name))
    if data is None:
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), NODE_SCRIPT_DIR, name), "rb") as f:
            data = f.read()
    return data.decode("utf-8")


def fetch_library():
    """The ``oci_blob_fetch`` function library (``_node_sh/oci-blob-fetch.sh``), for a script that embeds it."""
    return node_script("oci-blob-fetch.sh")


class NodeFetchError(ValueError):
    """An input the node-side fetch cannot take; the message names the option."""


def _check_path(value, option, required=True):
    if value in (None, "") and not required:
        return ""
    if not isinstance(value, str) or not value.startswith("/") or value.endswith("/") \
            or any(c in value for c in "\n\r\0"):
        raise NodeFetchError("%s must be an absolute file path, got %r" % (option, value))
    return value


def validate(registry, repository, digest, dest, config_path=DEFAULT_CONFIG_PATH, ca_file=None,
             retries=3, mode="0644", size=None):
    """Raise NodeFetchError unless every value is one ``oci_blob_fetch`` accepts."""
    # The collection's one reference parser decides what a registry, a repository and a digest are.
    if not all(isinstance(v, str) and v == v.strip() for v in (registry, repository, digest)):
        raise NodeFetchError("registry, repository and digest must be strings without surrounding blanks")
    try:
        if not is_registry_host(registry):
            raise ReferenceError("option registry: %r is not host[:port] (no scheme, no path)" % (registry,))
        ref = Reference.parse("registry.invalid/" + repository, option="repository")
        if ref.repository != repository or ref.tag or ref.digest:
            raise ReferenceError("option repository: %r is not a repository name (no tag, no digest)" % (repository,))
        validate_digest(digest, "option digest")
    except ReferenceError as e:
        raise NodeFetchError(str(e))
    if not digest.startswith("sha256:"):
        raise NodeFetchError("option digest: %r is not sha256:<64 lowercase hex characters>" % (digest,))
    port = _PORT_RE.fullmatch(registry.rsplit("]", 1)[-1])
    if port is not None and not 0 < int(port.group(1)) < 65536:
        raise NodeFetchError("registry port must be 1-65535, got %r" % (registry,))
    _check_path(dest, "dest")
    _check_path(config_path, "config_path")
    _check_path(ca_file, "ca_file", required=False)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= MAX_RETRIES:
        raise NodeFetchError("retries must be an integer from 0 to %d, got %r" % (MAX_RETRIES, retries))
    if not isinstance(mode, str) or not _MODE_RE.fullmatch(mode):
        raise NodeFetchError("mode must be an octal string such as '0644', got %r" % (mode,))
    check_size(size, "size")


def check_size(size, option):
    """None, or a blob size in bytes (what the manifest's layer says); NodeFetchError names ``option``."""
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise NodeFetchError("%s must be the blob's size in bytes (a whole number > 0, the layer's size in the "
                             "manifest), got %r" % (option, size))
    return size


def fetch_command(registry, repository, digest, dest, config_path=DEFAULT_CONFIG_PATH, ca_file=None,
                  plain_http=False, retries=3, mode="0644", size=None):
    """One ``oci_blob_fetch`` call with every value validated and shell-quoted."""
    validate(registry, repository, digest, dest, config_path, ca_file, retries, mode, size)
    args = [FETCH_FUNCTION, "-c", config_path]
    if ca_file:
        args += ["-a", ca_file]
    if plain_http:
        args.append("-p")
    args += ["-r", str(retries), "-m", mode]
    if size is not None:
        args += ["-s", str(size)]
    args += ["--", registry, repository, digest, dest]
    return " ".join(shlex.quote(a) for a in args)


def fetch_script(registry, repository, digest, dest, config_path=DEFAULT_CONFIG_PATH, ca_file=None,
                 plain_http=False, retries=3, mode="0644", size=None):
    """A complete ``/bin/sh`` script: the library, then one call; its exit code is the call's."""
    command = fetch_command(registry, repository, digest, dest, config_path, ca_file, plain_http, retries, mode,
                            size)
    text = ("#!/bin/sh\n"
            "# Written by k0smotron.oci: fetch %s/%s@%s to %s (curl only, sha256-verified).\n"
            "%s\n%s\n") % (registry, repository, digest, dest, fetch_library(), command)
    check_no_jinja(text)
    return text


def check_no_jinja(text):
    """Raise NodeFetchError if ``text`` holds a Jinja delimiter (cloud-init would render it)."""
    for delimiter in _JINJA_DELIMITERS:
        if delimiter in text:
            raise NodeFetchError("the script contains %r, which cloud-init's Jinja rendering would consume" % delimiter)
    return text
