# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
#
# This plugin util is PRIVATE to the collection. It can change at any time without notice.
"""What a node needs to run ORAS the way k0smotron calls it: the one architecture map and the one
``oras`` wrapper, shared by the ``oras`` role and the ``install-oras.sh`` script of ``control_plane``.

The wrapper exists because ORAS refuses to start without ``HOME`` ("failed to get user home directory:
$HOME is not defined") and systemd units - such as the one Ignition runs k0smotron's commands in - start
without it. With ``HOME=/root`` ORAS finds ``/root/.docker/config.json`` by itself.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import shlex

from ansible_collections.k0smotron.oci.plugins.plugin_utils import _node_fetch as node_fetch
from ansible_collections.k0smotron.oci.plugins.module_utils._checksums import is_sha256_hex
from ansible_collections.k0smotron.oci.plugins.module_utils._reference import is_registry_host


# ORAS release assets: oras_<version>_linux_<arch>.tar.gz
ORAS_ARCHES = ("amd64", "arm64", "armv7")
# k0s release assets: k0s-<version>-<arch> (32-bit ARM is "arm", not "armv7")
K0S_ARCHES = ("amd64", "arm64", "arm")

# ``uname -m`` (and Ansible's ansible_architecture) -> ORAS release arch.
MACHINE_TO_ORAS_ARCH = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv7l": "armv7",
    "armv7": "armv7",
    "armhf": "armv7",
}

# A line every wrapper carries, so that an installer can tell its own wrapper from a foreign binary.
WRAPPER_MARKER = "k0smotron.oci oras wrapper"


def oras_arch(machine):
    """ORAS release arch for a machine name; ValueError names the supported ones."""
    try:
        return MACHINE_TO_ORAS_ARCH[machine]
    except KeyError:
        raise ValueError("unsupported machine architecture %r (ORAS release assets: %s)"
                         % (machine, ", ".join(ORAS_ARCHES)))


def comment_text(value):
    """``value`` made safe for a shell comment: one line (a newline would end the comment and run the rest)."""
    return " ".join(str(value).split())


def shell_assignments(values):
    """``name='value'`` lines, every value shell-quoted: how values go into a shipped node script, which follows
    them unchanged. ``values``: (name, str or int) pairs in order."""
    return "".join("%s=%s\n" % (name, shlex.quote(str(value))) for name, value in values)


def oras_wrapper(real_binary, version, home="", registry=None, ca_file=None, plain_http=False):
    """Text of the ``oras`` wrapper that runs ``real_binary`` with HOME set when it is unset: its values, then
    the shipped ``_node_sh/oras-wrapper.sh``.

    ``home`` empty: the invoking user's home from the passwd database, else ``/root``.
    ``registry`` with ``ca_file`` and/or ``plain_http``: for ``oras pull``, ``oras blob fetch`` and
    ``oras manifest fetch`` with an argument ``REGISTRY/...`` (a reference in that registry, exactly: host and
    port), the wrapper adds ``--ca-file CA_FILE`` / ``--plain-http`` after the subcommand; k0smotron runs
    ``oras blob fetch --output PATH REG/REPO@DIGEST`` with no flags. Every other command runs unchanged."""
    if ca_file or plain_http:
        if not is_registry_host(registry):
            raise NodeScriptError("the registry for the oras wrapper's --ca-file/--plain-http must be host[:port], "
                                  "got %r" % (registry,))
    else:
        registry = ""
    return ("#!/bin/sh\n"
            "# %s (ORAS CLI %s), written by k0smotron.oci; do not edit.\n"
            "%s%s") % (WRAPPER_MARKER, comment_text(version),
                       shell_assignments([("real", real_binary), ("home", home), ("registry", registry),
                                          ("ca_file", ca_file or ""), ("plain_http", int(bool(plain_http)))]),
                       node_fetch.node_script("oras-wrapper.sh"))


# ---------------------------------------------------------------------------------------------------------------
# install-oras.sh: the script control_plane ships to k0smotron nodes as a files entry (run as root by one plain
# pre-command). Every value put into it is validated here and shell-quoted.

class NodeScriptError(ValueError):
    """A value that cannot go into a node script; the message names the variable and says what to do."""


_ORAS_VERSION = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+(?:-[0-9A-Za-z]+(?:\.[0-9A-Za-z]+)*)?")
# http(s) URL without whitespace, quotes or shell metacharacters (it ends up in a root shell script).
_HTTP_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~%+,:@=/-]*)?")
# Absolute node path of plain characters (it also goes into pre-commands that must be plain lines).
_NODE_PATH = re.compile(r"/[A-Za-z0-9._/-]+")

INSTALL_ORAS_LIBDIR = "lib/k0smotron-oci"


def _registry_source_checksums(source, ca_file, retries):
    """{arch: hex} from a registry source's digests, every value checked as oci_blob_fetch will."""
    if not isinstance(source, dict) or not isinstance(source.get("digests"), dict) or not source["digests"]:
        raise NodeScriptError("control_plane_oras_artifact must give the registry, the repository and at least one "
                              "digest ({repository: REG/REPO, digests: {amd64: sha256:HEX}}, or oras_publish_result)")
    sums = {}
    for arch, digest in source["digests"].items():
        if arch not in ORAS_ARCHES:
            raise NodeScriptError("control_plane_oras_artifact: %r is not an ORAS release arch (%s)"
                                  % (arch, ", ".join(ORAS_ARCHES)))
        try:
            node_fetch.validate(source.get("registry"), source.get("repository"), digest, "/tmp/oras.tar.gz",
                                ca_file=ca_file)
        except node_fetch.NodeFetchError as e:
            raise NodeScriptError("control_plane_oras_artifact (%s): %s" % (arch, e))
        sums[arch] = digest[len("sha256:"):]
    return sums


