#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: artifact_sign
short_description: Sign an artifact in a registry with a cosign key (cosign's legacy .sig tag scheme)
version_added: 0.3.0
description:
  - Signs the manifest that O(reference) names, as C(cosign sign --key KEY --tlog-upload=false) does - a Simple
    Signing payload naming the manifest digest and the repository, signed with the key, stored as a layer of the
    manifest at tag C(sha256-<hex>.sig) in the same repository. C(cosign verify --key cosign.pub
    --insecure-ignore-tlog) accepts the result.
  - For an image index (a multi-arch k0s artifact) the index and, with O(recursive), every manifest in it are
    signed, so that the manifest that holds a node's binary has its own signature.
  - Idempotent. A signature by the same key for the same manifest and repository is kept and reported as
    C(changed=false); another key's signatures at the tag are kept too (cosign appends the same way).
  - Runs on the controller (it needs the Python C(cryptography) package, which every Ansible controller has); the
    key files are read there. Nothing is written to the transparency log.
author:
  - k0smotron.oci maintainers (@k0sproject)
extends_documentation_fragment:
  - k0smotron.oci.registry
  - k0smotron.oci.attributes
  - k0smotron.oci.attributes.actiongroup_registry
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: full
  action:
    support: full
    description: Runs on the controller.
options:
  reference:
    description:
      - C(REGISTRY/REPOSITORY:TAG) or C(REGISTRY/REPOSITORY@sha256:...) of the manifest or index to sign.
    type: str
    required: true
  recursive:
    description:
      - For an index, also sign every manifest it lists.
    type: bool
    default: true
  signing_key:
    description:
      - The private key, as PEM text or the path of a PEM file on the controller.
      - Both what C(cosign generate-key-pair) writes (C(ENCRYPTED SIGSTORE PRIVATE KEY), encrypted with
        O(signing_key_password)) and plain PEM (PKCS#8, SEC1 EC, PKCS#1 RSA, Ed25519; encrypted PKCS#8 with the
        password) are read. ECDSA keys sign with SHA-256, RSA with PKCS#1 v1.5 and SHA-256, as cosign does.
      - Never shown in output, logs or errors.
      - If not set, the environment variable E(K0SMOTRON_OCI_SIGNING_KEY) is used (the AWX credential type sets it);
        one of the two is required.
    type: str
  signing_key_password:
    description:
      - Password of an encrypted O(signing_key).
      - If not set, the environment variable E(K0SMOTRON_OCI_SIGNING_KEY_PASSWORD), then E(COSIGN_PASSWORD) is used.
    type: str
seealso:
  - module: k0smotron.oci.artifact_verify
  - module: k0smotron.oci.artifact_push
  - name: cosign signature specification
    description: The legacy .sig tag scheme.
    link: https://github.com/sigstore/cosign/blob/main/specs/SIGNATURE_SPEC.md
"""

EXAMPLES = r"""
- name: Sign the k0s artifact (every architecture's manifest and the index)
  k0smotron.oci.artifact_sign:
    reference: registry.example.com/k0s/k0s:v1.34.1-k0s.0
    signing_key: /etc/k0smotron-oci/cosign.key
    signing_key_password: "{{ vault_cosign_password }}"
"""

RETURN = r"""
manifest_digest:
  description: Digest of the manifest or index O(reference) names.
  returned: success
  type: str
key_fingerprint:
  description: C(sha256:) of the signing key's public key (DER SubjectPublicKeyInfo).
  returned: success
  type: str
signatures:
  description: One entry per signed manifest.
  returned: success
  type: list
  elements: dict
  contains:
    manifest_digest:
      description: The signed manifest.
      type: str
    signature_tag:
      description: C(sha256-<hex>.sig), where the signature is stored.
      type: str
    key_fingerprint:
      description: The signing key.
      type: str
    changed:
      description: Whether a signature was added.
      type: bool
    signature_manifest_digest:
      description: Digest of the new signature manifest (only when one was written).
      type: str
      returned: when changed
"""
