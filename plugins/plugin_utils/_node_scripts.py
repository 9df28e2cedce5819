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


def machine_arch_case(machine_var="machine", arch_var="arch"):
    """A POSIX ``case`` that sets ``$arch_var`` from ``$machine_var`` with MACHINE_TO_ORAS_ARCH, or fails."""
    by_arch = {}
    for machine, arch in sorted(MACHINE_TO_ORAS_ARCH.items()):
        by_arch.setdefault(arch, []).append(machine)
    lines = ["case $%s in" % machine_var]
    for arch in ORAS_ARCHES:
        lines.append("  %s) %s=%s ;;" % ("|".join(by_arch[arch]), arch_var, arch))
    lines.append('  *) echo "unsupported machine architecture $%s (ORAS release assets: %s)" >&2; exit 1 ;;'
                 % (machine_var, ", ".join(ORAS_ARCHES)))
    lines.append("esac")
    return "\n".join(lines) + "\n"


def comment_text(value):
    """``value`` made safe for a shell comment: one line (a newline would end the comment and run the rest)."""
    return " ".join(str(value).split())


# Registry host[:port] as it appears in a reference (also the case pattern the wrapper matches it with).


def oras_wrapper(real_binary, version, home="", registry=None, ca_file=None, plain_http=False):
    """Text of the ``oras`` wrapper that runs ``real_binary`` with HOME set when it is unset.

    ``home`` empty: the invoking user's home from the passwd database, else ``/root``.
    ``registry`` with ``ca_file`` and/or ``plain_http``: for ``oras pull``, ``oras blob fetch`` and
    ``oras manifest fetch`` with an argument ``REGISTRY/...`` (a reference in that registry, exactly: host and
    port), the wrapper adds ``--ca-file CA_FILE`` / ``--plain-http`` after the subcommand; k0smotron runs
    ``oras blob fetch --output PATH REG/REPO@DIGEST`` with no flags. Every other command runs unchanged.
    Without them the text is the same as before."""
    if home:
        set_home = "  HOME=%s\n" % shlex.quote(home)
    else:
        set_home = ('  HOME=$(getent passwd "$(id -u)" 2>/dev/null | cut -d: -f6)\n'
                    '  [ -n "$HOME" ] || HOME=/root\n')
    flags = []
    if ca_file:
        flags += ["--ca-file", shlex.quote(ca_file)]
    if plain_http:
        flags.append("--plain-http")
    registry_part = ""
    if flags:
        if not is_registry_host(registry):
            raise NodeScriptError("the registry for the oras wrapper's --ca-file/--plain-http must be host[:port], "
                                  "got %r" % (registry,))
        flags = " ".join(flags)
        registry_part = (
            "# For %(registry)s only: oras pull / blob fetch / manifest fetch of a reference there get %(comment)s\n"
            "# (k0smotron runs 'oras blob fetch' with no flags).\n"
            "case ${1:-} in\n"
            "  pull) n=1 ;;\n"
            "  blob|manifest) if [ \"${2:-}\" = fetch ]; then n=2; else n=0; fi ;;\n"
            "  *) n=0 ;;\n"
            "esac\n"
            "if [ \"$n\" -gt 0 ]; then\n"
            "  ours=0\n"
            "  for a in \"$@\"; do\n"
            "    case $a in %(q_registry)s/*) ours=1 ;; esac\n"
            "  done\n"
            "  if [ \"$ours\" = 1 ] && [ \"$n\" = 1 ]; then\n"
            "    a1=$1; shift; set -- \"$a1\" %(flags)s \"$@\"\n"
            "  elif [ \"$ours\" = 1 ]; then\n"
            "    a1=$1; a2=$2; shift 2; set -- \"$a1\" \"$a2\" %(flags)s \"$@\"\n"
            "  fi\n"
            "fi\n")
        registry_part = registry_part % {"registry": comment_text(registry), "comment": comment_text(flags),
                                         "q_registry": shlex.quote(registry), "flags": flags}
    real = shlex.quote(real_binary)
    return ("#!/bin/sh\n"
            "# %s (ORAS CLI %s), written by k0smotron.oci; do not edit.\n"
            "# ORAS refuses to start without HOME, and systemd units (Ignition runs k0smotron's commands\n"
            "# in one) start without it: set HOME when it is unset, then run the real binary.\n"
            'if [ -z "${HOME:-}" ]; then\n'
            "%s"
            "  export HOME\n"
            "fi\n"
            "%s"
            'exec %s "$@"\n') % (WRAPPER_MARKER, comment_text(version), set_home, registry_part, real)


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