def check_oras_version(version, variable="control_plane_oras_version"):
    if not isinstance(version, str) or not _ORAS_VERSION.fullmatch(version):
        raise NodeScriptError("%s must be an ORAS release version such as 1.3.0 (digits and dots, optionally "
                              "-PRERELEASE), got %r" % (variable, version))
    return version


def check_http_url(url, variable):
    if not isinstance(url, str) or not _HTTP_URL.fullmatch(url):
        raise NodeScriptError("%s must be an http(s) URL of letters, digits and ._~%%+,:@=/- only (no whitespace, "
                              "quotes, query or shell metacharacters: it goes into a script run as root), got %r"
                              % (variable, url))
    return url


def check_node_path(path, variable):
    if not isinstance(path, str) or not _NODE_PATH.fullmatch(path) or "/../" in path + "/":
        raise NodeScriptError("%s must be an absolute path of letters, digits, '.', '_', '-' and '/' (it goes into "
                              "pre-commands that must run unchanged under cloud-init and Ignition), got %r"
                              % (variable, path))
    return path


def install_oras_paths(prefix):
    """(script path, libdir, bindir) on the node for an install prefix such as /usr/local."""
    prefix = prefix.rstrip("/") or ""
    libdir = "%s/%s" % (prefix, INSTALL_ORAS_LIBDIR)
    return libdir + "/install-oras.sh", libdir, prefix + "/bin"


def oras_release_url(base_url, version):
    return "%s/v%s" % (base_url.rstrip("/"), version)


def oras_tarball(version, arch):
    return "oras_%s_linux_%s.tar.gz" % (version, arch)


def oras_checksums_file(version):
    return "oras_%s_checksums.txt" % version


def oras_release(base_url, version, checksums_url="", variable="the ORAS version", arches=ORAS_ARCHES):
    """Where an ORAS release's assets are, laid out like the upstream release pages (or a mirror of them):
    ``<base>/v<version>/oras_<version>_linux_<arch>.tar.gz`` and ``.../oras_<version>_checksums.txt``.
    The version must be an ORAS release version (NodeScriptError names ``variable``); ``checksums_url`` (when
    given) wins over the layout."""
    check_oras_version(version, variable)
    release_url = oras_release_url(base_url, version)
    assets = dict((arch, oras_tarball(version, arch)) for arch in arches)
    return {
        "version": version,
        "release_url": release_url,
        "checksums_file": oras_checksums_file(version),
        "checksums_url": checksums_url or "%s/%s" % (release_url, oras_checksums_file(version)),
        "assets": assets,
        "urls": dict((arch, "%s/%s" % (release_url, name)) for arch, name in assets.items()),
    }


# The most bytes the release download of install-oras.sh accepts (ORAS release tarballs are about 10 MiB), and
# the registry fetch when the artifact gives no layer size.
ORAS_TARBALL_MAX_SIZE = 64 << 20
# The quoted here-document that carries the wrapper inside install-oras.sh ends at this line.
_WRAPPER_END = "K0SMOTRON_OCI_WRAPPER"


def _pairs(mapping):
    """{key: value} as "key=value" lines (keys sorted), a value the shipped scripts look up (a line each, so that
    three sha256 sums do not make one line of 220 characters in the rendered YAML)."""
    return "\n".join("%s=%s" % (k, mapping[k]) for k in sorted(mapping))


