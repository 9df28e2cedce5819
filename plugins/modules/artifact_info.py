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
  - Given a download URL C(oci://REGISTRY/REPOSITORY@sha256:...) instead, it checks that URL with one blob
    C(HEAD) (and, when there is no such blob, one manifest C(HEAD)); it fails when the digest names a manifest
    or no blob in the repository, and returns RV(checked), RV(blob_digest), RV(size) and RV(download_url).
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
      - Or a download URL C(oci://REGISTRY/REPOSITORY@sha256:...) to check (see the description).
    type: str
    required: true
  unreachable:
    description:
      - Only for a download URL in O(reference). What to do when the registry cannot be asked (no connection,
        DNS, TLS, a timeout after O(retries), a login that is needed and missing or refused, or credentials that
        cannot be read here, such as a credential helper that is not installed).
      - V(fail) fails the task; V(warn) returns RV(checked=false) with a warning saying that the URL was not checked.
    type: str
    choices: [fail, warn]
    default: fail
    version_added: 0.3.0
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

- name: Check a download URL (a blob, not a manifest) where the registry can be reached
  k0smotron.oci.artifact_info:
    reference: oci://registry.example.com/my-repo/k0s@sha256:2f1d5c8e0b2a4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e
    unreachable: warn

- name: Pick the arm64 binary from a multi-arch index
  k0smotron.oci.artifact_info:
    reference: registry.example.com/my-repo/k0s:v1.34.1-k0s.0
    platform: linux/arm64
"""

RETURN = r"""
authenticated:
  description:
    - Whether the registry asked for a login and the module answered with credentials (from the options, the
      E(K0SMOTRON_OCI_USERNAME)/E(K0SMOTRON_OCI_PASSWORD) environment or a docker config). Whoever pulls the
      blob later (the nodes) then needs credentials too.
  returned: success (for a download URL, when RV(checked))
  type: bool
  version_added: 0.3.0
checked:
  description: For a download URL in O(reference), whether the registry confirmed that it names a blob.
  returned: when O(reference) is a download URL
  type: bool
  version_added: 0.3.0
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
  returned: success (also for a download URL)
  type: str
  sample: sha256:2f1d5c8e0b2a4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e
size:
  description: Size of the chosen layer in bytes (for a download URL, as the registry announces it; -1 if it does not).
  returned: success (for a download URL, when RV(checked))
  type: int
download_url:
  description: C(oci://REGISTRY/REPOSITORY@BLOB_DIGEST) of the chosen layer.
  returned: success (also for a download URL)
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
from ansible_collections.k0smotron.oci.plugins.module_utils._docker_config import DockerConfigError
from ansible_collections.k0smotron.oci.plugins.module_utils._reference import DOWNLOAD_SCHEME, parse_download_url
from ansible_collections.k0smotron.oci.plugins.module_utils._registry import client_from_params
from ansible_collections.k0smotron.oci.plugins.module_utils._registry_errors import (
    RegistryAuthError,
    RegistryConnectionError,
)
from ansible_collections.k0smotron.oci.plugins.module_utils._resolve import resolve


def check_download_url(module):
    """One blob HEAD (plus a manifest HEAD when there is no blob) for a download URL."""
    p = module.params
    ref = parse_download_url(p["reference"], "option reference")
    result = dict(changed=False, checked=False, blob_digest=ref.digest, download_url=ref.download_url(),
                  registry=ref.registry, repository=ref.repository)
    client = None
    try:
        # Inside the try: finding the credentials (a credential helper that cannot run here) can fail too.
        client = client_from_params(p, ref)
        result["size"] = client.require_blob(ref.digest)
        result["checked"] = True
        result["authenticated"] = client.auth.used_credentials
    except (RegistryConnectionError, RegistryAuthError, DockerConfigError) as e:
        if p["unreachable"] == "fail":
            raise
        module.warn("%s was not checked against the registry (it could not be asked): %s" % (ref.download_url(), e))
    finally:
        if client is not None:
            client.close()
    return result


def info(module):
    if module.params["reference"].startswith(DOWNLOAD_SCHEME):
        return check_download_url(module)
    result = resolve(module.params)
    result["changed"] = False
    return result


def main():
    module = registry_module(
        dict(
            reference=dict(type="str", required=True),
            unreachable=dict(type="str", choices=["fail", "warn"], default="fail"),
            platform=dict(type="str"),
            title=dict(type="str"),
        )
    )
    run(module, info)


if __name__ == "__main__":
    main()