_INSTALL_ORAS_BODY = r"""
log() { echo "install-oras: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

installed() {
  [ -x "$real" ] && [ -f "$wrapper" ] || return 1
  grep -qF "$marker" "$wrapper" && grep -qF "$real" "$wrapper" || return 1
  HOME=/root "$real" version 2>/dev/null | grep -qE "^Version: *$version([^0-9.]|$)"
}

write_wrapper() {
  cat > "$wrapper.new" <<'K0SMOTRON_OCI_WRAPPER'
@WRAPPER@K0SMOTRON_OCI_WRAPPER
  chmod 0755 "$wrapper.new"
}

if installed; then
  write_wrapper
  if cmp -s "$wrapper.new" "$wrapper"; then
    rm -f "$wrapper.new"
    log "ORAS $version is already installed ($wrapper)"
  else
    mv -f "$wrapper.new" "$wrapper"
    log "ORAS $version is already installed; updated its wrapper $wrapper"
  fi
  exit 0
fi

machine=$(uname -m)
@ARCH_CASE@
case $arch in
@SUM_CASE@
esac
tarball=@TARBALL@
[ -n "$sum" ] || die "no checksum (sha256) known for $tarball; nothing installed"

@DOWNLOAD@
sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d " " -f 1
  else
    openssl dgst -sha256 -r "$1" | cut -d " " -f 1
  fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

@FETCH_STEP@actual=$(sha256 "$tmp/$tarball")
[ "$actual" = "$sum" ] || die "checksum (sha256) mismatch for $tarball: expected $sum, got $actual; nothing installed"

mkdir "$tmp/x"
tar -xzf "$tmp/$tarball" -C "$tmp/x" oras || die "cannot extract oras from $tarball; nothing installed"
[ -f "$tmp/x/oras" ] || die "$tarball holds no oras binary; nothing installed"
HOME=/root "$tmp/x/oras" version >/dev/null 2>&1 || die "the oras binary from $tarball does not run here; nothing installed"

mkdir -p "$libdir/oras-$version" "$bindir"
cp "$tmp/x/oras" "$real.new"
chmod 0755 "$real.new"
mv -f "$real.new" "$real"
write_wrapper
mv -f "$wrapper.new" "$wrapper"
log "installed ORAS $version ($arch) as $wrapper"
"""


_RELEASE_DOWNLOAD = r"""fetch() {
  n=1
  while :; do
    rm -f "$2"
    if command -v curl >/dev/null 2>&1; then
      curl -fsSL --connect-timeout 30 -o "$2" "$1" && return 0
    elif command -v wget >/dev/null 2>&1; then
      wget -q -T 30 -O "$2" "$1" && return 0
    else
      die "neither curl nor wget is installed; nothing installed"
    fi
    [ "$n" -lt "$retries" ] || return 1
    log "download of $1 failed (attempt $n of $retries), retrying in $((n * 2)) s"
    sleep $((n * 2))
    n=$((n + 1))
  done
}
"""
_RELEASE_FETCH = ('fetch "$release_url/$tarball" "$tmp/$tarball" || die "cannot download $release_url/$tarball; '
                  'nothing installed"\n')
_REGISTRY_FETCH = (
    "config=${DOCKER_CONFIG:-/root/.docker}/config.json\n"
    "case $arch in\n@DIGEST_CASE@\nesac\n"
    "log \"fetching $tarball from $oras_registry/$oras_repository@$digest\"\n"
    "rc=0\n"
    "oci_blob_fetch -c \"$config\" @FETCH_FLAGS@-r \"$fetch_retries\" -m 0600 -- \"$oras_registry\" \"$oras_repository\" "
    "\"$digest\" \"$tmp/$tarball\" || rc=$?\n"
    "[ \"$rc\" = 0 ] || die \"cannot fetch $tarball from $oras_registry/$oras_repository@$digest (oci_blob_fetch exit "
    "$rc); nothing installed\"\n")