def _registry_source_sizes(source):
    """{arch: size} from a registry source's optional ``sizes`` (oras_publish_result's layer sizes)."""
    sizes = source.get("sizes") or {}
    for arch, size in sizes.items():
        try:
            node_fetch.check_size(size, "control_plane_oras_artifact size (%s)" % arch)
        except node_fetch.NodeFetchError as e:
            raise NodeScriptError(str(e))
        if arch not in source["digests"]:
            raise NodeScriptError("control_plane_oras_artifact: a size for %s, which has no digest" % arch)
    return sizes


def install_oras_script(version, base_url, prefix, checksums, retries, registry=None, ca_file=None,
                        plain_http=False, source=None):
    """Text of install-oras.sh: installs ORAS ``version`` from ``base_url``/vVERSION (sha256 from ``checksums``,
    {arch: hex}) as PREFIX/lib/k0smotron-oci/oras-VERSION/oras with the HOME wrapper PREFIX/bin/oras.
    ``registry``, ``ca_file``, ``plain_http``: see oras_wrapper (an installed ORAS gets its wrapper rewritten
    when they change).
    ``source``: ``{"registry": HOST[:PORT], "repository": REPO, "digests": {arch: "sha256:HEX"}}`` takes the tarball
    from that registry instead (``oci_blob_fetch``, curl only, the credentials of
    ``${DOCKER_CONFIG:-/root/.docker}/config.json``, ``ca_file`` / ``plain_http`` as for the wrapper); the blob
    digest is the tarball's sha256, so ``checksums`` is not used. An optional ``"sizes": {arch: bytes}`` (the layer
    sizes, as oras_publish_result gives them) bounds the fetch to exactly that size; without it, and for the release
    download, ORAS_TARBALL_MAX_SIZE is the bound.

    The text is the values (``name='quoted'`` lines and the wrapper in a quoted here-document), then the shipped
    ``_node_sh/oci-blob-fetch.sh`` (registry source only) and ``_node_sh/install-oras.sh`` unchanged.
    Idempotent on the node, installs nothing on a failed download or checksum. Raises NodeScriptError (naming
    the control_plane variable) for a value that is not safe to put into the script."""
    check_oras_version(version)
    if source:
        checksums = _registry_source_checksums(source, ca_file, retries)
    check_http_url(base_url, "control_plane_oras_base_url")
    check_node_path(prefix, "control_plane_oras_install_prefix")
    for arch, hexsum in checksums.items():
        if arch not in ORAS_ARCHES or not is_sha256_hex(hexsum):
            raise NodeScriptError("control_plane_oras_checksums must map arches (%s) to the 64 lowercase hex sha256 "
                                  "of %s (see %s); %r is not usable"
                                  % (", ".join(ORAS_ARCHES), oras_tarball(version, "<arch>"),
                                     oras_checksums_file(version), arch))
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 1:
        raise NodeScriptError("control_plane_oras_download_retries must be a whole number >= 1, got %r" % (retries,))
    dummy, libdir, bindir = install_oras_paths(prefix)
    real = "%s/oras-%s/oras" % (libdir, version)
    wrapper = oras_wrapper(real, version, home="/root", registry=registry, ca_file=ca_file, plain_http=plain_http)
    if "\n%s\n" % _WRAPPER_END in wrapper:
        raise NodeScriptError("the oras wrapper text holds the line %s, which would end its here-document" % _WRAPPER_END)
    values = [("version", version), ("release_url", oras_release_url(base_url, version)), ("libdir", libdir),
              ("bindir", bindir), ("retries", retries), ("marker", WRAPPER_MARKER),
              ("arch_map", _pairs(MACHINE_TO_ORAS_ARCH)), ("oras_arches", ", ".join(ORAS_ARCHES)),
              ("max_size", ORAS_TARBALL_MAX_SIZE), ("source", "registry" if source else "release")]
    library = ""
    if source:
        values += [("oras_registry", source["registry"]), ("oras_repository", source["repository"]),
                   ("digests", _pairs(source["digests"])), ("sizes", _pairs(_registry_source_sizes(source))),
                   ("fetch_retries", min(retries - 1, node_fetch.MAX_RETRIES)), ("ca_file", ca_file or ""),
                   ("plain_http", int(bool(plain_http)))]
        library = node_fetch.fetch_library()
    else:
        values.append(("sums", _pairs(checksums)))
    return ("#!/bin/sh\n"
            "# install-oras.sh - written by the k0smotron.oci.control_plane Ansible role; do not edit on the node.\n"
            "# The values for this cluster; the shipped script follows them unchanged.\n"
            "%s"
            "oras_wrapper_text() {\n"
            "  cat <<'%s'\n%s%s\n"
            "}\n"
            "%s%s") % (shell_assignments(values), _WRAPPER_END, wrapper, _WRAPPER_END, library,
                       node_fetch.node_script("install-oras.sh"))
