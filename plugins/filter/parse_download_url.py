# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: parse_download_url
short_description: Check an oci:// download URL and split it into registry, repository and digest
version_added: 0.1.0
description:
  - Validates k0smotron's C(downloadURL) contract, C(oci://REGISTRY/REPOSITORY@sha256:<64 hex>), and
    fails with a message that says what is wrong (missing C(oci://), a tag instead of a digest,
    a digest of the wrong length, an uppercase repository, ...).
  - Whether the digest names a blob or a manifest can only be told by asking the registry
    (M(k0smotron.oci.blob_fetch) and the P(k0smotron.oci.control_plane#role) role do).
positional: _input
options:
  _input:
    description: The download URL.
    type: str
    required: true
author:
  - k0smotron.oci maintainers (@k0sproject)
"""

EXAMPLES = r"""
- name: Validate a user-given download URL
  ansible.builtin.assert:
    that: (control_plane_download_url | k0smotron.oci.parse_download_url).digest is defined
"""

RETURN = r"""
_value:
  description: The parts of the URL.
  type: dict
  contains:
    registry:
      description: Registry host (and port).
      type: str
    repository:
      description: Repository name.
      type: str
    digest:
      description: The blob digest.
      type: str
    reference:
      description: C(REGISTRY/REPOSITORY@DIGEST), the argument k0smotron passes to C(oras blob fetch).
      type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.k0smotron.oci.plugins.module_utils._reference import ReferenceError, parse_download_url


def _parse_download_url(url):
    try:
        ref = parse_download_url(url)
    except ReferenceError as e:
        raise AnsibleFilterError("k0smotron.oci.parse_download_url: %s" % e)
    return {"registry": ref.registry, "repository": ref.repository, "digest": ref.digest, "reference": str(ref)}


class FilterModule(object):
    def filters(self):
        return {"parse_download_url": _parse_download_url}
