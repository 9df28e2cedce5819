"""A scriptable fake registry for hostile and malformed answers (the real registry covers the rest).

It logs every request it receives (method, path, headers, body) and answers from a script of rules,
so a new test case is a few lines::

    with FakeRegistry() as fake:                       # or FakeRegistry(tls=certs) for HTTPS
        fake.on("GET", r"/manifests/", reply(200, body=b"x" * (5 << 20)))
        fake.on("HEAD", r"/blobs/", drop(), count=2)   # the first two HEADs: close without answering
        ...
        assert fake.count("PUT") == 4

Answers: ``reply`` (status, headers, body; ``length`` overrides or removes Content-Length, ``chunked``),
``endless`` (a body that never ends), ``trickle`` (a byte at a time), ``stall`` (headers, then silence), ``drop`` (close the connection),
``redirect`` (a Location). A request no rule matches gets ``default`` (404 NAME_UNKNOWN).
"""
import re
import socket
import ssl
import threading
import time
import http.server

import pytest

from .certs import make_ca_and_server_cert
from .servers import QuietHandler, ThreadedServer

_MAX_LOGGED_BODY = 16 << 20


class Seen:
    """One request as the server received it (``tls``: whether it came over TLS)."""

    def __init__(self, method, path, headers, body, tls=False):
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.tls = tls

    def header(self, name):
        for k, v in self.headers.items():
            if k.lower() == name.lower():
                return v
        return None

    def __repr__(self):
        return "Seen(%s %s)" % (self.method, self.path)


def _write_chunk(wfile, data):
    wfile.write(b"%x\r\n%s\r\n" % (len(data), data))


def _start(handler, status, headers, framing):
    handler.send_response(status)
    for k, v in list((headers or {}).items()) + list(framing.items()):
        handler.send_header(k, v)
    handler.end_headers()


def reply(status=200, headers=None, body=b"", length=None, chunked=False):
    """An answer. ``length``: a Content-Length value to send instead of the real one (``False``: none, and the
    connection closes after the body); ``chunked``: Transfer-Encoding chunked."""
    if isinstance(body, str):
        body = body.encode("utf-8")

    def answer(handler, seen):
        framing = {"Transfer-Encoding": "chunked"} if chunked else {"Connection": "close"} if length is False else {
            "Content-Length": str(len(body) if length is None else length)}
        _start(handler, status, headers, framing)
        handler.close_connection = handler.close_connection or length is False
        if seen.method == "HEAD":
            return
        if chunked:
            if body:
                _write_chunk(handler.wfile, body)
            handler.wfile.write(b"0\r\n\r\n")
        else:
            handler.wfile.write(body)
        if length not in (None, False) and str(length) != str(len(body)):
            handler.close_connection = True  # a lie about the length: the framing is gone
    return answer


def json_error(status, code, message="", headers=None):
    body = '{"errors":[{"code":"%s","message":"%s"}]}' % (code, message)
    return reply(status, dict({"Content-Type": "application/json"}, **(headers or {})), body)


def endless(status=200, headers=None, chunk=b"\0" * 65536, chunked=True):
    """A body that never ends (until the client goes away): chunked, or with no length at all."""
    def answer(handler, seen):
        _start(handler, status, headers, {"Transfer-Encoding": "chunked"} if chunked else {})
        handler.close_connection = True
        try:
            while not handler.server.stopping:
                if chunked:
                    _write_chunk(handler.wfile, chunk)
                else:
                    handler.wfile.write(chunk)
        except OSError:
            pass
    return answer


def stall(seconds=30, status=200, headers=None, length=100):
    """Send the headers (promising ``length`` bytes), then nothing for ``seconds``."""
    def answer(handler, seen):
        _start(handler, status, headers, {"Content-Length": str(length)})
        handler.wfile.flush()
        deadline = time.time() + seconds
        while time.time() < deadline and not handler.server.stopping:
            time.sleep(0.02)
        handler.close_connection = True
    return answer


