#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: artifact_verify
short_description: Check that a download URL's blob belongs to an artifact signed with a trusted cosign key
version_added: 0.3.0
description:
  - Reads O(reference) (a tag or digest; an index is followed to each of its manifests), finds the manifest that
    has the blob of O(download_url) as a layer, and checks its cosign signatures (tag C(sha256-<hex>.sig)) with
    the keys in O(trusted_keys). The signed payload must name that manifest's digest and the repository.
  - Fails, naming what failed, when the blob is in no manifest of the artifact, when the manifest has no
    signature, when no signature verifies with a trusted key, or when the signature was made for another
    manifest or repository.
  - Reads signatures written by C(cosign sign --key) and by M(k0smotron.oci.artifact_sign). Offline, no
    transparency log is consulted (the result says so).
  - Runs on the controller (it needs the Python C(cryptography) package).
author:
  - k0smotron.oci maintainers (@k0sproject)
extends_documentation_fragment:
  - k0smotron.oci.registry
  - k0smotron.oci.attributes
  - k0smotron.oci.attributes.info_module
  - k0smotron.oci.attributes.actiongroup_registry
options:
  download_url:
    description:
      - The C(oci://REGISTRY/REPOSITORY@sha256:...) blob URL (the K0sControlPlane C(downloadURL)).
    type: str
    required: true
  reference:
    description:
      - C(REGISTRY/REPOSITORY:TAG) or C(REGISTRY/REPOSITORY@sha256:...) of the signed artifact, in the same
        repository as O(download_url).
    type: str
    required: true
  trusted_keys:
    description:
      - The public keys to trust (several for a rotation), each PEM text or the path of a PEM file (as
        C(cosign.pub)) on the controller. ECDSA, RSA and Ed25519 keys, as C(cosign verify --key) takes them.
    type: list
    elements: str
    required: true
seealso:
  - module: k0smotron.oci.artifact_sign
"""

EXAMPLES = r"""
- name: Refuse to render a downloadURL that no trusted key signed
  k0smotron.oci.artifact_verify:
    download_url: "{{ k0s_artifact.download_url }}"
    reference: registry.example.com/k0s/k0s:v1.34.1-k0s.0
    trusted_keys:
      - /etc/k0smotron-oci/cosign.pub
  register: signature

- name: Show which key verified which manifest
  ansible.builtin.debug:
    msg: "{{ signature.msg }}"
"""

RETURN = r"""
verified:
  description: What verified.
  returned: success
  type: dict
  contains:
    manifest_digest:
      description: The signed manifest that has the blob as a layer.
      type: str
    signature_tag:
      description: Where the signature was found.
      type: str
    key_fingerprint:
      description: C(sha256:) of the trusted key that verified it (DER SubjectPublicKeyInfo).
      type: str
    docker_reference:
      description: The repository the signed payload names.
      type: str
transparency_log:
  description: Says that no transparency log was checked.
  returned: success
  type: str
msg:
  description: One line saying which key verified which manifest.
  returned: success
  type: str
"""
