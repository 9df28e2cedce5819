# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
#
# This module util is PRIVATE to the collection. It can change at any time without notice.
"""A small OCI Distribution (v1.1) client on the standard library: blob and manifest operations.

Layers (each a private module util): ``_registry_options`` (argument spec, env fallbacks, credentials)
-> ``_registry`` (this file: operations, ``client_from_params``) -> ``_registry_auth`` (challenge, token)
-> ``_registry_http`` (connections, one attempt, capped reads, redirects, the retry policy)
-> ``_registry_errors`` (the RegistryError family). ``_media_types`` holds the media types.

Every operation is ``RetryPolicy.run`` of one attempt that sends each of its requests once, so
``retries: N`` means at most N+1 attempts of any request. Blobs are streamed (``socket.sendfile`` or
1 MiB chunks), never held in memory; manifests (4 MiB), tokens (1 MiB) and error bodies (64 KiB) are
capped. No secret (password, token, Authorization header) ever goes into an exception message.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import hashlib
import time

from ansible.module_utils.six.moves.urllib.parse import quote

from ansible_collections.k0smotron.oci.plugins.module_utils._docker_config import Credentials
from ansible_collections.k0smotron.oci.plugins.module_utils._media_types import MANIFEST_ACCEPT, OCI_MANIFEST
from ansible_collections.k0smotron.oci.plugins.module_utils._reference import is_digest, is_tag
from ansible_collections.k0smotron.oci.plugins.module_utils._registry_auth import Authenticator
from ansible_collections.k0smotron.oci.plugins.module_utils._registry_errors import (
    LocalWriteError,
    RegistryAuthError,
    RegistryConnectionError,
    RegistryDigestError,
    RegistryError,
    RegistryLimitError,
    RegistryNotFoundError,
    RegistryStreamRefused,
    Transient,
    error_codes,
    error_detail,
    json_document,
)
from ansible_collections.k0smotron.oci.plugins.module_utils._registry_http import (
    CHUNK,
    MAX_REDIRECTS,
    MAX_SMALL_BODY,
    REDIRECTS,
    BytesBody,
    FileBody,
    HashingFileBody,
    Response,
    RetryPolicy,
    Transport,
    content_length,
    describe_status,
    retry_after_seconds,
)
from ansible_collections.k0smotron.oci.plugins.module_utils._registry_options import credentials_from_params

MAX_MANIFEST = 4 << 20  # what oras accepts too
DISK_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))


def check_digest(digest, what):
    """``digest`` if it is a strict sha256/sha512 digest (it goes into a URL), else RegistryDigestError."""
    if not is_digest(digest):
        raise RegistryDigestError("%s: %r is not a valid digest (sha256:<64 hex> or sha512:<128 hex>)"
                                  % (what, digest if isinstance(digest, str) else type(digest).__name__))
    return digest


def digest_bytes(data, algorithm="sha256"):
    return "%s:%s" % (algorithm, hashlib.new(algorithm, data).hexdigest())


def load_json_object(data, what):
    """The JSON object in ``data`` (bytes), else RegistryError naming ``what``."""
    doc = json_document(data)
    if not isinstance(doc, dict):
        raise RegistryError("%s is not a JSON object (not UTF-8 JSON, or not an object)" % what)
    return doc


def _with_digest(location, digest):
    return location + ("&" if "?" in location else "?") + "digest=" + quote(digest)


class RegistryClient:
    """Talks to one repository on one registry. ``push=True`` asks for ``pull,push`` up front."""

    def __init__(self, registry, repository, credentials=None, plain_http=False, validate_certs=True,
                 ca_path=None, timeout=60.0, retries=3, push=False, sleep=time.sleep, backoff=0.5):
        self.registry = registry
        self.repository = repository
        self.credentials = credentials if credentials is not None else Credentials()
        self.actions = "pull,push" if push else "pull"
        self.policy = RetryPolicy(retries, sleep, backoff)
        self.transport = Transport(registry, self.where, plain_http, validate_certs, ca_path, timeout)
        self.auth = Authenticator(self.transport, repository, self.credentials, self.actions)

    @property
    def where(self):
        return "registry %s, repository %s" % (self.registry, self.repository)

    @property
    def retries(self):
        return self.policy.retries

    def url(self, path):
        return "%s://%s/v2/%s/%s" % (self.transport.scheme, self.registry, self.repository, path)

    def _blob_url(self, digest):
        return self.url("blobs/" + check_digest(digest, "blob digest for %s" % self.where))

    def _manifest_url(self, ref):
        if not (is_tag(ref) or is_digest(ref)):
            raise RegistryError("%r is neither a tag nor a sha256/sha512 digest; not asking %s for it"
                                % (ref, self.where))
        return self.url("manifests/" + ref)

    def close(self):
        self.transport.close()

    # ------------------------------------------------------------------ one attempt of one request
    def _once(self, method, url, headers=None, body=None, stream=False, cap=MAX_SMALL_BODY):
        """One attempt: send, answer one 401 challenge, follow GET/HEAD redirects. 429/5xx and broken
        connections raise Transient. The body is read (2xx: up to ``cap``, else 64 KiB) unless ``stream``."""
        target, hops, challenged = url, 0, False
        while True:
            send_headers = dict(headers or {})
            auth = self.auth.header_for(target)
            if auth:
                send_headers["Authorization"] = auth
            raw = self.transport.send(method, target, send_headers, body)
            if raw.status == 401 and not challenged and self.transport.same_origin(target):
                self.transport.discard(target, raw)
                challenged = True
                self.auth.challenge(raw.getheader("WWW-Authenticate"))
                continue
            if raw.status in REDIRECTS and method in ("GET", "HEAD"):
                self.transport.discard(target, raw)
                hops += 1
                if hops > MAX_REDIRECTS:
                    raise RegistryError("too many redirects from %s" % self.where, status=raw.status)
                target = self.transport.resolve(target, raw.getheader("Location"), "following a redirect")
                continue
            ok = 200 <= raw.status < 300
            if stream and ok:
                return Response(raw)
            body_bytes, truncated = self.transport.read(target, raw, cap if ok else MAX_SMALL_BODY)
            resp = Response(raw, body_bytes, truncated)
            if raw.status == 429 or 500 <= raw.status < 600 and raw.status != 501:
                raise Transient("%s answered %s" % (self.transport.host_words(target.split("/")[2]),
                                                    describe_status(resp)),
                                retry_after_seconds(raw.getheader("Retry-After")), raw.status,
                                error_codes(resp.body))
            return resp

    def request(self, method, url, headers=None, body=None, stream=False, cap=MAX_SMALL_BODY):
        """``_once`` under the retry policy (for single-request operations)."""
        return self.policy.run(lambda: self._once(method, url, headers, body, stream, cap))

    # ------------------------------------------------------------------ errors
    def _fail(self, resp, what):
        codes = error_codes(resp.body)
        detail = error_detail(resp.body)
        suffix = (" (%s)" % detail) if detail else ""
        status = resp.status

        def error(cls, message):
            return cls(message, status=status, codes=codes)

        if status == 401:
            who = ("as user %r" % self.credentials.username) if self.credentials.username else "anonymously"
            raise error(RegistryAuthError, "%s: authentication failed %s (401) for %s: %s%s"
                        % (what, who, self.where, self.credentials.advice(self.registry), suffix))
        if status == 403:
            raise error(RegistryAuthError, "%s: access denied (403) to %s: the account lacks %s rights%s"
                        % (what, self.where, self.actions, suffix))
        if status == 404:
            if "NAME_UNKNOWN" in codes:
                raise error(RegistryNotFoundError, "%s: repository %s does not exist on registry %s%s"
                            % (what, self.repository, self.registry, suffix))
            if not codes:
                raise error(RegistryNotFoundError, "%s: %s answered 404 without a registry error: is %s an OCI "
                            "registry (and the path right)?" % (what, self.where, self.registry))
            raise error(RegistryNotFoundError, "%s: not found in %s%s" % (what, self.where, suffix))
        if status == 400 and "DIGEST_INVALID" in codes:
            raise error(RegistryDigestError, "%s: %s rejected the upload: the content does not match its digest%s"
                        % (what, self.where, suffix))
        if status == 400 and not codes and self.transport.plain_http and self.transport.speaks_tls():
            raise error(RegistryConnectionError, "%s: %s answered 400 %s to plain HTTP because it speaks TLS (HTTPS) "
                        "on this port: set plain_http: false (and ca_path if a private CA signed its certificate)"
                        % (what, self.where, resp.reason))
        content_type = (resp.header("Content-Type") or "").lower()
        if not codes and content_type and "json" not in content_type:
            # Not the registry API talking (a web server, a proxy's error page): say so.
            suffix += (": the answer (%s) is not from an OCI registry API - is %s an OCI registry (and the port "
                       "right)?" % (content_type.split(";")[0], self.registry))
        raise error(RegistryError, "%s: %s answered %d %s%s" % (what, self.where, status, resp.reason, suffix))

    # ------------------------------------------------------------------ blobs
    def _blob_size_once(self, digest):
        resp = self._once("HEAD", self._blob_url(digest))
        if resp.status == 404:
            return None
        if resp.status != 200:
            self._fail(resp, "checking blob %s" % digest)
        try:
            size = content_length(resp)
        except RegistryError as e:
            raise RegistryError("checking blob %s in %s: %s" % (digest, self.where, e))
        return -1 if size is None else size

    def blob_size(self, digest):
        """Size of the blob if the repository has it, else None (HEAD); -1 when the registry gives no size."""
        return self.policy.run(lambda: self._blob_size_once(digest))

    def require_blob(self, digest):
        """Like blob_size, but RegistryNotFoundError when the repository has no such blob, saying so when
        ``digest`` names a manifest instead (the classic mistake in a download URL)."""
        size = self.blob_size(digest)
        if size is not None:
            return size
        if self.manifest_exists(digest):
            raise RegistryNotFoundError(
                "%s is a manifest digest, not a blob digest, in %s: a download URL must name the layer "
                "(the k0s binary) - use k0smotron.oci.artifact_info and its blob_digest" % (digest, self.where))
        raise RegistryNotFoundError("blob %s not found in %s" % (digest, self.where))

    def _start_upload(self, what):
        base = self.url("blobs/uploads/")
        resp = self._once("POST", base)
        if resp.status != 202:
            self._fail(resp, "starting the upload of %s" % what)
        return self.transport.resolve(base, resp.header("Location"), "starting the upload of %s" % what)

    def _session_lost(self, resp, what):
        if resp.status == 404 and "BLOB_UPLOAD_UNKNOWN" in error_codes(resp.body):
            raise Transient("%s: %s lost the upload session" % (what, self.where), status=404,
                            codes=["BLOB_UPLOAD_UNKNOWN"])

    def upload_blob(self, digest, body):
        """POST an upload session, then one monolithic streamed PUT ?digest=. A retry starts a new session
        (a half-written one cannot be trusted)."""
        check_digest(digest, "uploading to %s" % self.where)
        what = "uploading blob %s" % digest

        def attempt():
            location = self._start_upload("blob %s" % digest)
            resp = self._once("PUT", _with_digest(location, digest), {"Content-Type": "application/octet-stream"}, body)
            self._session_lost(resp, what)
            if resp.status not in (201, 204):
                self._fail(resp, what)

        self.policy.run(attempt)

    def upload_file(self, digest, path, size, offset=0):
        """``upload_blob`` of a file (or of ``size`` bytes from ``offset``: a blob inside a tar), sent by the kernel
        (``sendfile``) from the start on every attempt."""
        self.upload_blob(digest, FileBody(path, size, offset))

    def upload_bytes(self, digest, data):
        """``upload_blob`` of a small blob held in memory (the empty config)."""
        self.upload_blob(digest, BytesBody(data))

    def mount_blob(self, digest, from_repository):
        """Cross-repository mount (``POST ?mount=&from=``): True when the registry linked the blob (201). False
        when it would not (202, an upload session it opened instead; left to expire): upload it then."""
        check_digest(digest, "mounting into %s" % self.where)
        url = "%s?mount=%s&from=%s" % (self.url("blobs/uploads/"), quote(digest, safe=""), quote(from_repository, safe=""))

        def attempt():
            resp = self._once("POST", url)
            if resp.status not in (201, 202):
                self._fail(resp, "mounting blob %s from %s" % (digest, from_repository))
            return resp.status == 201

        return self.policy.run(attempt)

    def upload_blob_stream(self, path, size):
        """One pass over the file: POST an upload session, one PATCH streaming the whole file while hashing
        it, then ``PUT ?digest=`` without a body. Returns the digest. Raises RegistryStreamRefused when the
        registry does not accept the PATCH (e.g. 413, 416, 400, 405): hash first and use upload_blob instead."""

        def attempt():
            location = self._start_upload(path)
            body = HashingFileBody(path, size)
            headers = {"Content-Type": "application/octet-stream"}
            if size:
                headers["Content-Range"] = "0-%d" % (size - 1)
            resp = self._once("PATCH", location, headers, body)
            if resp.status in (401, 403):
                self._fail(resp, "uploading %s" % path)
            self._session_lost(resp, "uploading %s" % path)
            if resp.status != 202 or body.digest is None:
                raise RegistryStreamRefused("%s did not accept a streamed PATCH of %d bytes (%s)"
                                            % (self.where, size, describe_status(resp)), resp.status,
                                            error_codes(resp.body))
            digest = body.digest
            location = self.transport.resolve(location, resp.header("Location") or location, "uploading %s" % path)
            resp = self._once("PUT", _with_digest(location, digest), {"Content-Type": "application/octet-stream"},
                              BytesBody(b""))
            if (resp.status == 404 and "BLOB_UPLOAD_UNKNOWN" in error_codes(resp.body)
                    and self._blob_size_once(digest) == size):
                return digest  # a retried PUT whose first attempt was committed before its answer was lost
            self._session_lost(resp, "uploading blob %s" % digest)
            if resp.status not in (201, 204):
                self._fail(resp, "uploading blob %s" % digest)
            return digest

        return self.policy.run(attempt)

    def download_blob(self, digest, out, expected_size=None):
        """Stream the blob into the binary file ``out`` while hashing; resume with Range after a broken
        connection where the server allows it, else restart. Returns the byte count.

        The size comes from ``expected_size`` (HEAD, or a manifest's layer), else from the answer's
        Content-Length; an answer with neither is refused, and nothing beyond the size is written.
        Raises RegistryDigestError when the bytes do not match ``digest``; LocalWriteError (not
        retried) when ``out`` cannot be written, e.g. a full disk."""
        download = _Download(self, digest, out, expected_size)
        self.policy.run(download.attempt)
        return download.finish()

    # ------------------------------------------------------------------ manifests
    def get_manifest(self, ref):
        """(bytes, media type, digest) for a tag or digest; RegistryNotFoundError when absent."""
        url = self._manifest_url(ref)
        what = "manifest %s" % ref if is_digest(ref) else "tag %s" % ref
        resp = self.request("GET", url, {"Accept": MANIFEST_ACCEPT}, cap=MAX_MANIFEST)
        if resp.status != 200:
            if resp.status == 404 and "MANIFEST_UNKNOWN" in error_codes(resp.body):
                raise RegistryNotFoundError("%s not found in %s" % (what, self.where), 404, ["MANIFEST_UNKNOWN"])
            self._fail(resp, "reading %s" % what)
        if resp.truncated:
            raise RegistryLimitError("%s from %s is larger than %d MiB (the limit oras applies too); refused"
                                     % (what, self.where, MAX_MANIFEST >> 20))
        digest = digest_bytes(resp.body)
        if is_digest(ref) and digest_bytes(resp.body, ref.split(":")[0]) != ref:
            raise RegistryDigestError("manifest %s from %s does not match its digest" % (ref, self.where))
        announced = resp.header("Docker-Content-Digest")
        if is_digest(announced) and digest_bytes(resp.body, announced.split(":")[0]) != announced:
            raise RegistryDigestError("%s from %s does not match the digest the registry announced (%s)"
                                      % (what, self.where, announced))
        media_type = (resp.header("Content-Type") or "").split(";")[0].strip()
        if not media_type or media_type in ("application/json", "text/plain"):
            doc = json_document(resp.body)
            media_type = (doc.get("mediaType") if isinstance(doc, dict) else None) or OCI_MANIFEST
        return resp.body, media_type, digest

    def get_manifest_json(self, ref):
        """(document dict, media type, digest, bytes); RegistryError when it is not a JSON object."""
        data, media_type, digest = self.get_manifest(ref)
        return load_json_object(data, "manifest %s of %s" % (ref, self.where)), media_type, digest, data

    def manifest_exists(self, ref):
        return self.request("HEAD", self._manifest_url(ref), {"Accept": MANIFEST_ACCEPT}).status == 200

    def manifest_digest(self, ref):
        """The digest the registry announces for a tag or digest (HEAD), or None when there is no such manifest."""
        resp = self.request("HEAD", self._manifest_url(ref), {"Accept": MANIFEST_ACCEPT})
        if resp.status == 404:
            return None
        if resp.status != 200:
            self._fail(resp, "checking manifest %s" % ref)
        announced = resp.header("Docker-Content-Digest")
        return announced if is_digest(announced) else None

    def put_manifest(self, ref, data, media_type):
        url = self._manifest_url(ref)

        def attempt():
            resp = self._once("PUT", url, {"Content-Type": media_type}, BytesBody(data))
            # distribution rewrites a repository's blob link in place when another client commits the same
            # blob (the empty config, a shared layer) at the same moment; a manifest PUT that reads the link
            # meanwhile gets MANIFEST_BLOB_UNKNOWN for a blob that is there. Retried like a 503.
            if resp.status == 400 and "MANIFEST_BLOB_UNKNOWN" in error_codes(resp.body):
                raise Transient("pushing manifest %s: %s does not have a blob the manifest names (%s)"
                                % (ref, self.where, error_detail(resp.body)), status=400,
                                codes=error_codes(resp.body), give_up=RegistryNotFoundError)
            if resp.status not in (200, 201, 202):
                self._fail(resp, "pushing manifest %s" % ref)

        self.policy.run(attempt)
        return digest_bytes(data)


class _Download:
    """One blob download: the attempts share the bytes written so far (Range resumes) and the hash."""

    def __init__(self, client, digest, out, expected_size):
        self.client = client
        self.digest = digest
        self.url = client._blob_url(digest)
        self.algorithm = digest.split(":", 1)[0]
        self.out = out
        self.expected = expected_size if expected_size is not None and expected_size >= 0 else None
        self.hasher = hashlib.new(self.algorithm)
        self.written = 0
        self.buf = bytearray(CHUNK)

    def _restart(self):
        self.out.seek(0)
        self.out.truncate()
        self.hasher = hashlib.new(self.algorithm)
        self.written = 0

    def _fail(self, message):
        self.client.transport.drop(self.url)
        raise RegistryLimitError("fetching blob %s from %s: %s; nothing was installed"
                                 % (self.digest, self.client.where, message))

    def attempt(self):
        client = self.client
        headers = {"Accept": "*/*"}
        if self.written:
            headers["Range"] = "bytes=%d-" % self.written
        resp = client._once("GET", self.url, headers, stream=True)
        if resp.status not in (200, 206):
            if resp.status == 416 and self.written and self.written == self.expected:
                return
            if resp.status == 404 and client._once("HEAD", client._manifest_url(self.digest),
                                                   {"Accept": MANIFEST_ACCEPT}).status == 200:
                raise RegistryNotFoundError(
                    "%s is a manifest digest, not a blob digest, in %s: a download URL must name the layer "
                    "(the k0s binary) - use k0smotron.oci.artifact_info and its blob_digest" % (self.digest, client.where))
            client._fail(resp, "fetching blob %s" % self.digest)
        if resp.status == 200 and self.written:
            self._restart()
        self._check_length(resp)
        self._copy(resp)

    def _check_length(self, resp):
        try:
            length = content_length(resp)
        except RegistryError as e:
            self._fail(str(e))
        total = None if length is None else length + (self.written if resp.status == 206 else 0)
        if self.expected is None:
            if total is None:
                self._fail("the answer has no usable Content-Length and the blob's size is not known otherwise "
                           "(HEAD, manifest); refused rather than writing without a bound")
            self.expected = total
        elif total is not None and total != self.expected:
            self._fail("the answer announces %d bytes, the blob has %d" % (total, self.expected))

    def _copy(self, resp):
        view = memoryview(self.buf)
        transport = self.client.transport
        try:
            while self.written < self.expected:
                n = resp.raw.readinto(view[:min(CHUNK, self.expected - self.written)])
                if not n:
                    break
                self._write(view[:n])
            extra = resp.raw.read(1) if self.written >= self.expected else b""
        except (LocalWriteError, RegistryLimitError):
            raise
        except Exception as e:
            transport.drop(self.url)
            raise Transient("fetching blob %s from %s broke off after %d bytes: %s"
                            % (self.digest, self.client.where, self.written, e.__class__.__name__))
        if extra:
            self._fail("the registry sent more than the %d bytes of the blob" % self.expected)
        if self.written < self.expected:
            transport.drop(self.url)
            raise Transient("fetching blob %s from %s ended after %d of %d bytes"
                            % (self.digest, self.client.where, self.written, self.expected))

    def _write(self, data):
        try:
            self.out.write(data)
        except (IOError, OSError) as e:
            self.client.transport.drop(self.url)
            full = " (the disk or quota is full)" if e.errno in DISK_FULL else ""
            raise LocalWriteError("fetching blob %s from %s: writing it to disk failed after %d bytes: %s%s; "
                                  "not retried" % (self.digest, self.client.where, self.written,
                                                   e.strerror or e, full))
        self.hasher.update(data)
        self.written += len(data)

    def finish(self):
        actual = "%s:%s" % (self.algorithm, self.hasher.hexdigest())
        if actual != self.digest:
            raise RegistryDigestError("blob %s from %s does not match its digest: received %d bytes hashing to %s; "
                                      "nothing was installed" % (self.digest, self.client.where, self.written, actual))
        return self.written


def client_from_params(params, reference, push=False):
    """A RegistryClient for ``reference`` (a _reference.Reference) built from the shared options."""
    return RegistryClient(
        reference.registry, reference.repository,
        credentials=credentials_from_params(params, reference.registry),
        plain_http=params.get("plain_http", False),
        validate_certs=params.get("validate_certs", True),
        ca_path=params.get("ca_path"),
        timeout=params.get("timeout") or 60.0,
        retries=params.get("retries") if params.get("retries") is not None else 3,
        push=push,
    )
