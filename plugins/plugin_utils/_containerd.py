# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
#
# This plugin util is PRIVATE to the collection. It can change at any time without notice.
"""containerd configuration that makes a k0s worker pull its system images from a private registry.

k0s imports ``/etc/k0s/containerd.d/*.toml`` into the containerd config it writes (since 1.27.1). Up to k0s
1.35 it runs containerd 1.7, which takes config version 2 with the CRI registry settings under
``plugins."io.containerd.grpc.v1.cri".registry``; from 1.36 it runs containerd 2, which takes version 3 under
``plugins."io.containerd.cri.v1.images".registry`` and refuses to start on a version-2 drop-in. Two parts:

- the drop-in: ``config_path`` (where containerd looks for ``<host>/hosts.toml``) and, with credentials, the
  registry's ``auth`` under ``registry.configs`` (deprecated upstream, still honoured, and the only way that
  reaches the pause image, which containerd pulls itself, without kubelet's credentials);
- ``hosts.toml`` for the registry: its scheme (plain HTTP) and its CA.

Both are TOML written here by hand: the values are few and checked, and no TOML library is needed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import re

from ansible_collections.k0smotron.oci.plugins.module_utils._reference import is_registry_host

DROP_IN_DIR = "/etc/k0s/containerd.d"
DROP_IN_FILE = DROP_IN_DIR + "/10-k0smotron-oci-registry.toml"
CERTS_DIR = "/etc/containerd/certs.d"
CONTAINERD_2_FROM = (1, 36)  # the first k0s minor that runs containerd 2
_PLUGIN = {2: 'plugins."io.containerd.grpc.v1.cri".registry', 3: 'plugins."io.containerd.cri.v1.images".registry'}
_K0S_VERSION = re.compile(r"v?([0-9]+)\.([0-9]+)\.([0-9]+)(?:[-+].*)?")


class ContainerdConfigError(ValueError):
    """An input cannot be written into the containerd configuration; the message names it."""


def k0s_version_tuple(k0s_version, why="the containerd config form depends on it"):
    """(major, minor, patch) of a k0s version such as v1.34.1+k0s.0; ContainerdConfigError says ``why`` it matters."""
    m = _K0S_VERSION.fullmatch(k0s_version if isinstance(k0s_version, str) else "")
    if not m:
        raise ContainerdConfigError("k0s version %r is not vMAJOR.MINOR.PATCH[+k0s.N]: %s" % (k0s_version, why))
    return tuple(int(g) for g in m.groups())


def config_version(k0s_version):
    """2 for the containerd 1.7 of k0s <= 1.35, 3 for the containerd 2 of k0s >= 1.36."""
    return 3 if k0s_version_tuple(k0s_version)[:2] >= CONTAINERD_2_FROM else 2


def _toml_string(value):
    # JSON string escapes are TOML basic-string escapes for everything json.dumps emits (ensure_ascii).
    return json.dumps(value)


def hosts_dir(registry):
    """containerd's directory name for a registry: ``host[:port]``, as ``certs.d/<dir>/hosts.toml``."""
    if not is_registry_host(registry):
        raise ContainerdConfigError("registry %r is not a host[:port]" % (registry,))
    return registry


def hosts_toml(registry, plain_http=False, ca_file=None):
    """The ``hosts.toml`` text for ``registry``: its scheme and, for TLS with a private CA, the CA file."""
    scheme = "http" if plain_http else "https"
    server = "%s://%s" % (scheme, hosts_dir(registry))
    lines = ["# k0smotron.oci: how containerd reaches %s" % registry, "server = %s" % _toml_string(server), "",
             "[host.%s]" % _toml_string(server), '  capabilities = ["pull", "resolve"]']
    if ca_file and not plain_http:
        lines.append("  ca = %s" % _toml_string(ca_file))
    return "\n".join(lines) + "\n"


def drop_in(k0s_version, registry, username=None, password=None, certs_dir=CERTS_DIR):
    """The drop-in for ``/etc/k0s/containerd.d/``, in the config version the k0s version's containerd reads."""
    version = config_version(k0s_version)
    plugin = _PLUGIN[version]
    lines = ["# k0smotron.oci: pull k0s' images from %s (containerd config version %d)" % (registry, version),
             "version = %d" % version, "", "[%s]" % plugin, "  config_path = %s" % _toml_string(certs_dir)]
    if username or password:
        if not (username and password):
            raise ContainerdConfigError("containerd registry credentials need both a user name and a password")
        auth = base64.b64encode(("%s:%s" % (username, password)).encode("utf-8")).decode("ascii")
        lines += ["", "[%s.configs.%s.auth]" % (plugin, _toml_string(hosts_dir(registry))),
                  "  auth = %s" % _toml_string(auth)]
    return "\n".join(lines) + "\n"
