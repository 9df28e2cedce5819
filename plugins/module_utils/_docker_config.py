# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
#
# This module util is PRIVATE to the collection. It can change at any time without notice.
"""Registry credentials from a docker-style config.json, the way docker and oras find them.

File: the ``config_path`` option, else ``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``.
Per registry: ``credHelpers[registry]`` -> ``credsStore`` -> ``auths``; username ``<token>`` means the
secret is an identity (refresh) token.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
import subprocess

IDENTITY_TOKEN_USER = "<token>"


class DockerConfigError(Exception):
    """config.json unreadable or a credential helper failed. Messages never contain secrets."""


class Credentials:
    """username/password, or an identity token; ``source`` says where they came from (for messages)."""

    def __init__(self, username=None, password=None, identity_token=None, source=None):
        self.username = username
        self.password = password
        self.identity_token = identity_token
        self.source = source

    def __bool__(self):
        return bool(self.identity_token or self.username or self.password)

    __nonzero__ = __bool__

    def advice(self, registry):
        """What to do after the registry refused these credentials, naming where they came from."""
        if self:
            return "check the credentials, which came from %s" % (self.source or "the caller")
        where = (" so that %s has an entry for %s" % (self.source, registry)) if self.source else ""
        return ("no credentials were found: set username and password, or log in (oras login %s)%s"
                % (registry, where))


def find_config_file(config_path=None):
    """The config.json to read: explicit path (may be missing: error later), else the first that exists."""
    if config_path:
        return os.path.expanduser(config_path)
    docker_config = os.environ.get("DOCKER_CONFIG")
    if docker_config:
        return os.path.join(os.path.expanduser(docker_config), "config.json")
    return os.path.join(os.path.expanduser("~"), ".docker", "config.json")


def load_config(path, required=False):
    """Parsed config.json, or {} when it does not exist and is not required."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except (IOError, OSError) as e:
        if getattr(e, "errno", None) == 2 and not required:
            return {}
        raise DockerConfigError("cannot read docker config %s (option config_path / DOCKER_CONFIG): %s"
                                % (path, e.strerror or e))
    try:
        text = data.decode("utf-8").strip()
    except UnicodeDecodeError as e:
        raise DockerConfigError("docker config %s is not valid JSON (%s); fix or remove it, or set config_path"
                                % (path, e.__class__.__name__))
    return _config_object(text, "docker config %s" % path, "; fix or remove it, or set config_path")


def _normalize_host(key):
    """Keys in ``auths`` may be URLs ("https://index.docker.io/v1/") or bare hosts."""
    key = key.strip()
    for prefix in ("https://", "http://"):
        if key.startswith(prefix):
            key = key[len(prefix):]
    return key.split("/", 1)[0]


