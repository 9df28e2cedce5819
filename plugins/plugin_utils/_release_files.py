# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
#
# This plugin util is PRIVATE to the collection. It can change at any time without notice.
"""The one publish pipeline (action ``k0smotron.oci.release_files``): per architecture, a release file
downloaded into a cache on the controller or taken from a local path, verified against a given sha256 or
the release's checksum list, before a publish role pushes it. Controller side only.

Every download goes through the registry client's ``RetryPolicy`` (connection errors, timeouts, 408, 429,
5xx), so the roles need no ``until:`` loop of their own."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import hashlib
import os
import re
import socket
import ssl
import tempfile

from ansible.module_utils.six.moves import http_client
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.urls import SSLValidationError, open_url

from ansible_collections.k0smotron.oci.plugins.module_utils._checksums import ChecksumError, is_sha256_hex, parse_checksums
from ansible_collections.k0smotron.oci.plugins.module_utils._registry_http import RetryPolicy, Transient, retry_after_seconds
from ansible_collections.k0smotron.oci.plugins.plugin_utils._cosign import CosignError, load_public_key, trusted_keys_from
from ansible_collections.k0smotron.oci.plugins.plugin_utils._signatures import NO_TLOG, check_release_key, verify_file

CHUNK = 1 << 20
MAX_CHECKSUM_LIST = 1 << 20
RETRY_STATUSES = (408, 429)  # and 5xx but 501, as the registry client
_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*")


class ReleaseFilesError(Exception):
    """One input or one file is unusable; the message names the variable to change."""


class _GaveUp(Exception):
    def __init__(self, message, status=None, codes=None):
        Exception.__init__(self, message)


class FixedDelay(RetryPolicy):
    """The roles' ``*_download_delay``: the same wait before every retry (a server's Retry-After wins)."""

    def delay(self, attempt, retry_after):
        return retry_after if retry_after is not None else self.backoff


class Names:
    """How messages name the inputs: a publish role's variables (``PREFIX_files``, ...) or this action's
    options when there is no prefix."""

    SUFFIXES = ("files", "checksums", "checksums_url", "base_url", "version", "architectures", "download_retries",
                "download_validate_certs", "trusted_keys", "verify_signatures")

    def __init__(self, prefix, overrides=None):
        """``overrides`` {suffix: variable}: a role that gets a second kind of file (k0s_publish's airgap bundles)
        names its own variables for those inputs and shares the rest."""
        overrides = overrides or {}
        unknown = sorted(set(overrides) - set(self.SUFFIXES))
        if unknown:
            raise ReleaseFilesError("variable_names: unknown keys %s (known: %s)" % (
                ", ".join(unknown), ", ".join(self.SUFFIXES)))

        def name(suffix, option):
            if overrides.get(suffix):
                return overrides[suffix]
            return "%s_%s" % (prefix, suffix) if prefix else option
        self.local = name("files", "local")
        self.checksums = name("checksums", "checksums")
        self.checksums_url = name("checksums_url", "checksums_url")
        self.base_url = name("base_url", "the files' url")
        self.version = name("version", "the version in the URLs")
        self.architectures = name("architectures", "files")
        self.retries = name("download_retries", "retries")
        self.validate_certs = name("download_validate_certs", "validate_certs")
        self.trusted_keys = name("trusted_keys", "trusted_keys")
        self.verify = name("verify_signatures", "signatures")


def _bare_hex(value):
    # No strip(): "<hex>\n" is not a checksum (full match, as everywhere in the collection).
    text = str(value).lower()
    return text[len("sha256:"):] if text.startswith("sha256:") else text


def check_inputs(files, local, checksums, supported, names):
    """Validate everything before any disk or network access. Returns ``(files, local, checksums)``
    normalised: checksums as bare lowercase hex, local paths expanded."""
    if not files:
        raise ReleaseFilesError("%s: give at least one file" % names.architectures)
    arches = [f.get("arch") for f in files]
    if len(set(arches)) != len(arches):
        raise ReleaseFilesError("%s lists an architecture twice: %s" % (names.architectures, ", ".join(arches)))
    supported = list(supported or arches)
    given = dict((str(k), _bare_hex(v)) for k, v in checksums.items())
    if (set(local) - set(supported) or set(given) - set(supported)
            or any(not is_sha256_hex(v) for v in given.values())):
        raise ReleaseFilesError(
            "%s maps an arch (%s) to a file on the controller, %s an arch to 64 hex digits (an optional sha256: "
            "prefix is fine); got files for %s, checksums for %s"
            % (names.local, ", ".join(supported), names.checksums, sorted(local), sorted(checksums)))
    unused = sorted(set(local) - set(arches))
    if unused:
        raise ReleaseFilesError(
            "%s gives a file for %s, which %s does not list (%s): add it there, or remove the file"
            % (names.local, ", ".join(unused), names.architectures, ", ".join(arches)))
    for index, f in enumerate(files):
        if not _FILE_NAME.fullmatch(f.get("name") or ""):
            raise ReleaseFilesError("files[%d].name must be a plain file name, got %r" % (index, f.get("name")))
        if f["arch"] not in local and not f.get("url"):
            raise ReleaseFilesError("files[%d] (%s) needs a url, or a file in %s" % (index, f["arch"], names.local))
    paths = dict((arch, os.path.expanduser(str(path))) for arch, path in local.items())
    return files, paths, given


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


class Fetcher:
    """Reads URLs with the roles' timeout, TLS and retry settings; every failure becomes one
    ReleaseFilesError that says what to change (a mirror, local files, the version)."""

    def __init__(self, names, timeout=120, validate_certs=True, retries=3, delay=3, opener=open_url, sleep=None):
        self.names = names
        self.timeout = timeout
        self.validate_certs = validate_certs
        self.policy = FixedDelay(retries, backoff=delay, **({"sleep": sleep} if sleep else {}))
        self.opener = opener

    def offline_hint(self):
        n = self.names
        return ("Without internet access, point %s (or %s) at a mirror with the release's layout, or give %s "
                "(a file for each of %s) with %s." % (n.base_url, n.checksums_url, n.local, n.architectures, n.checksums))

    def read(self, url, consume):
        """``consume(response)`` on the answer to GET ``url``, retried as a whole on a transient failure."""
        def attempt():
            try:
                response = self.opener(url, timeout=self.timeout, validate_certs=self.validate_certs)
            except HTTPError as e:
                if e.code in RETRY_STATUSES or 500 <= e.code < 600 and e.code != 501:
                    raise Transient("%s answered %s %s" % (url, e.code, e.reason),
                                    retry_after=retry_after_seconds(e.headers.get("Retry-After") if e.headers else None),
                                    give_up=_GaveUp)
                raise ReleaseFilesError("%s answered %s %s. Check %s and %s." % (
                    url, e.code, e.reason, self.names.version, self.names.base_url))
            except (SSLValidationError, ssl.SSLCertVerificationError) as e:
                raise ReleaseFilesError("cannot verify the TLS certificate of %s (%s). Set %s: false only for a "
                                        "mirror you trust." % (url, e, self.names.validate_certs))
            except URLError as e:
                reason = getattr(e, "reason", e)
                if isinstance(reason, ssl.SSLCertVerificationError):
                    raise ReleaseFilesError("cannot verify the TLS certificate of %s (%s). Set %s: false only "
                                            "for a mirror you trust." % (url, reason, self.names.validate_certs))
                if isinstance(reason, socket.gaierror) or isinstance(reason, (FileNotFoundError, IsADirectoryError)):
                    # An unknown host name is what an offline controller sees; retrying only delays the advice.
                    raise ReleaseFilesError("cannot reach %s (%s). %s" % (url, reason, self.offline_hint()))
                raise Transient("cannot reach %s (%s)" % (url, reason), give_up=_GaveUp)
            except (socket.timeout, OSError, http_client.HTTPException) as e:
                raise Transient("cannot reach %s (%s)" % (url, e), give_up=_GaveUp)
            try:
                with response:
                    return consume(response)
            except (socket.timeout, ConnectionError, http_client.HTTPException, ssl.SSLError) as e:
                raise Transient("the download of %s broke off (%s)" % (url, e), give_up=_GaveUp)

        failures = []

        def counted():
            try:
                return attempt()
            except Transient as e:
                failures.append(str(e))
                raise

        try:
            return self.policy.run(counted)
        except _GaveUp:
            raise ReleaseFilesError("%s (%d attempts, %s: %d). %s" % (
                failures[-1], len(failures), self.names.retries, self.policy.retries, self.offline_hint()))

    def read_capped(self, url, cap, what):
        """The body of ``url``, refused when it is larger than ``cap`` bytes (then it is not ``what``)."""
        def consume(response):
            data = response.read(cap + 1)
            if len(data) > cap:
                raise ReleaseFilesError("%s is larger than %d bytes: not %s" % (url, cap, what))
            return data
        return self.read(url, consume)

    def checksum_list(self, url):
        text = self.read_capped(url, MAX_CHECKSUM_LIST, "a checksum list")
        try:
            return parse_checksums(text.decode("utf-8", "replace"))
        except ChecksumError as e:
            raise ReleaseFilesError("%s is not a checksum list (k0smotron.oci.parse_checksums: %s). Check %s, %s and %s."
                                    % (url, e, self.names.version, self.names.base_url, self.names.checksums_url))

    def download(self, url, dest, expected, source):
        """``url`` into ``dest`` through a temporary file next to it, kept only when its sha256 is ``expected``."""
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(dest), prefix="." + os.path.basename(dest) + ".")
        os.close(fd)

        def consume(response):
            digest = hashlib.sha256()
            with open(tmp, "wb") as out:
                for chunk in iter(lambda: response.read(CHUNK), b""):
                    digest.update(chunk)
                    out.write(chunk)
            return digest.hexdigest()

        try:
            got = self.read(url, consume)
            if got != expected:
                raise ReleaseFilesError(
                    "%s has sha256 %s, expected %s (%s): the checksum did not match. Nothing was pushed, and the file "
                    "was not kept." % (url, got, expected, source))
            os.chmod(tmp, 0o644)
            os.rename(tmp, dest)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


def _ensure_dir(path):
    try:
        os.makedirs(path, 0o755)
    except OSError as e:
        if e.errno != errno.EEXIST:
            raise ReleaseFilesError("cannot create the cache directory %s: %s" % (path, e.strerror))


def _link(src, dest):
    """``dest`` -> ``src`` (so that the pushed layer is titled with ``dest``'s name); True if it changed."""
    if os.path.islink(dest) and os.readlink(dest) == src:
        return False
    tmp = dest + ".new"
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(src, tmp)
    os.rename(tmp, dest)
    return True


def release_files(files, local, checksums, checksums_url, cache_dir, fetcher, supported=None):
    """Each of ``files`` ({arch, name, url, asset}) as a verified file on the controller: the local file of
    its arch (``<cache>/local-<arch>/<name>`` links to it) or a cached download (``<cache>/<arch>/<name>``).
    Downloads are verified against ``checksums`` (arch -> hex), else the list at ``checksums_url``; local files
    against ``checksums`` when their arch is listed. Returns ``(changed, [{arch, name, path, sha256, size,
    source, checksum_from}])``; raises ReleaseFilesError before a bad file can be pushed."""
    names = fetcher.names
    files, local, given = check_inputs(files, local, checksums, supported, names)
    for arch, path in sorted(local.items()):
        if not os.path.isfile(path):
            raise ReleaseFilesError("%s.%s: %s is not a file on the controller." % (names.local, arch, path))
    need_list = [f for f in files if f["arch"] not in local and f["arch"] not in given]
    listed = {}
    if need_list:
        if not checksums_url:
            raise ReleaseFilesError("no checksum for %s: give %s or %s" % (
                ", ".join(f["arch"] for f in need_list), names.checksums, names.checksums_url))
        listed = fetcher.checksum_list(checksums_url)
        missing = [f.get("asset") or f["name"] for f in need_list if (f.get("asset") or f["name"]) not in listed]
        if missing:
            raise ReleaseFilesError("%s lists no checksum for %s. Check %s and %s (or %s), or give %s." % (
                checksums_url, ", ".join(missing), names.version, names.base_url, names.checksums_url, names.checksums))

    changed, out = False, []
    for f in files:
        arch, name = f["arch"], f["name"]
        if arch in given:
            expected, checksum_from = given[arch], names.checksums
        elif arch in local:
            expected, checksum_from = None, None
        else:
            expected, checksum_from = listed[f.get("asset") or name], checksums_url
        if arch in local:
            folder = os.path.join(cache_dir, "local-" + arch)
            _ensure_dir(folder)
            path, source = os.path.join(folder, name), "local"
            changed = _link(os.path.realpath(local[arch]), path) or changed
            sha256 = sha256_file(path)
            if expected is not None and sha256 != expected:
                raise ReleaseFilesError(
                    "%s (%s.%s) has sha256 %s, expected %s (%s): the checksum did not match. Nothing was pushed."
                    % (local[arch], names.local, arch, sha256, expected, checksum_from))
        else:
            folder = os.path.join(cache_dir, arch)
            _ensure_dir(folder)
            path, source = os.path.join(folder, name), "cache"
            if not (os.path.isfile(path) and sha256_file(path) == expected):
                fetcher.download(f["url"], path, expected, checksum_from)
                changed, source = True, "download"
            sha256 = expected
        out.append({"arch": arch, "name": name, "path": path, "sha256": sha256, "size": os.path.getsize(path),
                    "source": source, "checksum_from": checksum_from})
    return changed, out


MAX_SIGNATURE = 64 << 10  # a base64 signature or a PEM public key is a few hundred bytes


def _fetch_small(fetcher, url, dest):
    data = fetcher.read_capped(url, MAX_SIGNATURE, "a signature or a key")
    with open(dest, "wb") as f:
        f.write(data)
    return dest


def verify_signatures(out, files, local, trusted, key_url, cache_dir, fetcher):
    """Check each verified file's detached cosign signature (``<asset>.sig``: downloaded next to a download,
    next to a local file) with the pinned keys ``trusted``, after comparing the release's ``cosign.pub`` (at
    ``key_url``, or next to local files) with them. Adds ``signature`` to each entry of ``out``."""
    names = fetcher.names
    urls = dict((f["arch"], f.get("url")) for f in files)
    release_key = None
    if any(entry["arch"] not in local for entry in out) and key_url:
        release_key = _fetch_small(fetcher, key_url, os.path.join(cache_dir, "cosign.pub"))
    else:
        beside = [os.path.join(os.path.dirname(local[a]), "cosign.pub") for a in sorted(local)]
        release_key = next((k for k in beside if os.path.isfile(k)), None)
    try:
        if not trusted:
            seen = ""
            if release_key:
                with open(release_key, "rb") as f:
                    seen = " The release's cosign.pub (%s) has fingerprint %s: check it out of band, then pin it." % (
                        key_url or release_key, load_public_key(f.read(), release_key).fingerprint)
            raise ReleaseFilesError(
                "the release is signed, and no key is pinned to check it: set %s to the release's cosign public key "
                "(PEM text or a file on the controller).%s Or set %s: false to skip the check."
                % (names.trusted_keys, seen, names.verify))
        keys = trusted_keys_from(trusted, names.trusted_keys)
        if release_key:
            check_release_key(release_key, keys, names.trusted_keys)
        for entry in out:
            arch = entry["arch"]
            if arch in local:
                signature = local[arch] + ".sig"
                if not os.path.isfile(signature):
                    raise ReleaseFilesError("%s.%s: no signature %s next to %s; put the release's .sig file there, or "
                                            "set %s: false" % (names.local, arch, signature, local[arch], names.verify))
            else:
                signature = _fetch_small(fetcher, urls[arch] + ".sig", entry["path"] + ".sig")
            checked = verify_file(entry["path"], signature, keys)
            entry["signature"] = dict(key_fingerprint=checked["key_fingerprint"], signature_path=signature,
                                      transparency_log=NO_TLOG)
    except CosignError as e:
        raise ReleaseFilesError("%s. Nothing was pushed." % e)
    return out
