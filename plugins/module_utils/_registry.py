# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
#
# This module util is PRIVATE to the collection. It can change at any time without notice.
"""A small OCI Distribution (v1.1) client on the standard library.

Runs on managed nodes, so nothing outside the standard library and ansible. Blobs are streamed
(``socket.sendfile`` or 1 MiB chunks), never held in memory. Retries re-send bodies from the start.
No secret (password, token, Authorization header) ever goes into an exception message.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import email.utils
import hashlib
import json
import os
import re
import socket
import ssl
import time

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.module_utils.six.moves import http_client
from ansible.module_utils.six.moves.urllib.parse import quote, urlencode, urljoin, urlsplit

from ansible_collections.k0smotron.oci.plugins.module_utils._docker_config import (
    Credentials,
    DockerConfigError,
    credentials_for,
)

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFEST_ACCEPT = ", ".join([OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST])
INDEX_TYPES = (OCI_INDEX, DOCKER_MANIFEST_LIST)

CHUNK = 1 << 20
MAX_REDIRECTS = 5
MAX_RETRY_AFTER = 60.0

REGISTRY_ARG_SPEC = dict(
    username=dict(type="str", fallback=(env_fallback, ["K0SMOTRON_OCI_USERNAME"])),
    password=dict(type="str", no_log=True, aliases=["token"], fallback=(env_fallback, ["K0SMOTRON_OCI_PASSWORD"])),
    config_path=dict(type="path", fallback=(env_fallback, ["K0SMOTRON_OCI_CONFIG_PATH"])),
    plain_http=dict(type="bool", default=False, fallback=(env_fallback, ["K0SMOTRON_OCI_PLAIN_HTTP"])),
    validate_certs=dict(type="bool", default=True, fallback=(env_fallback, ["K0SMOTRON_OCI_VALIDATE_CERTS"])),
    ca_path=dict(type="path", fallback=(env_fallback, ["K0SMOTRON_OCI_CA_PATH"])),
    timeout=dict(type="float", default=60.0, fallback=(env_fallback, ["K0SMOTRON_OCI_TIMEOUT"])),
    retries=dict(type="int", default=3, fallback=(env_fallback, ["K0SMOTRON_OCI_RETRIES"])),
)


class RegistryError(Exception):
    """Base error; ``str()`` names the registry and repository and never holds a secret."""


class RegistryAuthError(RegistryError):
    pass


class RegistryNotFoundError(RegistryError):
    pass


class RegistryDigestError(RegistryError):
    pass


class RegistryConnectionError(RegistryError):
    def __init__(self, message, retry_after=None):
        RegistryError.__init__(self, message)
        self.retry_after = retry_after


class RegistryStreamRefused(RegistryError):
    """The registry does not take a whole blob in one streamed PATCH (some cap chunk sizes or want a
    monolithic PUT): the caller falls back to hashing first and a monolithic PUT."""


class _Retryable(Exception):
    """Internal: an attempt failed in a way worth retrying (carries the message and a Retry-After)."""

    def __init__(self, message, retry_after=None):
        Exception.__init__(self, message)
        self.retry_after = retry_after


class BytesBody:
    def __init__(self, data):
        self.data = data
        self.length = len(data)

    def send(self, conn):
        conn.send(self.data)


class FileBody:
    """A file sent from the start on every attempt by the kernel (``sendfile``; SSL sockets fall back
    to a send loop). The registry checks it against the ``?digest=`` of the PUT."""

    def __init__(self, path, length):
        self.path = path
        self.length = length

    def send(self, conn):
        with open(self.path, "rb") as f:
            conn.sock.sendfile(f, 0, self.length)


class HashingFileBody:
    """A file read in 1 MiB chunks and hashed while it is sent (one pass over the file); ``digest``
    holds ``sha256:<hex>`` of what was sent once a send completed. Every send starts from the beginning."""

    def __init__(self, path, length, algorithm="sha256"):
        self.path = path
        self.length = length
        self.algorithm = algorithm
        self.digest = None

    def send(self, conn):
        self.digest = None
        hasher = hashlib.new(self.algorithm)
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        left = self.length
        with open(self.path, "rb") as f:
            while left:
                n = f.readinto(buf)
                if not n:
                    raise RegistryError("%s shrank while it was being uploaded; nothing was pushed" % self.path)
                n = min(n, left)
                hasher.update(view[:n])
                conn.send(view[:n])
                left -= n
        self.digest = "%s:%s" % (self.algorithm, hasher.hexdigest())


def parse_challenge(header):
    """``Bearer realm="...",service="...",scope="..."`` -> ("bearer", {realm:..., ...})."""
    if not header:
        return None, {}
    scheme, rest = (header.strip().split(" ", 1) + [""])[:2]
    params = dict((k.lower(), v) for k, v in re.findall(r'([A-Za-z_]+)\s*=\s*"([^"]*)"', rest))
    return scheme.lower(), params


def _retry_after_seconds(value):
    if not value:
        return None
    try:
        return min(float(value), MAX_RETRY_AFTER)
    except ValueError:
        parsed = email.utils.parsedate_tz(value)
        if parsed:
            return max(0.0, min(email.utils.mktime_tz(parsed) - time.time(), MAX_RETRY_AFTER))
    return None


def _error_detail(body):
    """The registry's own error text ({"errors": [{code, message}]}), trimmed; '' if none."""
    try:
        errors = json.loads(body.decode("utf-8")).get("errors") or []
        return "; ".join("%s: %s" % (e.get("code", "?"), e.get("message", "")) for e in errors)[:300]
    except (ValueError, AttributeError, UnicodeDecodeError):
        return ""


