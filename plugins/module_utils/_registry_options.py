# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
#
# This module util is PRIVATE to the collection. It can change at any time without notice.
"""The shared registry options (doc fragment ``k0smotron.oci.registry``): argument spec, environment
fallbacks, and where credentials come from. No HTTP here."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.module_utils.common.parameters import env_fallback
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.k0smotron.oci.plugins.module_utils._docker_config import (
    Credentials,
    DockerConfigError,
    credentials_for,
)
from ansible_collections.k0smotron.oci.plugins.module_utils._registry_errors import RegistryAuthError

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

# Accepted by the modules that push a manifest, used only by their action plugins on the controller, which take
# them out before the module runs (plugin_utils/_action.py): the key never reaches a managed node.
SIGNING_ARG_SPEC = dict(
    signing_key=dict(type="str", no_log=True, fallback=(env_fallback, ["K0SMOTRON_OCI_SIGNING_KEY"])),
    signing_key_password=dict(type="str", no_log=True,
                              fallback=(env_fallback, ["K0SMOTRON_OCI_SIGNING_KEY_PASSWORD", "COSIGN_PASSWORD"])),
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


def _option_source(params):
    """Where username and password came from: an option, or its environment variable (AnsibleModule's
    fallback leaves no trace, so a value equal to the variable's is taken to come from it)."""
    names = []
    for name in ("username", "password"):
        var = REGISTRY_ARG_SPEC[name]["fallback"][1][0]
        names.append("the environment variable %s" % var if os.environ.get(var) == params.get(name) else name)
    return " and ".join(names)


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
        return Credentials(username=username, password=password, source=_option_source(params))
    try:
        return credentials_for(registry, params.get("config_path"))
    except DockerConfigError as e:
        raise RegistryAuthError(str(e))
