# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: oci_download_url
short_description: Build the oci:// download URL k0smotron takes from a repository and a blob digest
version_added: 0.1.0
description:
  - Returns C(oci://REGISTRY/REPOSITORY@sha256:HEX) after checking both parts, the form
    C(K0sControlPlane.spec.k0sConfigSpec.downloadURL) needs.
  - The digest must be the blob (layer) digest, for example RV(k0smotron.oci.artifact_info#module:blob_digest),
    not a manifest digest.
positional: _input, digest
options:
  _input:
    description: C(REGISTRY/REPOSITORY), without tag or digest. A tag is tolerated and dropped.
    type: str
    required: true
  digest:
    description: The blob digest, C(sha256:<64 hex>).
    type: str
    required: true
author:
  - k0smotron.oci maintainers (@k0sproject)
"""

EXAMPLES = r"""
- name: Build the downloadURL
  ansible.builtin.set_fact:
    k0s_download_url: "{{ 'registry.example.com/my-repo/k0s' | k0smotron.oci.oci_download_url(k0s_artifact.blob_digest) }}"
"""

RETURN = r"""
_value:
  description: The download URL.
  type: str
  sample: oci://registry.example.com/my-repo/k0s@sha256:2f1d5c8e0b2a4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.k0smotron.oci.plugins.module_utils._reference import Reference, ReferenceError


def oci_download_url(repository, digest):
    try:
        ref = Reference.parse(repository, option="repository", allow_scheme=True)
        if ref.digest:
            raise ReferenceError("repository %r already carries a digest; pass REGISTRY/REPOSITORY only" % repository)
        return ref.download_url(digest)
    except ReferenceError as e:
        raise AnsibleFilterError("k0smotron.oci.oci_download_url: %s" % e)


class FilterModule(object):
    def filters(self):
        return {"oci_download_url": oci_download_url}