def _error_codes(body):
    try:
        return set(e.get("code") for e in json.loads(body.decode("utf-8")).get("errors") or [])
    except (ValueError, AttributeError, UnicodeDecodeError):
        return set()


class Response:
    """Status, headers and (for non-streamed requests) the whole small body."""

    def __init__(self, raw, body=None):
        self.raw = raw
        self.status = raw.status
        self.body = body

    def header(self, name, default=None):
        return self.raw.getheader(name, default)


class RegistryClient:
    """Talks to one repository on one registry. ``push=True`` asks for ``pull,push`` up front."""

    def __init__(self, registry, repository, credentials=None, plain_http=False, validate_certs=True,
                 ca_path=None, timeout=60.0, retries=3, push=False, sleep=time.sleep, backoff=0.5):
        self.registry = registry
        self.repository = repository
        self.credentials = credentials or Credentials()
        self.scheme = "http" if plain_http else "https"
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.actions = "pull,push" if push else "pull"
        self.sleep = sleep
        self.backoff = backoff
        self._ssl = None
        if not plain_http:
            self._ssl = ssl.create_default_context(cafile=ca_path) if ca_path else ssl.create_default_context()
            if not validate_certs:
                self._ssl.check_hostname = False
                self._ssl.verify_mode = ssl.CERT_NONE
        self._conns = {}
        self._auth_header = None

    # ------------------------------------------------------------------ plumbing
    @property
    def where(self):
        return "registry %s, repository %s" % (self.registry, self.repository)

    def url(self, path):
        return "%s://%s/v2/%s/%s" % (self.scheme, self.registry, self.repository, path)

    def close(self):
        for conn in self._conns.values():
            conn.close()
        self._conns = {}

    def _connection(self, scheme, netloc):
        key = (scheme, netloc)
        conn = self._conns.get(key)
        if conn is None:
            if scheme == "https":
                conn = http_client.HTTPSConnection(netloc, timeout=self.timeout, context=self._ssl)
            else:
                conn = http_client.HTTPConnection(netloc, timeout=self.timeout)
            self._conns[key] = conn
        return conn

    def _drop_connection(self, scheme, netloc):
        conn = self._conns.pop((scheme, netloc), None)
        if conn is not None:
            conn.close()

    def _attempt(self, method, url, headers, body):
        parts = urlsplit(url)
        path = parts.path + ("?" + parts.query if parts.query else "")
        conn = self._connection(parts.scheme, parts.netloc)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            for key, value in headers.items():
                conn.putheader(key, value)
            conn.putheader("Content-Length", str(body.length if body is not None else 0))
            conn.endheaders()
            if body is not None:
                body.send(conn)
            return conn.getresponse()
        except ssl.SSLCertVerificationError as e:
            self._drop_connection(parts.scheme, parts.netloc)
            raise RegistryConnectionError(
                "TLS certificate of %s could not be verified (%s): set ca_path to the CA bundle that signed it, "
                "or validate_certs: false only for testing" % (self._host_words(parts.netloc), e.verify_message or e.reason))
        except ssl.SSLError as e:
            self._drop_connection(parts.scheme, parts.netloc)
            if "WRONG_VERSION_NUMBER" in str(e) or "wrong version number" in str(e):
                raise RegistryConnectionError("%s does not speak TLS on this port: set plain_http: true for a plain-HTTP "
                                              "registry" % self._host_words(parts.netloc))
            raise _Retryable("TLS error talking to %s: %s" % (self._host_words(parts.netloc), e.reason or e))
        except ConnectionRefusedError:
            self._drop_connection(parts.scheme, parts.netloc)
            raise _Retryable("cannot connect to %s: connection refused (is the registry running and the port right?)"
                             % self._host_words(parts.netloc))
        except socket.timeout:
            self._drop_connection(parts.scheme, parts.netloc)
            raise _Retryable("no answer from %s within %s s (option timeout)" % (self._host_words(parts.netloc), self.timeout))
        except socket.gaierror as e:
            self._drop_connection(parts.scheme, parts.netloc)
            raise RegistryConnectionError("cannot resolve the host of %s: %s" % (self._host_words(parts.netloc), e.strerror or e))
        except (http_client.HTTPException, OSError) as e:
            self._drop_connection(parts.scheme, parts.netloc)
            hint = ""
            if isinstance(e, (http_client.BadStatusLine, http_client.RemoteDisconnected)) and parts.scheme == "http":
                hint = " (if the registry serves HTTPS, set plain_http: false)"
            raise _Retryable("connection to %s failed: %s%s" % (self._host_words(parts.netloc),
                                                                e.__class__.__name__ + (": %s" % e if str(e) else ""), hint))

    def _host_words(self, netloc):
        if netloc == self.registry:
            return self.where
        return "%s (redirected from %s)" % (netloc, self.where)

    def _sleep_before_retry(self, attempt, retry_after):
        delay = retry_after if retry_after is not None else min(self.backoff * (2 ** attempt), 10.0)
        if delay > 0:
            self.sleep(delay)

    def _with_retries(self, step, retries=None):
        """``step()`` until it returns; a _Retryable failure backs off (Retry-After, else exponential) and
        tries again, at most ``retries`` times (default: the client's)."""
        retries = self.retries if retries is None else retries
        attempt = 0
        while True:
            try:
                return step()
            except _Retryable as e:
                if attempt >= retries:
                    raise RegistryConnectionError("%s (gave up after %d attempts; option retries)" % (e, attempt + 1),
                                                  e.retry_after)
                self._sleep_before_retry(attempt, e.retry_after)
                attempt += 1

    def request(self, method, url, headers=None, body=None, stream=False, redirects=True, retries=None):
        """One HTTP exchange with auth, retries (connection errors, 429, 5xx) and safe redirects.

        Returns a Response; the body is read unless ``stream`` (then the caller reads ``raw``).
        ``retries`` overrides the client's count (0: the caller restarts a non-repeatable step itself).
        Every retry starts over at ``url``: a presigned redirect may have expired.
        """
        headers = dict(headers or {})
        return self._with_retries(lambda: self._exchange(method, url, headers, body, stream, redirects), retries)

    def _exchange(self, method, url, headers, body, stream, redirects):
        authed_once = False
        hops = 0
        target = url
        while True:
            send_headers = dict(headers)
            # Never forward Authorization to another host (S3/CDN redirects carry their own signature).
            if self._auth_header and urlsplit(target).netloc == self.registry:
                send_headers["Authorization"] = self._auth_header
            raw = self._attempt(method, target, send_headers, body)
            status = raw.status
            if status == 401 and not authed_once and urlsplit(target).netloc == self.registry:
                raw.read()
                authed_once = True
                self._authenticate(raw.getheader("WWW-Authenticate"))
                continue
            if status == 429 or 500 <= status < 600 and status != 501:
                detail = _error_detail(raw.read())
                raise _Retryable("%s answered %d %s%s" % (self._host_words(urlsplit(target).netloc), status,
                                                          raw.reason, (": " + detail) if detail else ""),
                                 _retry_after_seconds(raw.getheader("Retry-After")))
            if redirects and status in (301, 302, 303, 307, 308) and method in ("GET", "HEAD"):
                raw.read()
                hops += 1
                if hops > MAX_REDIRECTS:
                    raise RegistryError("too many redirects from %s" % self.where)
                target = urljoin(target, raw.getheader("Location"))
                continue
            if stream:
                return Response(raw)
            return Response(raw, raw.read())

    # ------------------------------------------------------------------ auth
    def _authenticate(self, header):
        scheme, params = parse_challenge(header)
        creds = self.credentials
        if scheme == "basic":
            if not (creds.username or creds.password):
                raise RegistryAuthError("%s requires a login (basic auth) and no credentials were found: set username "
                                        "and password, or log in so that %s has an entry" % (self.where, creds.source))
            token = "%s:%s" % (creds.username or "", creds.password or "")
            self._auth_header = "Basic " + base64.b64encode(token.encode("utf-8")).decode("ascii")
        elif scheme == "bearer":
            self._auth_header = "Bearer " + self._fetch_token(params)
        else:
            raise RegistryAuthError("%s answered 401 with an unsupported challenge %r" % (self.where, scheme))

    def _fetch_token(self, params):
        realm = params.get("realm")
        if not realm:
            raise RegistryAuthError("%s sent a Bearer challenge without a realm" % self.where)
        scope = "repository:%s:%s" % (self.repository, self.actions)
        query = {"scope": scope}
        if params.get("service"):
            query["service"] = params["service"]
        creds = self.credentials
        headers = {"Accept": "application/json"}
        body = None
        method = "GET"
        if creds.identity_token:
            method = "POST"
            form = dict(query, grant_type="refresh_token", refresh_token=creds.identity_token,
                        client_id="k0smotron.oci")
            body = BytesBody(urlencode(form).encode("ascii"))
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            url = realm
        else:
            url = realm + ("&" if "?" in realm else "?") + urlencode(query)
            if creds.username or creds.password:
                pair = "%s:%s" % (creds.username or "", creds.password or "")
                headers["Authorization"] = "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")

        def token_request():
            raw = self._attempt(method, url, headers, body)
            data = raw.read()
            if raw.status == 429 or 500 <= raw.status < 600:
                raise _Retryable("token service %s answered %d" % (urlsplit(realm).netloc, raw.status),
                                 _retry_after_seconds(raw.getheader("Retry-After")))
            return raw, data

        raw, data = self._with_retries(token_request)
        if raw.status in (401, 403):
            raise RegistryAuthError(
                "token service %s refused %s for %s (%d): check username and password (or the entry in %s)"
                % (urlsplit(realm).netloc, self.actions, self.where, raw.status, creds.source))
        if raw.status != 200:
            raise RegistryAuthError("token service %s answered %d for %s" % (urlsplit(realm).netloc, raw.status, self.where))
        try:
            answer = json.loads(data.decode("utf-8"))
            return answer.get("token") or answer["access_token"]
        except (ValueError, KeyError, AttributeError):
            raise RegistryAuthError("token service %s returned no token for %s" % (urlsplit(realm).netloc, self.where))

    # ------------------------------------------------------------------ errors
    def _fail(self, resp, what):
        detail = _error_detail(resp.body or b"")
        codes = _error_codes(resp.body or b"")
        suffix = (" (%s)" % detail) if detail else ""
        if resp.status == 401:
            who = ("as user %r" % self.credentials.username) if self.credentials.username else "anonymously"
            raise RegistryAuthError("%s: authentication failed %s (401) for %s: check username and password "
                                    "(or the entry in %s)%s" % (what, who, self.where, self.credentials.source, suffix))
        if resp.status == 403:
            raise RegistryAuthError("%s: access denied (403) to %s: the account lacks %s rights%s"
                                    % (what, self.where, self.actions, suffix))
        if resp.status == 404:
            if "NAME_UNKNOWN" in codes:
                raise RegistryNotFoundError("%s: repository %s does not exist on registry %s%s"
                                            % (what, self.repository, self.registry, suffix))
            if not codes:
                raise RegistryNotFoundError("%s: %s answered 404 without a registry error: is %s an OCI registry "
                                            "(and the path right)?" % (what, self.where, self.registry))
            raise RegistryNotFoundError("%s: not found in %s%s" % (what, self.where, suffix))
        if resp.status == 400 and "MANIFEST_BLOB_UNKNOWN" in codes:
            raise RegistryNotFoundError("%s: %s does not have a blob the manifest names (gave up after %d attempts; "
                                        "option retries)%s" % (what, self.where, self.retries + 1, suffix))
        if resp.status == 400 and "DIGEST_INVALID" in codes:
            raise RegistryDigestError("%s: %s rejected the upload: the content does not match its digest%s"
                                      % (what, self.where, suffix))
        content_type = (resp.header("Content-Type") or "").lower()
        if not codes and content_type and "json" not in content_type:
            # Not the registry API talking (a web server, a proxy's error page): say so.
            suffix += (": the answer (%s) is not from an OCI registry API - is %s an OCI registry (and the port "
                       "right)?" % (content_type.split(";")[0], self.registry))
        raise RegistryError("%s: %s answered %d %s%s" % (what, self.where, resp.status, resp.raw.reason, suffix))

    # ------------------------------------------------------------------ blobs
    def blob_size(self, digest):
        """Size of the blob if the repository has it, else None (HEAD)."""
        resp = self.request("HEAD", self.url("blobs/" + digest))
        if resp.status == 200:
            return int(resp.header("Content-Length") or -1)
        if resp.status == 404:
            return None
        self._fail(resp, "checking blob %s" % digest)

    def upload_blob(self, digest, body):
        """POST an upload session, then one monolithic streamed PUT ?digest=. Retries restart the session."""
        attempt = 0
        while True:
            resp = self.request("POST", self.url("blobs/uploads/"))
            if resp.status != 202:
                self._fail(resp, "starting the upload of blob %s" % digest)
            location = urljoin(self.url("blobs/uploads/"), resp.header("Location"))
            location += ("&" if "?" in location else "?") + "digest=" + quote(digest)
            try:
                resp = self.request("PUT", location, {"Content-Type": "application/octet-stream"}, body)
            except RegistryConnectionError:
                # The session may be half-written on the server; a new one starts clean.
                if attempt >= self.retries:
                    raise
                attempt += 1
                continue
            if resp.status == 404 and "BLOB_UPLOAD_UNKNOWN" in _error_codes(resp.body) and attempt < self.retries:
                attempt += 1
                continue
            if resp.status not in (201, 204):
                self._fail(resp, "uploading blob %s" % digest)
            return

    def upload_blob_stream(self, path, size):
        """One pass over the file: POST an upload session, one PATCH streaming the whole file while hashing
        it, then ``PUT ?digest=`` without a body. Returns the digest. A broken PATCH restarts the session
        (a half-written session cannot be trusted). Raises RegistryStreamRefused when the registry does not
        accept the PATCH (e.g. 413, 416, 400, 405): hash first and use upload_blob instead."""
        attempt = 0
        while True:
            resp = self.request("POST", self.url("blobs/uploads/"))
            if resp.status != 202:
                self._fail(resp, "starting the upload of %s" % path)
            location = urljoin(self.url("blobs/uploads/"), resp.header("Location"))
            body = HashingFileBody(path, size)
            headers = {"Content-Type": "application/octet-stream"}
            if size:
                headers["Content-Range"] = "0-%d" % (size - 1)
            try:
                resp = self.request("PATCH", location, headers, body, retries=0)
            except RegistryConnectionError as e:
                if attempt >= self.retries:
                    raise RegistryConnectionError("%s (gave up after %d attempts; option retries)"
                                                  % (str(e).partition(" (gave up after")[0], attempt + 1))
                self._sleep_before_retry(attempt, e.retry_after)
                attempt += 1
                continue
            if resp.status in (401, 403):
                self._fail(resp, "uploading %s" % path)
            if resp.status == 404 and "BLOB_UPLOAD_UNKNOWN" in _error_codes(resp.body) and attempt < self.retries:
                attempt += 1
                continue
            if resp.status != 202 or body.digest is None:
                detail = _error_detail(resp.body or b"")
                raise RegistryStreamRefused("%s did not accept a streamed PATCH of %d bytes (%d %s%s)"
                                            % (self.where, size, resp.status, resp.raw.reason,
                                               (": " + detail) if detail else ""))
            digest = body.digest
            location = urljoin(location, resp.header("Location") or location)
            location += ("&" if "?" in location else "?") + "digest=" + quote(digest)
            resp = self.request("PUT", location, {"Content-Type": "application/octet-stream"}, BytesBody(b""))
            if resp.status == 404 and "BLOB_UPLOAD_UNKNOWN" in _error_codes(resp.body):
                # A retried PUT whose first attempt was committed before the connection broke.
                if self.blob_size(digest) == size:
                    return digest
                if attempt < self.retries:
                    attempt += 1
                    continue
            if resp.status not in (201, 204):
                self._fail(resp, "uploading blob %s" % digest)
            return digest

    def download_blob(self, digest, out, expected_size=None):
        """Stream the blob into the open binary file ``out`` while hashing; resume with Range after a
        broken connection where the server allows it, else restart. Returns the byte count.
        Raises RegistryDigestError when the bytes do not match ``digest``."""
        algorithm = digest.split(":", 1)[0]
        hasher = hashlib.new(algorithm)
        written = 0
        attempt = 0
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        while True:
            headers = {"Accept": "*/*"}
            if written:
                headers["Range"] = "bytes=%d-" % written
            resp = self.request("GET", self.url("blobs/" + digest), headers, stream=True)
            if resp.status not in (200, 206):
                resp.body = resp.raw.read()
                if resp.status == 404 and self.manifest_exists(digest):
                    raise RegistryNotFoundError(
                        "%s is a manifest digest, not a blob digest, in %s: a download URL must name the layer "
                        "(the k0s binary) - use k0smotron.oci.artifact_info and its blob_digest" % (digest, self.where))
                if resp.status == 416 and written and expected_size == written:
                    break
                self._fail(resp, "fetching blob %s" % digest)
            if resp.status == 200 and written:
                out.seek(0)
                out.truncate()
                hasher = hashlib.new(algorithm)
                written = 0
            try:
                while True:
                    n = resp.raw.readinto(buf)
                    if not n:
                        break
                    hasher.update(view[:n])
                    out.write(view[:n])
                    written += n
                if resp.raw.length:  # the server promised more than it sent
                    raise http_client.IncompleteRead(b"", resp.raw.length)
                break
            except (http_client.HTTPException, OSError) as e:
                netloc = urlsplit(self.url("")).netloc
                self._drop_connection(self.scheme, netloc)
                if attempt >= self.retries:
                    raise RegistryConnectionError("fetching blob %s from %s broke off after %d bytes: %s (gave up after "
                                                  "%d attempts; option retries)" % (digest, self.where, written,
                                                                                    e.__class__.__name__, attempt + 1))
                self._sleep_before_retry(attempt, None)
                attempt += 1
        actual = "%s:%s" % (algorithm, hasher.hexdigest())
        if actual != digest:
            raise RegistryDigestError("blob %s from %s does not match its digest: received %d bytes hashing to %s; "
                                      "nothing was installed" % (digest, self.where, written, actual))
        return written

    # ------------------------------------------------------------------ manifests
    def get_manifest(self, ref):
        """(bytes, media type, digest) for a tag or digest; RegistryNotFoundError when absent."""
        resp = self.request("GET", self.url("manifests/" + ref), {"Accept": MANIFEST_ACCEPT})
        if resp.status != 200:
            what = "tag %s" % ref if not ref.startswith("sha") else "manifest %s" % ref
            if resp.status == 404 and "MANIFEST_UNKNOWN" in _error_codes(resp.body):
                raise RegistryNotFoundError("%s not found in %s" % (what, self.where))
            self._fail(resp, "reading %s" % what)
        media_type = (resp.header("Content-Type") or "").split(";")[0].strip()
        digest = "sha256:" + hashlib.sha256(resp.body).hexdigest()
        header_digest = resp.header("Docker-Content-Digest")
        if ref.startswith("sha256:") and digest != ref:
            raise RegistryDigestError("manifest %s from %s does not match its digest (got %s)" % (ref, self.where, digest))
        if header_digest and header_digest.startswith("sha256:") and header_digest != digest:
            raise RegistryDigestError("manifest %s from %s does not match the digest the registry announced (%s)"
                                      % (ref, self.where, header_digest))
        try:
            if not media_type or media_type in ("application/json", "text/plain"):
                media_type = json.loads(resp.body.decode("utf-8")).get("mediaType", OCI_MANIFEST)
        except (ValueError, AttributeError, UnicodeDecodeError):
            pass
        return resp.body, media_type, digest

    def manifest_exists(self, ref):
        resp = self.request("HEAD", self.url("manifests/" + ref), {"Accept": MANIFEST_ACCEPT})
        return resp.status == 200

    def put_manifest(self, ref, data, media_type):
        attempt = 0
        while True:
            resp = self.request("PUT", self.url("manifests/" + ref), {"Content-Type": media_type}, BytesBody(data))
            # distribution rewrites a repository's blob link in place when another client commits the same
            # blob (the empty config, a shared layer) at the same moment; a manifest PUT that reads the link
            # meanwhile gets MANIFEST_BLOB_UNKNOWN for a blob that is there. Retry with backoff.
            if (resp.status == 400 and "MANIFEST_BLOB_UNKNOWN" in _error_codes(resp.body)
                    and attempt < self.retries):
                self._sleep_before_retry(attempt, None)
                attempt += 1
                continue
            break
        if resp.status not in (200, 201, 202):
            self._fail(resp, "pushing manifest %s" % ref)
        return "sha256:" + hashlib.sha256(data).hexdigest()


