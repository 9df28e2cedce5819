# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  signing_key:
    description:
      - When set, the pushed manifest is signed as C(cosign sign --key) does (legacy C(sha256-<hex>.sig) tag scheme),
        on the controller, after the push. See M(k0smotron.oci.artifact_sign) for the scheme and idempotence.
      - The private key as PEM text or the path of a PEM file on the controller, as C(cosign generate-key-pair)
        writes it (encrypted with O(signing_key_password)) or plain PEM. Never shown in output, logs or errors.
      - If not set, the environment variable E(K0SMOTRON_OCI_SIGNING_KEY) is used (the AWX credential type sets it).
    type: str
    version_added: 0.3.0
  signing_key_password:
    description:
      - Password of an encrypted O(signing_key).
      - If not set, the environment variable E(K0SMOTRON_OCI_SIGNING_KEY_PASSWORD), then E(COSIGN_PASSWORD) is used.
    type: str
    version_added: 0.3.0
notes:
  - Signing needs the Python C(cryptography) package on the controller (every Ansible controller has it); the key
    is read and used there, never sent to the managed node.
"""
