#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: index_push
short_description: Tie per-platform artifacts together in a multi-arch OCI image index
version_added: 0.1.0
description:
  - Pushes an OCI image index under a tag whose entries point at manifests already in the same repository
    (for example one M(k0smotron.oci.artifact_push) per architecture), each with its C(platform), so that
    M(k0smotron.oci.artifact_info) with O(k0smotron.oci.artifact_info#module:platform) resolves each node's
    own binary.
  - Idempotent; an index equal to the one at the tag is not pushed again.
author:
  - k0smotron.oci maintainers (@k0sproject)
extends_documentation_fragment:
  - k0smotron.oci.registry
  - k0smotron.oci.attributes
  - k0smotron.oci.attributes.actiongroup_registry
  - k0smotron.oci.signing
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - Shows the tag and index digest before and after.
  idempotent:
    support: full
options:
  reference:
    description: C(REGISTRY/REPOSITORY:TAG) of the index.
    type: str
    required: true
  manifests:
    description: The entries of the index.
    type: list
    elements: dict
    required: true
    suboptions:
      digest:
        description:
          - Digest of a manifest in the same repository (for example RV(k0smotron.oci.artifact_push#module:manifest_digest)).
          - Exactly one of O(manifests[].digest) and O(manifests[].tag) is required.
        type: str
      tag:
        description: Tag of a manifest in the same repository (instead of O(manifests[].digest)).
        type: str
      platform:
        description: C(os/arch[/variant]), for example C(linux/amd64), C(linux/arm64), C(linux/arm/v7).
        type: str
        required: true
  annotations:
    description: Index annotations (string to string).
    type: dict
  artifact_type:
    description: The index's C(artifactType), if any.
    type: str
"""

EXAMPLES = r"""
- name: One tag for all architectures
  k0smotron.oci.index_push:
    reference: registry.example.com/my-repo/k0s:v1.34.1-k0s.0
    manifests:
      - tag: v1.34.1-k0s.0-amd64
        platform: linux/amd64
      - tag: v1.34.1-k0s.0-arm64
        platform: linux/arm64
"""

RETURN = r"""
signature:
  description: The cosign signature written (or found) for the pushed manifest, as M(k0smotron.oci.artifact_sign)
    returns each entry of RV(k0smotron.oci.artifact_sign#module:signatures).
  returned: when O(signing_key) is set
  type: dict
  version_added: 0.3.0
index_digest:
  description: Digest of the index.
  returned: success
  type: str
index:
  description: The index document.
  returned: success
  type: dict
"""

from ansible_collections.k0smotron.oci.plugins.module_utils._common import registry_module, run
from ansible_collections.k0smotron.oci.plugins.module_utils._errors import ModuleInputError
from ansible_collections.k0smotron.oci.plugins.module_utils._oras import build_index, descriptor, digest_of, parse_platform
from ansible_collections.k0smotron.oci.plugins.module_utils._reference import Reference, validate_digest
from ansible_collections.k0smotron.oci.plugins.module_utils._media_types import OCI_INDEX
from ansible_collections.k0smotron.oci.plugins.module_utils._registry_options import SIGNING_ARG_SPEC
from ansible_collections.k0smotron.oci.plugins.module_utils._registry import RegistryNotFoundError, client_from_params


def push_index(module):
    p = module.params
    ref = Reference.parse(p["reference"], require_tag=True)
    if ref.digest:
        raise ModuleInputError("option reference: push an index to a tag, not to a digest")
    if not p["manifests"]:
        raise ModuleInputError("option manifests: give at least one entry")
    annotations = p.get("annotations") or {}
    if not all(isinstance(v, str) for v in annotations.values()):
        raise ModuleInputError("option annotations: values must be strings")
    client = client_from_params(p, ref, push=not module.check_mode)
    try:
        entries = []
        for i, item in enumerate(p["manifests"]):
            where = "option manifests[%d]" % i
            if item.get("digest") is not None:
                validate_digest(item["digest"], "%s.digest" % where)
            platform = parse_platform(item["platform"], "%s.platform" % where)
            doc, media_type, digest, data = client.get_manifest_json(
                item["digest"] if item.get("digest") is not None else item["tag"])
            entries.append(descriptor(media_type, digest, len(data), platform=platform,
                                      artifact_type=doc.get("artifactType")))
        body, index = build_index(entries, annotations, p.get("artifact_type"))
        try:
            before, _media, before_digest = client.get_manifest(ref.tag)
        except RegistryNotFoundError:
            before, before_digest = None, None
        changed = before != body
        if changed and not module.check_mode:
            client.put_manifest(ref.tag, body, OCI_INDEX)
    finally:
        client.close()
    result = dict(changed=changed, index_digest=digest_of(body), index=index)
    if module._diff:
        result["diff"] = {"before": {"tag": ref.tag, "index_digest": before_digest},
                          "after": {"tag": ref.tag, "index_digest": result["index_digest"]}}
    return result


def main():
    module = registry_module(
        dict(
            reference=dict(type="str", required=True),
            manifests=dict(type="list", elements="dict", required=True, options=dict(
                digest=dict(type="str"),
                tag=dict(type="str"),
                platform=dict(type="str", required=True),
            ), mutually_exclusive=[["digest", "tag"]], required_one_of=[["digest", "tag"]]),
            annotations=dict(type="dict"),
            artifact_type=dict(type="str"),
            **SIGNING_ARG_SPEC
        )
    )
    run(module, push_index)


if __name__ == "__main__":
    main()
