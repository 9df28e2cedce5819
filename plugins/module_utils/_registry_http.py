# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
#
# This module util is PRIVATE to the collection. It can change at any time without notice.
"""HTTP for the registry client: connections, one attempt of a request, capped reads, safe redirects,
request bodies, and the ONE retry policy every registry operation goes through.

Nothing here retries by itself: an attempt that is worth repeating raises ``Transient``, and only
``RetryPolicy.run`` repeats, so ``retries: N`` means at most N+1 attempts of any request.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import email.utils
import hashlib
import socket
import ssl
import time

from ansible.module_utils.six.moves import http_client
from ansible.module_utils.six.moves.urllib.parse import urljoin, urlsplit

from ansible_collections.k0smotron.oci.plugins.module_utils._registry_errors import (
    RegistryConnectionError,
    RegistryError,
    Transient,
    error_detail,
)

CHUNK = 1 << 20
MAX_REDIRECTS = 5
MAX_RETRY_AFTER = 60.0
MAX_BACKOFF = 10.0
MAX_SMALL_BODY = 64 << 10  # error bodies and other answers that are not documents
DEFAULT_PORTS = {"http": 80, "https": 443}
REDIRECTS = (301, 302, 303, 307, 308)


def origin(url):
    """(scheme, host, effective port) of ``url``: what must match before credentials go along."""
    parts = urlsplit(url)
    scheme = (parts.scheme or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = -1
    return scheme, (parts.hostname or "").lower(), port or DEFAULT_PORTS.get(scheme)


def retry_after_seconds(value):
    """Seconds from a Retry-After header (seconds or an HTTP date), capped at 60; None if unusable."""
    if not value:
        return None
    try:
        return max(0.0, min(float(value), MAX_RETRY_AFTER))
    except ValueError:
        parsed = email.utils.parsedate_tz(value)
        if parsed:
            return max(0.0, min(email.utils.mktime_tz(parsed) - time.time(), MAX_RETRY_AFTER))
    return None


class RetryPolicy:
    """``run(attempt)`` calls ``attempt()`` until it returns. A ``Transient`` failure waits (Retry-After,
    else exponential backoff from ``backoff`` s, at most 10 s) and tries again, ``retries`` times at most;
    the last failure becomes its ``give_up`` error saying how many attempts were made."""

    def __init__(self, retries, sleep=time.sleep, backoff=0.5):
        self.retries = max(0, int(retries))
        self.sleep = sleep
        self.backoff = backoff

    def delay(self, attempt, retry_after):
        return retry_after if retry_after is not None else min(self.backoff * (2 ** attempt), MAX_BACKOFF)

    def run(self, attempt_fn):
        attempt = 0
        while True:
            try:
                return attempt_fn()
            except Transient as e:
                if attempt >= self.retries:
                    raise e.give_up("%s (gave up after %d attempts; option retries)" % (e, attempt + 1),
                                    **_give_up_kwargs(e))
                delay = self.delay(attempt, e.retry_after)
                if delay > 0:
                    self.sleep(delay)
                attempt += 1


def _give_up_kwargs(e):
    kwargs = {"status": e.status, "codes": e.codes}
    if issubclass(e.give_up, RegistryConnectionError):
        kwargs["retry_after"] = e.retry_after
    return kwargs


class BytesBody:
    def __init__(self, data):
        self.data = data
        self.length = len(data)

    def send(self, conn):
        conn.send(self.data)


class FileBody:
    """A file sent from the start on every attempt by the kernel (``sendfile``; SSL sockets fall back
    to a send loop). The registry checks it against the ``?digest=`` of the PUT."""

    def __init__(self, path, length, offset=0):
        self.path = path
        self.length = length
        self.offset = offset  # a blob inside a tar (an OCI image layout read in place)

    def send(self, conn):
        with open(self.path, "rb") as f:
            conn.sock.sendfile(f, self.offset, self.length)


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


class Response:
    """Status, headers and (unless streamed) the body, read up to a cap."""

    def __init__(self, raw, body=None, truncated=False):
        self.raw = raw
        self.status = raw.status
        self.reason = raw.reason
        self.body = body
        self.truncated = truncated

    def header(self, name, default=None):
        return self.raw.getheader(name, default)


def content_length(resp):
    """The announced Content-Length as an int; None when absent; RegistryError when malformed."""
    value = resp.header("Content-Length")
    if value is None:
        return None
    value = value.strip()
    if not value.isdigit() or len(value) > 18:
        raise RegistryError("unusable Content-Length header (%d characters, not a non-negative integer)" % len(value))
    return int(value)


class Transport:
    """Connections to one registry (and where it redirects to). Every method is ONE attempt."""

    def __init__(self, registry, where, plain_http=False, validate_certs=True, ca_path=None, timeout=60.0):
        self.registry = registry
        self.where = where
        self.plain_http = plain_http
        self.scheme = "http" if plain_http else "https"
        self.timeout = timeout
        self.origin = origin("%s://%s/" % (self.scheme, registry))
        self._ssl = None
        if not plain_http:
            self._ssl = ssl.create_default_context(cafile=ca_path) if ca_path else ssl.create_default_context()
            if not validate_certs:
                self._ssl.check_hostname = False
                self._ssl.verify_mode = ssl.CERT_NONE
        self._conns = {}

    # ------------------------------------------------------------------ places
    def host_words(self, netloc):
        if netloc == self.registry:
            return self.where
        return "%s (redirected from %s)" % (netloc, self.where)

    def same_origin(self, url):
        return origin(url) == self.origin

    def resolve(self, base, location, what):
        """``location`` (a redirect or an upload Location) against ``base``; refuses a downgrade from https to
        http (credentials and content would go in clear text) unless plain_http, and non-HTTP schemes."""
        if not location:
            raise RegistryError("%s: %s sent no Location" % (what, self.where))
        location = location.strip()
        # A server's text goes into messages and logs: control characters (terminal escapes) are refused, not shown.
        if any(ord(c) < 32 or ord(c) == 127 for c in location):
            raise RegistryError("%s: %s sent a Location with control characters; refused" % (what, self.where))
        try:
            target = urljoin(base, location)
            scheme = urlsplit(target).scheme.lower()
        except ValueError:
            raise RegistryError("%s: %s sent a Location that is not a URL; refused" % (what, self.where))
        if scheme not in ("http", "https"):
            raise RegistryError("%s: %s sent a Location with scheme %r; only http(s) is followed" % (what, self.where, scheme))
        if scheme == "http" and urlsplit(base).scheme.lower() == "https" and not self.plain_http:
            raise RegistryError("%s: %s sent the client from https to http (%s); refused, because credentials and "
                                "content would travel in clear text (plain_http: true is for plain-HTTP registries only)"
                                % (what, self.where, urlsplit(target).netloc))
        return target

    def speaks_tls(self):
        """Whether the registry's port completes a TLS handshake (certificate not checked): explains a 400
        answered to plain HTTP, which is all an HTTPS server can say to a plain-HTTP client."""
        parts = urlsplit("//" + self.registry)
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        try:
            with socket.create_connection((parts.hostname, parts.port or DEFAULT_PORTS["http"]),
                                          timeout=min(self.timeout, 10)) as sock:
                with context.wrap_socket(sock, server_hostname=parts.hostname):
                    return True
        except (OSError, ValueError):
            return False

    # ------------------------------------------------------------------ connections
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

    def drop(self, url):
        parts = urlsplit(url)
        conn = self._conns.pop((parts.scheme, parts.netloc), None)
        if conn is not None:
            conn.close()

    # ------------------------------------------------------------------ one attempt
    def send(self, method, url, headers, body=None):
        """Send one request and return the raw response (headers read, body not)."""
        parts = urlsplit(url)
        path = parts.path + ("?" + parts.query if parts.query else "")
        conn = self._connection(parts.scheme, parts.netloc)
        words = self.host_words(parts.netloc)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            for key, value in headers.items():
                try:
                    conn.putheader(key, value)
                except ValueError:
                    # http.client's message quotes the value (a token, a password): name the header only.
                    raise RegistryError("refusing to send an invalid value in header %s to %s" % (key, words))
            conn.putheader("Content-Length", str(body.length if body is not None else 0))
            conn.endheaders()
            if body is not None:
                body.send(conn)
            return conn.getresponse()
        except RegistryError:
            self.drop(url)
            raise
        except Exception as e:
            self.drop(url)
            raise self._connection_error(e, parts.scheme, words)

    def _connection_error(self, e, scheme, words):
        """A failed attempt as Transient (worth retrying) or RegistryConnectionError (not)."""
        if isinstance(e, ssl.SSLCertVerificationError):
            return RegistryConnectionError(
                "TLS certificate of %s could not be verified (%s): set ca_path to the CA bundle that signed it, "
                "or validate_certs: false only for testing" % (words, e.verify_message or e.reason))
        if isinstance(e, ssl.SSLError):
            if "WRONG_VERSION_NUMBER" in str(e) or "wrong version number" in str(e):
                return RegistryConnectionError("%s does not speak TLS on this port: set plain_http: true for a "
                                               "plain-HTTP registry" % words)
            return Transient("TLS error talking to %s: %s" % (words, e.reason or e.__class__.__name__))
        if isinstance(e, ConnectionRefusedError):
            return Transient("cannot connect to %s: connection refused (is the registry running and the port right?)"
                             % words)
        if isinstance(e, socket.timeout):
            return Transient("no answer from %s within %s s (option timeout)" % (words, self.timeout))
        if isinstance(e, socket.gaierror):
            return RegistryConnectionError("cannot resolve the host of %s: %s" % (words, e.strerror or e))
        if isinstance(e, (http_client.HTTPException, OSError)):
            hint = ""
            if isinstance(e, (http_client.BadStatusLine, http_client.RemoteDisconnected)) and scheme == "http":
                hint = " (if the registry serves HTTPS, set plain_http: false)"
            return Transient("connection to %s failed: %s%s" % (words, _describe(e), hint))
        return RegistryError("talking to %s failed: %s" % (words, e.__class__.__name__))

    def read(self, url, raw, cap):
        """(body, truncated): at most ``cap`` bytes of the body. A longer body is cut (and its connection
        dropped); a body that breaks off or stalls is Transient."""
        try:
            data = raw.read(cap + 1)
        except Exception as e:
            self.drop(url)
            raise self._connection_error(e, urlsplit(url).scheme, self.host_words(urlsplit(url).netloc))
        if len(data) > cap:
            self.drop(url)
            return data[:cap], True
        if raw.length:
            # The server promised more than it sent before the connection ended.
            self.drop(url)
            raise Transient("the answer of %s broke off after %d bytes, %d more were announced"
                            % (self.host_words(urlsplit(url).netloc), len(data), raw.length))
        return data, False

    def discard(self, url, raw):
        """Throw away a body we do not need (at most 64 KiB of it)."""
        self.read(url, raw, MAX_SMALL_BODY)


def _describe(e):
    text = str(e) if isinstance(e, OSError) and not isinstance(e, http_client.HTTPException) else ""
    if isinstance(e, http_client.IncompleteRead):
        text = "%d bytes read, %s more expected" % (len(e.partial), e.expected)
    return e.__class__.__name__ + (": %s" % text if text else "")


def describe_status(resp):
    """``503 Service Unavailable: UNAVAILABLE: busy`` for messages."""
    detail = error_detail(resp.body or b"")
    return "%d %s%s" % (resp.status, resp.reason, (": " + detail) if detail else "")
