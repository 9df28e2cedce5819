"""Loopback fronts for the node-side curl fetch tests (plugins/plugin_utils/_node_fetch.py).

``Front`` plays a registry (optionally over TLS, optionally asking for Basic credentials) whose blob
GETs answer with a redirect, like registries that hand blobs to S3 or a CDN. ``Recorder`` is the host
the redirect points at: it records every request's headers (to prove no credentials reach it) and
serves the blob it fetches from a real registry.
"""
import base64
import http.client
import os
import ssl
import sys
import threading

from . import tools
from .servers import QuietHandler, ThreadedServer


def node_fetch_module():
    """The collection's ``_node_fetch`` plugin util, imported from this working tree."""
    try:
        from ansible_collections.k0smotron.oci.plugins.plugin_utils import _node_fetch
    except ImportError:
        base = os.path.join(tools.TOOLS, "self")
        tools.collections_path(base)
        sys.path.insert(0, base)
        from ansible_collections.k0smotron.oci.plugins.plugin_utils import _node_fetch
    return _node_fetch


class _Base(ThreadedServer):
    def __init__(self, handler, tls=None):
        ThreadedServer.__init__(self, handler)
        self.scheme = "http"
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls["cert"], tls["key"])
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
            self.scheme = "https"
        self.requests = []  # (method, path, {header: value})
        self.lock = threading.Lock()

    @property
    def host(self):
        return "127.0.0.1:%d" % self.port

    def record(self, handler):
        with self.lock:
            self.requests.append((handler.command, handler.path, dict(handler.headers.items())))


def _handler(server, respond):
    class Handler(QuietHandler):
        def do_GET(self):
            server.record(self)
            respond(self)

        do_HEAD = do_GET

    return Handler


class Recorder(_Base):
    """Serves ``GET <anything>/blobs/<digest>`` with the bytes of that blob from ``upstream`` (a plain
    registry host holding ``repository``), and records the headers it received."""

    def __init__(self, upstream, repository, tls=None):
        self.upstream = upstream
        self.repository = repository

        def respond(h):
            digest = h.path.split("?", 1)[0].rsplit("/", 1)[-1]
            conn = http.client.HTTPConnection(self.upstream, timeout=30)
            conn.request("GET", "/v2/%s/blobs/%s" % (self.repository, digest))
            resp = conn.getresponse()
            body = resp.read()
            conn.close()
            h.send_simple(resp.status, {"Content-Type": "application/octet-stream"}, body)

        _Base.__init__(self, _handler(self, respond), tls)


class Front(_Base):
    """A registry front whose blob GETs answer 307 to ``redirect_to`` + the same path + a fake signed query.

    ``users``: {user: password} for Basic (a 401 with a Basic challenge without them). ``challenge``: a
    ``WWW-Authenticate`` value to answer every request with (401). Other paths: 404.
    """

    def __init__(self, redirect_to, users=None, tls=None, challenge=None):
        self.redirect_to = redirect_to
        self.users = users or {}

        def respond(h):
            if challenge:
                h.send_simple(401, {"WWW-Authenticate": challenge, "Content-Type": "application/json"},
                              b'{"errors":[{"code":"UNAUTHORIZED"}]}')
                return
            if self.users:
                auth = h.headers.get("Authorization", "")
                ok = False
                if auth.startswith("Basic "):
                    user, _sep, password = base64.b64decode(auth[6:]).decode().partition(":")
                    ok = self.users.get(user) == password
                if not ok:
                    h.send_simple(401, {"WWW-Authenticate": 'Basic realm="front"', "Content-Type": "application/json"},
                                  b'{"errors":[{"code":"UNAUTHORIZED"}]}')
                    return
            if "/blobs/sha256:" not in h.path:
                h.send_simple(404, {"Content-Type": "application/json"}, b'{"errors":[{"code":"NOT_FOUND"}]}')
                return
            h.send_simple(307, {"Location": "%s%s?X-Amz-Signature=%s" % (self.redirect_to, h.path, SIGNATURE)})

        _Base.__init__(self, _handler(self, respond), tls)


# A query parameter the fetch script must never print (it stands for a pre-signed URL's signature).
SIGNATURE = "presigned-5ecret-signature"
