#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: artifact_info
short_description: Resolve an OCI artifact to the blob digest and oci:// download URL of one of its files
version_added: 0.1.0
description:
  - Reads the manifest behind a tag or digest (following an OCI image index or Docker manifest list to the
    entry for O(platform)) and returns its layers, and for the layer chosen by O(title) its blob digest,
    size and the C(oci://REGISTRY/REPO@sha256:...) URL for k0smotron's C(downloadURL).
  - This is what C(oras manifest fetch REF | jq) plus reading the layer digest by eye does, without the
    classic mistake of taking the manifest digest.
author:
  - k0smotron.oci maintainers (@k0sproject)
extends_documentation_fragment:
  - k0smotron.oci.registry
  - k0smotron.oci.attributes
  - k0smotron.oci.attributes.info_module
  - k0smotron.oci.attributes.actiongroup_registry
options:
  reference:
    description:
      - C(REGISTRY/REPOSITORY:TAG) or C(REGISTRY/REPOSITORY@sha256:...) of the manifest (or index).
    type: str
    required: true
  platform:
    description:
      - C(os/arch[/variant]) to pick from an image index, for example C(linux/arm64).
      - Required when the reference is an index with more than one entry.
    type: str
  title:
    description:
      - The layer to resolve, by its C(org.opencontainers.image.title) annotation (the pushed file's base name).
      - Not needed when the manifest has exactly one layer.
    type: str
seealso:
  - module: k0smotron.oci.artifact_push
  - plugin: k0smotron.oci.download_url
    plugin_type: lookup
"""

EXAMPLES = r"""
- name: Find the blob digest that the seed procedure reads from oras manifest fetch
  k0smotron.oci.artifact_info:
    reference: registry.example.com/my-repo/k0s:v1.34.1-k0s.0
    title: k0s
  register: k0s_artifact

- name: Show the downloadURL for the K0sControlPlane
  ansible.builtin.debug:
    var: k0s_artifact.download_url

- name: Pick the arm64 binary from a multi-arch index
  k0smotron.oci.artifact_info:
    reference: registry.example.com/my-repo/k0s:v1.34.1-k0s.0
    platform: linux/arm64
"""

RETURN = r"""
manifest:
  description: The (platform-selected) manifest.
  returned: success
  type: dict
manifest_digest:
  description: Digest of that manifest. Not a download URL digest.
  returned: success
  type: str
media_type:
  description: Media type of the manifest.
  returned: success
  type: str
artifact_type:
  description: The manifest's C(artifactType), else its config media type.
  returned: success
  type: str
index_digest:
  description: Digest of the index the manifest was selected from, when the reference named an index.
  returned: when the reference is an index
  type: str
platforms:
  description: Platforms listed in the index (C(os/arch[/variant])).
  returned: when the reference is an index
  type: list
  elements: str
layers:
  description: All layers.
  returned: success
  type: list
  elements: dict
  contains:
    title:
      description: C(org.opencontainers.image.title), if any.
      type: str
    digest:
      description: Blob digest.
      type: str
    size:
      description: Size in bytes.
      type: int
    media_type:
      description: Layer media type.
      type: str
    annotations:
      description: Layer annotations.
      type: dict
    download_url:
      description: C(oci://) URL of this layer.
      type: str
title:
  description: Title of the chosen layer.
  returned: success
  type: str
blob_digest:
  description: Blob digest of the chosen layer; the digest k0smotron's C(downloadURL) needs.
  returned: success
  type: str
  sample: sha256:2f1d5c8e0b2a4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e
size:
  description: Size of the chosen layer in bytes.
  returned: success
  type: int
download_url:
  description: C(oci://REGISTRY/REPOSITORY@BLOB_DIGEST) of the chosen layer.
  returned: success
  type: str
  sample: oci://registry.example.com/my-repo/k0s@sha256:2f1d5c8e0b2a4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e
download_urls:
  description: C(oci://) URL per layer title.
  returned: success
  type: dict
registry:
  description: Registry host (and port).
  returned: success
  type: str
repository:
  description: Repository name.
  returned: success
  type: str
"""

from ansible_collections.k0smotron.oci.plugins.module_utils._common import registry_module, run
from ansible_collections.k0smotron.oci.plugins.module_utils._resolve import resolve


def info(module):
    result = resolve(module.params)
    result["changed"] = False
    return result


def main():
    module = registry_module(
        dict(
            reference=dict(type="str", required=True),
            platform=dict(type="str"),
            title=dict(type="str"),
        )
    )
    run(module, info)


if __name__ == "__main__":
    main()
