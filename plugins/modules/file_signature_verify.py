#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: file_signature_verify
short_description: Verify a file's detached cosign signature (cosign sign-blob) with pinned keys
version_added: 0.3.0
description:
  - What C(cosign verify-blob --key KEY --signature FILE.sig --insecure-ignore-tlog FILE) checks, on the
    controller, without the cosign CLI. k0s releases ship such a C(.sig) for each binary, and a C(cosign.pub).
  - A release's own C(cosign.pub) proves nothing by itself (it comes from the same place as the binary). Give it
    as O(release_key_path) and it must be one of O(trusted_keys); a new key fails with its fingerprint, so that
    it can be checked out of band and pinned.
  - Offline; no transparency log is consulted (the result says so).
author:
  - k0smotron.oci maintainers (@k0sproject)
extends_documentation_fragment:
  - k0smotron.oci.attributes
  - k0smotron.oci.attributes.info_module
options:
  path:
    description: The signed file, on the controller.
    type: path
    required: true
  signature_path:
    description: The base64 signature file (C(<asset>.sig)), on the controller.
    type: path
    required: true
  release_key_path:
    description: The C(cosign.pub) that came with the file; must be one of O(trusted_keys).
    type: path
  trusted_keys:
    description:
      - The pinned public keys (several for a rotation), each PEM text or the path of a PEM file on the
        controller. ECDSA (SHA-256), RSA (PKCS#1 v1.5, SHA-256) and Ed25519 keys, as cosign verifies them.
    type: list
    elements: str
    required: true
seealso:
  - module: k0smotron.oci.artifact_verify
"""

EXAMPLES = r"""
- name: Verify a downloaded k0s binary against the pinned key
  k0smotron.oci.file_signature_verify:
    path: /var/cache/k0s/k0s-v1.34.1+k0s.0-amd64
    signature_path: /var/cache/k0s/k0s-v1.34.1+k0s.0-amd64.sig
    release_key_path: /var/cache/k0s/cosign.pub
    trusted_keys:
      - "{{ lookup('ansible.builtin.file', 'files/k0s-cosign.pub') }}"
"""

RETURN = r"""
key_fingerprint:
  description: C(sha256:) of the pinned key that verified the signature (DER SubjectPublicKeyInfo).
  returned: success
  type: str
sha256:
  description: sha256 of the file, hex.
  returned: success
  type: str
transparency_log:
  description: Says that no transparency log was checked.
  returned: success
  type: str
msg:
  description: One line saying which key verified the file.
  returned: success
  type: str
"""
