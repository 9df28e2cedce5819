#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: release_files
short_description: Get release files per architecture on the controller, checksum-verified and cached
version_added: 0.3.0
description:
  - The step before a push in the publish roles (M(k0smotron.oci.artifact_push)). For each entry of O(files), a
    local file from O(local), or a download into O(cache_dir) (a cached file whose sha256 matches is not
    downloaded again).
  - Downloads are verified against O(checksums), else against the checksum list at O(checksums_url) (read only
    when a download needs it, with the same parser as P(k0smotron.oci.parse_checksums#filter)); local files
    against O(checksums) when their architecture is listed there. A file that does not match is not kept.
  - Connection errors, timeouts, HTTP 408, 429 and 5xx are retried (O(retries), O(delay)); an unknown host name
    fails at once with advice for a controller without internet access.
  - Runs on the controller, whatever the host; the cache is filled in check mode too, so that a check run can
    predict the push.
author:
  - k0smotron.oci maintainers (@k0sproject)
extends_documentation_fragment:
  - k0smotron.oci.attributes
attributes:
  check_mode:
    support: full
    details:
      - Downloads into the controller's cache in check mode too.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  files:
    description: What to get, one entry per architecture.
    type: list
    elements: dict
    required: true
    suboptions:
      arch:
        description: The architecture (the key of O(local) and O(checksums)).
        type: str
        required: true
      name:
        description: File name in the cache, which M(k0smotron.oci.artifact_push) records as the layer title.
        type: str
        required: true
      url:
        description: Where to download it; not needed when O(local) has a file for O(files[].arch).
        type: str
      asset:
        description: Its name in the checksum list; defaults to O(files[].name).
        type: str
  local:
    description:
      - Architecture to a file on the controller to take instead of downloading it. Every key must be an
        architecture of O(files).
    type: dict
    default: {}
  checksums:
    description: Architecture to sha256 (64 hex digits, optionally prefixed with C(sha256:)).
    type: dict
    default: {}
  checksums_url:
    description: URL of a checksum list (C(sha256sum) output); needed when a download has no entry in O(checksums).
    type: str
    default: ""
  arches:
    description: The architectures that O(local) and O(checksums) may name; empty for those of O(files).
    type: list
    elements: str
    default: []
  cache_dir:
    description: Download cache on the controller (C(ARCH/NAME) for downloads, C(local-ARCH/NAME) links to local files).
    type: path
    required: true
  timeout:
    description: Timeout of each request, in seconds.
    type: int
    default: 120
  validate_certs:
    description: Verify the TLS certificate of the download server.
    type: bool
    default: true
  retries:
    description: Retries of each download after the first attempt.
    type: int
    default: 3
  delay:
    description: Seconds before each retry (a C(Retry-After) header wins).
    type: int
    default: 3
  variable_prefix:
    description:
      - Name a publish role's variables in error messages, C(PREFIX_files) for O(local), C(PREFIX_checksums),
        C(PREFIX_checksums_url), C(PREFIX_base_url), C(PREFIX_version), C(PREFIX_architectures),
        C(PREFIX_download_retries), C(PREFIX_download_validate_certs), C(PREFIX_trusted_keys),
        C(PREFIX_verify_signatures); empty to name this action's options.
    type: str
    default: ""
  variable_names:
    description:
      - Names for single inputs instead of those of O(variable_prefix), keyed by the suffix (C(files), C(checksums),
        C(checksums_url), C(base_url), C(version), C(architectures), C(download_retries), C(download_validate_certs),
        C(trusted_keys), C(verify_signatures)); for a second kind of file of one role, such as C(k0s_publish)'s airgap
        bundles (C(files) -> C(k0s_publish_images_files)).
    type: dict
    default: {}
    version_added: 0.3.0
  signatures:
    description:
      - Also check each file's detached cosign signature (C(cosign sign-blob), base64), as
        C(cosign verify-blob --key KEY --signature FILE.sig --insecure-ignore-tlog FILE) does, with O(trusted_keys).
      - A download's signature is its URL plus C(.sig); a local file's is the file next to it with C(.sig) added.
      - The release's own key (O(signature_key_url), or a C(cosign.pub) next to the local files) must be one of
        O(trusted_keys); a new key fails with its fingerprint. Offline, no transparency log.
    type: bool
    default: false
    version_added: 0.3.0
  signature_key_url:
    description: URL of the release's C(cosign.pub), compared with O(trusted_keys) (never trusted by itself).
    type: str
    default: ""
    version_added: 0.3.0
  trusted_keys:
    description:
      - The pinned cosign public keys (several for a rotation), each PEM text or the path of a PEM file on the
        controller. ECDSA, RSA and Ed25519, as C(cosign verify-blob --key) takes them.
    type: list
    elements: str
    default: []
    version_added: 0.3.0
"""

EXAMPLES = r"""
- name: Get the k0s binaries (verified against the release's sha256sums.txt)
  k0smotron.oci.release_files:
    files:
      - arch: amd64
        name: k0s
        url: https://github.com/k0sproject/k0s/releases/download/v1.34.1%2Bk0s.0/k0s-v1.34.1+k0s.0-amd64
        asset: k0s-v1.34.1+k0s.0-amd64
    checksums_url: https://github.com/k0sproject/k0s/releases/download/v1.34.1%2Bk0s.0/sha256sums.txt
    cache_dir: ~/.cache/k0smotron.oci/k0s/v1.34.1+k0s.0
  register: k0s_files
  run_once: true
"""

RETURN = r"""
files:
  description: The verified files, in the order of O(files).
  returned: success
  type: list
  elements: dict
  contains:
    arch:
      description: The architecture.
      type: str
    name:
      description: The file name.
      type: str
    path:
      description: The file on the controller to push.
      type: str
    sha256:
      description: Its sha256, 64 hex digits.
      type: str
    size:
      description: Its size in bytes.
      type: int
    source:
      description: C(download), C(cache) or C(local).
      type: str
    checksum_from:
      description: What it was verified against (O(checksums), the checksum list URL), or null for an unlisted local file.
      type: str
    signature:
      description: With O(signatures), the pinned key that verified the file's signature.
      type: dict
      returned: when O(signatures=true)
      version_added: 0.3.0
      contains:
        key_fingerprint:
          description: C(sha256:) of the key's DER SubjectPublicKeyInfo.
          type: str
        signature_path:
          description: The checked C(.sig) file on the controller.
          type: str
        transparency_log:
          description: Says that no transparency log was checked.
          type: str
"""