def trickle(body, every=0.5, status=200, headers=None):
    """Send the headers (with the full length), then one byte of ``body`` every ``every`` seconds."""
    def answer(handler, seen):
        _start(handler, status, headers, {"Content-Length": str(len(body))})
        handler.close_connection = True
        try:
            for i in range(len(body)):
                if handler.server.stopping:
                    return
                handler.wfile.write(body[i:i + 1])
                handler.wfile.flush()
                time.sleep(every)
        except OSError:
            pass
    return answer


def drop():
    """Close the connection without answering."""
    def answer(handler, seen):
        handler.close_connection = True
        try:
            handler.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    return answer


def redirect(location, status=307, headers=None):
    return reply(status, dict({"Location": location}, **(headers or {})))


DEFAULT = json_error(404, "NAME_UNKNOWN", "repository name not known to registry")


class _Rule:
    def __init__(self, method, path, answer, count):
        self.method = method
        self.path = re.compile(path)
        self.answer = answer
        self.count = count
        self.hits = 0

    def matches(self, method, path):
        return (self.method in (None, method) and self.path.search(path)
                and (self.count is None or self.hits < self.count))


class FakeRegistry(ThreadedServer):
    """``tls``: a dict from ``certs.make_ca_and_server_cert`` (cert, key) to serve HTTPS (plain HTTP is
    answered on the same port too, and logged with ``tls=False``)."""

    def __init__(self, tls=None):
        self.rules = []
        self.seen = []
        self.lock = threading.Lock()
        self.default = DEFAULT
        fake = self

        class Handler(QuietHandler):

            def setup(self):
                # HTTPS and plain HTTP on the same port: a TLS ClientHello starts with 0x16. So a test can
                # see what a client sends in clear text to the same host and port after a downgrade.
                self.tls = False
                # Headers and body go out in separate writes: without TCP_NODELAY, Nagle and the client's
                # delayed ACK add 40 ms to many answers.
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if fake.context is not None:
                    try:
                        first = self.request.recv(1, socket.MSG_PEEK)
                    except OSError:
                        first = b""
                    if first == b"\x16":
                        self.request = fake.context.wrap_socket(self.request, server_side=True)
                        self.tls = True
                http.server.BaseHTTPRequestHandler.setup(self)

            def handle_one(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(n, _MAX_LOGGED_BODY)) if n else b""
                seen = Seen(self.command, self.path, dict(self.headers.items()), body, self.tls)
                with fake.lock:
                    fake.seen.append(seen)
                    answer = fake.default
                    for rule in fake.rules:
                        if rule.matches(self.command, self.path):
                            rule.hits += 1
                            answer = rule.answer
                            break
                try:
                    answer(self, seen)
                except OSError:
                    self.close_connection = True

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_one

        self.context = None
        self.scheme = "http"
        if tls:
            self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.context.load_cert_chain(tls["cert"], tls["key"])
            self.scheme = "https"
        ThreadedServer.__init__(self, Handler)
        self.httpd.stopping = False

    @property
    def host(self):
        return "127.0.0.1:%d" % self.port

    @property
    def url(self):
        return "%s://%s" % (self.scheme, self.host)

    def on(self, method, path, answer, count=None):
        """Answer requests matching ``method`` (None: any) and the ``path`` regex with ``answer``
        (the first ``count`` of them; None: all). Earlier rules win."""
        with self.lock:
            self.rules.append(_Rule(method, path, answer, count))
        return self

    def count(self, method=None, path=None):
        """How many requests with ``method`` (None: any) whose path matches ``path`` arrived."""
        with self.lock:
            return len([s for s in self.seen if method in (None, s.method)
                        and (path is None or re.search(path, s.path))])

    def requests(self, method=None, path=None):
        with self.lock:
            return [s for s in self.seen if method in (None, s.method) and (path is None or re.search(path, s.path))]

    def stop(self):
        self.httpd.stopping = True
        ThreadedServer.stop(self)


@pytest.fixture()
def fake():
    """A plain-HTTP FakeRegistry for one test (import this fixture into a test module to use it)."""
    with FakeRegistry() as srv:
        yield srv


@pytest.fixture(scope="module")
def fake_certs(tmp_path_factory):
    """A CA and a 127.0.0.1 server certificate for ``FakeRegistry(tls=fake_certs)``."""
    return make_ca_and_server_cert(str(tmp_path_factory.mktemp("fake-registry-certs")))
