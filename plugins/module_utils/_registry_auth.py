# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
#
# This module util is PRIVATE to the collection. It can change at any time without notice.
"""Registry auth: the ``WWW-Authenticate`` challenge, Basic, and the Bearer token flow (with identity tokens).

The Authorization header goes only to the registry's own origin (scheme, host, effective port). Tokens
are validated before use and never appear in a message.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import re

from ansible.module_utils.six.moves.urllib.parse import urlencode, urlsplit

from ansible_collections.k0smotron.oci.plugins.module_utils._registry_errors import RegistryAuthError, Transient, json_document
from ansible_collections.k0smotron.oci.plugins.module_utils._registry_http import (
    BytesBody,
    describe_status,
    Response,
    retry_after_seconds,
)

MAX_TOKEN_RESPONSE = 1 << 20
_TOKEN_RE = re.compile(r"[\x21-\x7e]+")  # visible ASCII: no whitespace, no control characters


def parse_challenge(header):
    """``Bearer realm="...",service="...",scope="..."`` -> ("bearer", {realm:..., ...})."""
    if not header:
        return None, {}
    scheme, rest = (header.strip().split(" ", 1) + [""])[:2]
    params = dict((k.lower(), v) for k, v in re.findall(r'([A-Za-z_]+)\s*=\s*"([^"]*)"', rest))
    return scheme.lower(), params


def basic_header(username, password):
    pair = "%s:%s" % (username or "", password or "")
    return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")


class Authenticator:
    """Answers a registry's 401 challenge for one repository; ``actions`` is ``pull`` or ``pull,push``."""

    def __init__(self, transport, repository, credentials, actions):
        self.transport = transport
        self.repository = repository
        self.credentials = credentials
        self.actions = actions
        self.header = None
        # True once a challenge was answered with credentials: the registry asked for a login and got one.
        self.used_credentials = False

    def header_for(self, url):
        """The Authorization header for ``url``: only for the registry's own origin."""
        return self.header if self.header and self.transport.same_origin(url) else None

    def challenge(self, header):
        """Set the Authorization header from a 401's ``WWW-Authenticate`` (one attempt at a token)."""
        scheme, params = parse_challenge(header)
        creds = self.credentials
        where = self.transport.where
        if scheme == "basic":
            if not (creds.username or creds.password):
                raise RegistryAuthError("%s requires a login (basic auth): %s"
                                        % (where, creds.advice(self.transport.registry)), status=401)
            self.header = basic_header(creds.username, creds.password)
            self.used_credentials = True
        elif scheme == "bearer":
            self.header = "Bearer " + self._fetch_token(params)
            self.used_credentials = bool(creds.identity_token or creds.username or creds.password)
        else:
            raise RegistryAuthError("%s answered 401 with an unsupported challenge %r" % (where, scheme), status=401)

    def _token_request(self, params):
        realm = params.get("realm")
        if not realm:
            raise RegistryAuthError("%s sent a Bearer challenge without a realm" % self.transport.where, status=401)
        base = "%s://%s/v2/" % (self.transport.scheme, self.transport.registry)
        realm = self.transport.resolve(base, realm, "fetching a token")
        query = {"scope": "repository:%s:%s" % (self.repository, self.actions)}
        if params.get("service"):
            query["service"] = params["service"]
        creds = self.credentials
        headers = {"Accept": "application/json"}
        if creds.identity_token:
            form = dict(query, grant_type="refresh_token", refresh_token=creds.identity_token, client_id="k0smotron.oci")
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            return "POST", realm, headers, BytesBody(urlencode(form).encode("ascii"))
        if creds.username or creds.password:
            headers["Authorization"] = basic_header(creds.username, creds.password)
        return "GET", realm + ("&" if "?" in realm else "?") + urlencode(query), headers, None

    def _fetch_token(self, params):
        method, url, headers, body = self._token_request(params)
        service = "token service %s" % urlsplit(url).netloc
        where = self.transport.where
        raw = self.transport.send(method, url, headers, body)
        data, truncated = self.transport.read(url, raw, MAX_TOKEN_RESPONSE)
        resp = Response(raw, data)
        if raw.status == 429 or 500 <= raw.status < 600:
            raise Transient("%s answered %s" % (service, describe_status(resp)),
                            retry_after_seconds(raw.getheader("Retry-After")), status=raw.status)
        if raw.status in (401, 403):
            raise RegistryAuthError("%s refused %s for %s (%d): %s"
                                    % (service, self.actions, where, raw.status,
                                       self.credentials.advice(self.transport.registry)),
                                    status=raw.status)
        if raw.status != 200:
            raise RegistryAuthError("%s answered %d for %s" % (service, raw.status, where), status=raw.status)
        if truncated:
            raise RegistryAuthError("%s sent an answer larger than %d KiB for %s; refused"
                                    % (service, MAX_TOKEN_RESPONSE >> 10, where))
        answer = json_document(data)
        if not isinstance(answer, dict):
            raise RegistryAuthError("%s did not answer with a JSON object for %s" % (service, where))
        token = answer.get("token") or answer.get("access_token")
        if token is None or token == "":
            raise RegistryAuthError("%s returned no token for %s" % (service, where))
        if not isinstance(token, str):
            raise RegistryAuthError("%s returned a token that is not a string (%s) for %s"
                                    % (service, type(token).__name__, where))
        if not _TOKEN_RE.fullmatch(token):
            raise RegistryAuthError("%s returned a token with whitespace or control characters for %s; refused"
                                    % (service, where))
        return token
