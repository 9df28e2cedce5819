# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # The connection and authentication options shared by every registry module.
    DOCUMENTATION = r"""
options:
  username:
    description:
      - User name for the registry.
      - Together with O(password). Without both, credentials come from the docker C(config.json)
        (see O(config_path)), and without an entry there the registry is accessed anonymously.
      - If not set, the value of the E(K0SMOTRON_OCI_USERNAME) environment variable is used.
    type: str
  password:
    description:
      - Password or access token for O(username). Never logged or returned.
      - If not set, the value of the E(K0SMOTRON_OCI_PASSWORD) environment variable is used.
    type: str
    aliases: [token]
  config_path:
    description:
      - Docker-style C(config.json) to read credentials from when O(username) and O(password) are not set.
      - Without it, C($DOCKER_CONFIG/config.json), then C(~/.docker/config.json) are used, as docker and oras do.
        Per registry, C(credHelpers), then C(credsStore), then C(auths) are consulted; the user name
        C(<token>) marks an identity token.
      - If not set, the value of the E(K0SMOTRON_OCI_CONFIG_PATH) environment variable is used.
    type: path
  plain_http:
    description:
      - Talk plain HTTP instead of HTTPS (local test registries only).
      - If not set, the value of the E(K0SMOTRON_OCI_PLAIN_HTTP) environment variable is used.
    type: bool
    default: false
  validate_certs:
    description:
      - Verify the registry's TLS certificate. Set O(ca_path) for a private CA rather than turning this off.
      - If not set, the value of the E(K0SMOTRON_OCI_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file with the CA certificate(s) to trust for the registry instead of the system store.
      - If not set, the value of the E(K0SMOTRON_OCI_CA_PATH) environment variable is used.
    type: path
  timeout:
    description:
      - Seconds to wait for the registry on each network operation.
      - If not set, the value of the E(K0SMOTRON_OCI_TIMEOUT) environment variable is used.
    type: float
    default: 60
  retries:
    description:
      - How many times to retry a request after a connection error, HTTP 429 or a 5xx answer,
        with exponential backoff (or the registry's C(Retry-After)). Bodies are re-sent from the start.
      - Any request (C(HEAD), C(GET), C(POST), C(PATCH), C(PUT), token requests) is attempted at most
        O(retries) + 1 times; an upload that fails starts over with a new upload session.
      - If not set, the value of the E(K0SMOTRON_OCI_RETRIES) environment variable is used.
    type: int
    default: 3
  option_names:
    description:
      - "How error messages name these options, as a mapping from option name to the name the user knows,
        for example C({ca_path: k0s_publish_registry_ca_path})."
      - The collection's roles set this, so that a message inside a role names the role's variables.
    type: dict
    version_added: 0.3.0
notes:
  - Redirects on blob downloads (object stores, CDNs) are followed without forwarding the
    C(Authorization) header to another origin (scheme, host and port). A redirect or upload location
    from C(https) to C(http) is refused unless O(plain_http=true).
  - Answers are read up to a limit - manifests 4 MiB (as C(oras)), token answers 1 MiB, error bodies 64 KiB.
"""