def credentials_from_params(params, registry):
    """Options win; else the docker config (config_path / DOCKER_CONFIG / ~/.docker/config.json)."""
    username, password = params.get("username"), params.get("password")
    if username is not None or password is not None:
        if not username:
            raise RegistryAuthError("option username: empty; give the registry user name (or omit both username and "
                                    "password to use the docker config.json)")
        if not password:
            raise RegistryAuthError("option password: empty for user %r; give the password or token (or omit both "
                                    "username and password to use the docker config.json)" % username)
        return Credentials(username=username, password=password, source="the username/password options")
    try:
        return credentials_for(registry, params.get("config_path"))
    except DockerConfigError as e:
        raise RegistryAuthError(str(e))


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


def params_from_options(options):
    """Registry options for code that is not an AnsibleModule (lookups): value, else env var, else default."""
    params = {}
    for name, spec in REGISTRY_ARG_SPEC.items():
        value = options.get(name)
        if value is None:
            for var in spec["fallback"][1]:
                if var in os.environ:
                    value = os.environ[var]
                    break
        if value is None:
            value = spec.get("default")
        if value is not None:
            kind = spec["type"]
            if kind == "bool":
                value = boolean(value, strict=True)
            elif kind == "int":
                value = int(value)
            elif kind == "float":
                value = float(value)
        params[name] = value
    return params
