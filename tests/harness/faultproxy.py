"""A small HTTP reverse proxy on 127.0.0.1 that injects faults in front of the real registry.

Rules match a method and a path regex and act on the first ``count`` matching requests:
``status`` (answer e.g. 503 or 429 with optional Retry-After), ``reset`` (close the connection without
answering, after reading the request), ``corrupt`` (flip one byte of the response body),
``truncate`` (send only half of the body, then close). It can also front the registry with a Bearer
token flow (``bearer_users``), like Docker Hub / GHCR do, while the registry behind stays real.
"""
import base64
import http.client
import re
import secrets
import socket
import threading

from .servers import QuietHandler, ThreadedServer

CHUNK = 1 << 20


class Rule:
    def __init__(self, method, path, action, count=1, status=503, retry_after=None, body=None):
        self.body = body
        self.method = method
        self.path = re.compile(path)
        self.action = action
        self.count = count
        self.status = status
        self.retry_after = retry_after
        self.hits = 0

    def matches(self, method, path):
        return (self.method in (None, method)) and self.path.search(path) and self.hits < self.count


class FaultProxy(ThreadedServer):
    def __init__(self, upstream_host, bearer_users=None):
        self.upstream_host = upstream_host
        self.rules = []
        self.log = []  # (method, path, status or action)
        self.lock = threading.Lock()
        self.bearer_users = bearer_users or {}
        self.tokens = set()
        self.token_requests = []
        proxy = self

        class Handler(QuietHandler):
            def _body_len(self):
                return int(self.headers.get("Content-Length") or 0)

            def _drain(self):
                n = self._body_len()
                while n > 0:
                    chunk = self.rfile.read(min(CHUNK, n))
                    if not chunk:
                        break
                    n -= len(chunk)

            def _rule(self):
                with proxy.lock:
                    for rule in proxy.rules:
                        if rule.matches(self.command, self.path):
                            rule.hits += 1
                            return rule
                return None

            def _token(self):
                self._drain()
                proxy.token_requests.append(self.path)
                auth = self.headers.get("Authorization", "")
                ok = False
                if auth.startswith("Basic "):
                    user, password = (base64.b64decode(auth[6:]).decode().split(":", 1) + [""])[:2]
                    ok = proxy.bearer_users.get(user) == password
                if not ok:
                    self.send_simple(401, {"Content-Type": "application/json"}, b'{"errors":[{"code":"UNAUTHORIZED"}]}')
                    return
                token = secrets.token_hex(16)
                proxy.tokens.add(token)
                self.send_simple(200, {"Content-Type": "application/json"}, ('{"token":"%s"}' % token).encode())

            def handle_one(self):
                rule = self._rule()
                if rule is not None and rule.action in ("status", "reset"):
                    self._drain()
                    proxy.log.append((self.command, self.path, rule.action))
                    if rule.action == "reset":
                        self.close_connection = True
                        try:
                            self.connection.shutdown(socket.SHUT_RDWR)
                        except OSError:
                            pass
                        return
                    headers = {"Content-Type": "application/json"}
                    if rule.retry_after is not None:
                        headers["Retry-After"] = str(rule.retry_after)
                    self.send_simple(rule.status, headers,
                                     rule.body or b'{"errors":[{"code":"UNAVAILABLE","message":"injected"}]}')
                    return
                if self.path.startswith("/token"):
                    self._token()
                    return
                if proxy.bearer_users:
                    auth = self.headers.get("Authorization", "")
                    if not (auth.startswith("Bearer ") and auth[7:] in proxy.tokens):
                        self._drain()
                        host = "127.0.0.1:%d" % proxy.port
                        self.send_simple(401, {
                            "WWW-Authenticate": 'Bearer realm="http://%s/token",service="k0smotron-test"' % host,
                            "Content-Type": "application/json"}, b'{"errors":[{"code":"UNAUTHORIZED"}]}')
                        return
                self._forward(rule)

            def _forward(self, rule):
                up = http.client.HTTPConnection(proxy.upstream_host, timeout=60)
                n = self._body_len()
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("authorization", "host", "connection")}
                headers["Host"] = proxy.upstream_host
                up.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for k, v in headers.items():
                    up.putheader(k, v)
                up.endheaders()
                while n > 0:
                    chunk = self.rfile.read(min(CHUNK, n))
                    if not chunk:
                        break
                    up.send(chunk)
                    n -= len(chunk)
                resp = up.getresponse()
                proxy.log.append((self.command, self.path, resp.status))
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() in ("connection", "transfer-encoding"):
                        continue
                    if k.lower() == "location":
                        v = v.replace(proxy.upstream_host, "127.0.0.1:%d" % proxy.port)
                    self.send_header(k, v)
                self.end_headers()
                if self.command == "HEAD":
                    up.close()
                    return
                length = int(resp.getheader("Content-Length") or 0)
                sent = 0
                flipped = False
                while True:
                    chunk = resp.read(CHUNK)
                    if not chunk:
                        break
                    if rule is not None and rule.action == "corrupt" and not flipped:
                        chunk = bytes([chunk[0] ^ 0xFF]) + chunk[1:]
                        flipped = True
                    if rule is not None and rule.action == "truncate" and sent + len(chunk) > length // 2:
                        self.wfile.write(chunk[: max(0, length // 2 - sent)])
                        self.wfile.flush()
                        self.close_connection = True
                        self.connection.shutdown(socket.SHUT_RDWR)
                        up.close()
                        return
                    self.wfile.write(chunk)
                    sent += len(chunk)
                up.close()

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_one

        ThreadedServer.__init__(self, Handler)

    @property
    def host(self):
        return "127.0.0.1:%d" % self.port

    def add(self, method, path, action, count=1, status=503, retry_after=None, body=None):
        """``body``: the JSON error body of a ``status`` answer (default: an UNAVAILABLE error)."""
        rule = Rule(method, path, action, count, status, retry_after, body)
        with self.lock:
            self.rules.append(rule)
        return rule

    def clear(self):
        with self.lock:
            self.rules = []
            self.log = []