def _run_helper(helper, registry, source):
    binary = "docker-credential-%s" % helper
    try:
        proc = subprocess.Popen([binary, "get"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        out, err = proc.communicate(registry.encode("utf-8"), timeout=60)
    except OSError as e:
        raise DockerConfigError("credential helper %s (from %s) could not run: %s; install it or remove it from "
                                "the docker config" % (binary, source, e.strerror or e))
    except subprocess.TimeoutExpired:
        proc.kill()
        raise DockerConfigError("credential helper %s (from %s) did not answer within 60 s" % (binary, source))
    if proc.returncode != 0:
        text = out.decode("utf-8", "replace").strip() or err.decode("utf-8", "replace").strip()
        if "credentials not found" in text.lower():
            return None
        # Helper output is an error message, not credentials, so it is safe to show (trimmed).
        raise DockerConfigError("credential helper %s failed for %s: %s" % (binary, registry, text[:200]))
    try:
        data = json.loads(out.decode("utf-8"))
        username, secret = data.get("Username"), data.get("Secret")
    except (ValueError, AttributeError, RecursionError):
        raise DockerConfigError("credential helper %s returned no JSON credentials for %s" % (binary, registry))
    if username == IDENTITY_TOKEN_USER:
        return Credentials(identity_token=secret, source=source)
    return Credentials(username=username, password=secret, source=source)


def _from_auths_entry(entry, source):
    if not isinstance(entry, dict):
        return None
    if entry.get("identitytoken"):
        return Credentials(identity_token=entry["identitytoken"], source=source)
    username, password = entry.get("username"), entry.get("password")
    if entry.get("auth"):
        try:
            decoded = base64.b64decode(entry["auth"]).decode("utf-8")
        except (ValueError, TypeError, UnicodeDecodeError):
            raise DockerConfigError("the 'auth' value in %s is not base64 of user:password" % source)
        if ":" not in decoded:
            raise DockerConfigError("the 'auth' value in %s does not decode to user:password" % source)
        username, password = decoded.split(":", 1)
    if username == IDENTITY_TOKEN_USER:
        return Credentials(identity_token=password, source=source)
    if username or password:
        return Credentials(username=username, password=password, source=source)
    return None


def credentials_for(registry, config_path=None):
    """Credentials for ``registry`` (host[:port]) from the docker config, or an empty Credentials."""
    path = find_config_file(config_path)
    config = load_config(path, required=bool(config_path))
    source = "%s" % path
    helpers = config.get("credHelpers") or {}
    for key, helper in helpers.items():
        if _normalize_host(key) == registry:
            creds = _run_helper(helper, registry, "%s credHelpers" % source)
            if creds:
                return creds
    if config.get("credsStore"):
        creds = _run_helper(config["credsStore"], registry, "%s credsStore" % source)
        if creds:
            return creds
    for key, entry in (config.get("auths") or {}).items():
        if _normalize_host(key) == registry:
            creds = _from_auths_entry(entry, "%s auths[%s]" % (source, key))
            if creds:
                return creds
    return Credentials(source=source)


def auth_entry(username, password):
    """The ``auths`` value docker and oras write for username/password."""
    return {"auth": base64.b64encode(("%s:%s" % (username, password)).encode("utf-8")).decode("ascii")}


# ---------------------------------------------------------------------------------------------------------------
# Docker configs written for nodes (control_plane's Secret, k0s_binary's config.json): built here, not in Jinja.

def parse_config(data, source):
    """A docker config given as a dict or as JSON text, as a dict; DockerConfigError says what is wrong."""
    if isinstance(data, dict):
        return data
    text = (data or "").strip() if isinstance(data, str) else None
    if text is None:
        raise DockerConfigError("%s must be a docker config (a dict or JSON text)" % source)
    return _config_object(text, source)


def _config_object(text, source, hint=""):
    try:
        config = json.loads(text) if text else {}
    except (ValueError, RecursionError) as e:
        raise DockerConfigError("%s is not valid JSON (%s)%s" % (source, e.__class__.__name__, hint))
    if not isinstance(config, dict):
        raise DockerConfigError("%s must hold a JSON object ({\"auths\": ...})%s" % (source, hint))
    return config


def entry_credentials(config, registry, source):
    """The credentials of ``registry``'s inline ``auths`` entry in ``config`` (parsed config.json), or None."""
    for key, value in (config.get("auths") or {}).items():
        if _normalize_host(key) == registry:
            return _from_auths_entry(value, source)
    return None


def node_config(config, registry, source):
    """``{"auths": {registry: entry}}`` for a node: the inline ``auths`` entry of ``registry`` copied from
    ``config``. Credential helpers (``credsStore``/``credHelpers``) cannot run on a node, so an entry without
    inline credentials (``auth``, ``identitytoken`` or ``username``+``password``) is an error."""
    entry = None
    for key, value in (config.get("auths") or {}).items():
        if _normalize_host(key) == registry and isinstance(value, dict):
            entry = value
    if not entry or not (entry.get("auth") or entry.get("identitytoken")
                         or (entry.get("username") and entry.get("password"))):
        raise DockerConfigError(
            "%s holds no inline credentials (\"auths\" entry with \"auth\" or \"identitytoken\") for %s. Credential "
            "helpers (credsStore/credHelpers) cannot run on a node. Log in with 'oras login --registry-config FILE "
            "REGISTRY' into a separate file, or give a username and password." % (source, registry))
    if not entry.get("auth") and entry.get("username") and entry.get("password"):
        # The nodes' curl fetcher (oci_blob_fetch) reads "auth" only; docker and oras read it too.
        entry = dict(entry, **auth_entry(entry["username"], entry["password"]))
    return {"auths": {registry: entry}}


def check_fetcher_auth(config, registry, variable):
    """Raise DockerConfigError when ``config`` (a node config) gives ``registry`` credentials that the nodes' curl
    fetcher cannot send: it reads the ``auth`` entry (base64 user:password) only, so an identity token alone (or
    username/password without ``auth``) would leave every node without credentials. No entry at all is fine
    (anonymous pull). The message names ``variable`` and no secret."""
    for key, value in (config.get("auths") or {}).items():
        if _normalize_host(key) == registry and isinstance(value, dict) and value and not value.get("auth"):
            raise DockerConfigError(
                "%s: the nodes fetch the ORAS tarball from %s with curl, which can send only an \"auth\" entry "
                "(user:password), and the nodes' docker config has none for it (an identity token only?). Give a "
                "username and password for %s, or use control_plane_oras_source: release."
                % (variable, registry, registry))


def merge_config(existing, new):
    """``existing`` updated with ``new``: top-level keys of ``new`` replace those of ``existing``; ``auths``
    entries are merged per registry (``new`` wins), so other registries' logins stay."""
    merged = dict(existing)
    for key, value in new.items():
        if key != "auths":
            merged[key] = value
    auths = dict(existing.get("auths") or {})
    auths.update(new.get("auths") or {})
    merged["auths"] = auths
    return merged