def install_oras_script(version, base_url, prefix, checksums, retries, registry=None, ca_file=None,
                        plain_http=False, source=None):
    """Text of install-oras.sh: installs ORAS ``version`` from ``base_url``/vVERSION (sha256 from ``checksums``,
    {arch: hex}) as PREFIX/lib/k0smotron-oci/oras-VERSION/oras with the HOME wrapper PREFIX/bin/oras.
    ``registry``, ``ca_file``, ``plain_http``: see oras_wrapper (an installed ORAS gets its wrapper rewritten
    when they change).
    ``source``: ``{"registry": HOST[:PORT], "repository": REPO, "digests": {arch: "sha256:HEX"}}`` takes the tarball
    from that registry instead (``oci_blob_fetch``, curl only, the credentials of
    ``${DOCKER_CONFIG:-/root/.docker}/config.json``, ``ca_file`` / ``plain_http`` as for the wrapper); the blob
    digest is the tarball's sha256, so ``checksums`` is not used.

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
    q = shlex.quote
    dummy, libdir, bindir = install_oras_paths(prefix)
    real = "%s/oras-%s/oras" % (libdir, version)
    header = (
        "#!/bin/sh\n"
        "# install-oras.sh - written by the k0smotron.oci.control_plane Ansible role; do not edit on the node.\n"
        "# Installs the ORAS CLI %(version)s that k0smotron uses for an oci:// downloadURL:\n"
        "#   %(real)s  the real binary, sha256-verified\n"
        "#   %(bindir)s/oras  a wrapper that sets HOME=/root when HOME is unset\n"
        "# The wrapper matters under Ignition: every command runs as a systemd ExecStart line without HOME,\n"
        "# and the ORAS CLI refuses to start without it. With HOME=/root, oras reads /root/.docker/config.json.\n"
        "# Idempotent: exits 0 at once when this version is already installed. Installs nothing when a\n"
        "# download or the checksum fails. Needs: uname, curl or wget, sha256sum (or openssl), tar, gzip, cmp.\n"
        "set -eu\n"
        "umask 022\n"
        "\n"
        "version=%(q_version)s\n"
        "release_url=%(q_release)s\n"
        "libdir=%(q_libdir)s\n"
        "bindir=%(q_bindir)s\n"
        "retries=%(retries)d\n"
        "real=$libdir/oras-$version/oras\n"
        "wrapper=$bindir/oras\n"
        "marker=%(q_marker)s\n"
    ) % {"version": comment_text(version), "real": comment_text(real), "bindir": comment_text(bindir), "q_version": q(version),
         "q_release": q(oras_release_url(base_url, version)), "q_libdir": q(libdir), "q_bindir": q(bindir),
         "retries": retries, "q_marker": q(WRAPPER_MARKER)}
    if source:
        header = header.replace("# download or the checksum fails. Needs: uname, curl or wget,",
                                "# fetch or the checksum fails. Source: the OCI registry %s (repository %s).\n"
                                "# Needs: uname, curl," % (comment_text(source["registry"]),
                                                           comment_text(source["repository"])))
        header += ("oras_registry=%s\noras_repository=%s\nfetch_retries=%d\n"
                   % (q(source["registry"]), q(source["repository"]), min(retries - 1, node_fetch.MAX_RETRIES)))
        flags = ("-a %s " % q(ca_file) if ca_file else "") + ("-p " if plain_http else "")
        digest_case = "\n".join("  %s) digest=%s ;;" % (arch, q(source["digests"].get(arch, "")))
                                for arch in ORAS_ARCHES)
        fetch_step = _REGISTRY_FETCH.replace("@DIGEST_CASE@", digest_case).replace("@FETCH_FLAGS@", flags)
        download = node_fetch.FETCH_LIBRARY.rstrip("\n") + "\n"
    else:
        fetch_step, download = _RELEASE_FETCH, _RELEASE_DOWNLOAD
    sum_case = "\n".join("  %s) sum=%s ;;" % (arch, q(checksums.get(arch, ""))) for arch in ORAS_ARCHES)
    body = (_INSTALL_ORAS_BODY
            .replace("@ARCH_CASE@\n", machine_arch_case())
            .replace("@SUM_CASE@", sum_case)
            .replace("@TARBALL@", q("oras_%s_linux_" % version) + "$arch.tar.gz")
            .replace("@DOWNLOAD@", download)
            .replace("@FETCH_STEP@", fetch_step)
            .replace("@WRAPPER@", oras_wrapper(real, version, home="/root", registry=registry, ca_file=ca_file,
                                               plain_http=plain_http)))
    return header + body
