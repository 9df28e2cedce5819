#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: artifact_push
short_description: Push files to an OCI registry as an ORAS-compatible artifact
version_added: 0.1.0
description:
  - Pushes one or more files (for example a k0s release binary) to an OCI registry as an artifact that is
    byte-compatible with what C(oras push REGISTRY/REPO:TAG FILE... --annotation-file FILE) writes
    (OCI 1.1 image manifest, C(artifactType), the empty config blob, one
    C(application/vnd.oci.image.layer.v1.tar) layer per file with an C(org.opencontainers.image.title) annotation).
  - Returns the blob digest of each file and the C(oci://REGISTRY/REPO@sha256:...) download URL that
    k0smotron's C(K0sControlPlane.spec.k0sConfigSpec.downloadURL) takes. That is the layer (blob) digest,
    not the manifest digest.
  - Idempotent. Blobs the registry already has are not uploaded (HEAD), and an unchanged push keeps
    the previous C(org.opencontainers.image.created) annotation, so the manifest digest does not move and
    the result is RV(ignore:changed=false).
  - Files are streamed and hashed in 1 MiB chunks; memory use does not grow with the file size.
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
    details:
      - Contacts the registry read-only (HEAD, GET) to predict RV(ignore:changed); uploads nothing.
  diff_mode:
    support: full
    details:
      - Shows the tag and manifest digest before and after.
  idempotent:
    support: full
options:
  reference:
    description:
      - Where to push, C(REGISTRY/REPOSITORY:TAG), for example C(registry.example.com/k0s/k0s:v1.34.1-k0s.0).
      - Registries reject C(+) in tags; turn a k0s version into a tag with the P(k0smotron.oci.k0s_tag#filter) filter.
      - No C(oci://) prefix here; that belongs in the download URL.
    type: str
    required: true
  files:
    description:
      - Paths of the files to push, one layer each, in this order. The layer title is the file's base name,
        so base names must be unique.
    type: list
    elements: path
    required: true
  annotations:
    description:
      - Annotations in the shape of oras' C(--annotation-file). Keys are a file's base name (layer
        annotations), C($manifest) (manifest annotations) or C($config) (config descriptor annotations);
        values are string-to-string dictionaries.
      - "The seed example's C({\"k0s\": {\"arch\": \"amd64\"}}) annotates the C(k0s) layer."
      - Merged over O(annotation_file) (keys from this option win).
    type: dict
  annotation_file:
    description:
      - A JSON file in oras' C(--annotation-file) format (see O(annotations)).
    type: path
  artifact_type:
    description:
      - The manifest's C(artifactType). oras' default is used when not set.
    type: str
    default: application/vnd.unknown.artifact.v1
  layer_media_type:
    description:
      - Media type of every file layer (oras' default for plain files).
    type: str
    default: application/vnd.oci.image.layer.v1.tar
  digests:
    description:
      - Known digests per file base name (C(sha256:<hex>)), for example from a release's C(sha256sums.txt).
      - A known digest saves the hashing pass (the file is hashed while it is uploaded), and the
        registry rejects the upload if the file does not match, which fails the task.
    type: dict
  upload_mode:
    description:
      - How a blob whose digest is not known in advance (no O(digests) entry, no digest cache hit) is uploaded.
      - V(monolithic) (portable, works with every registry) hashes the file first, asks the registry whether it
        has the blob (HEAD) and, if not, sends it in one streamed C(PUT ?digest=) (two reads of the file).
      - V(stream) reads the file once. It sends the file in one streamed C(PATCH) while hashing it, then
        finishes the upload with a C(PUT ?digest=) without a body. This can be faster for new content (the
        hashing overlaps the transfer, see C(docs/performance.md)). It cannot ask the registry first, so it is only used when the tag has no layer of
        the same title and size yet (otherwise the file is hashed first as in V(monolithic), so an unchanged
        re-push still sends nothing). Registries that cap or refuse large C(PATCH) bodies (GHCR, ECR, GAR)
        make the module fall back to V(monolithic) for that blob, with a warning.
      - A digest known in advance (O(digests), the digest cache) always gives one pass, a monolithic C(PUT) that
        the registry verifies.
    type: str
    choices: [monolithic, stream]
    default: monolithic
  digest_cache:
    description:
      - Remember file digests in C($XDG_CACHE_HOME/k0smotron.oci/digests.json) keyed by device, inode,
        size, modification and change time, so that re-pushing an unchanged large file does not read it again.
    type: bool
    default: true
notes:
  - Blobs are uploaded before the manifest, so a manifest never references a blob the registry lacks.
seealso:
  - module: k0smotron.oci.artifact_info
  - module: k0smotron.oci.blob_fetch
  - name: ORAS push
    description: The CLI command this module replaces.
    link: https://oras.land/docs/commands/oras_push
"""

EXAMPLES = r"""
- name: Push a k0s binary like the k0smotron docs do with oras push
  k0smotron.oci.artifact_push:
    reference: "registry.example.com/my-repo/k0s:{{ 'v1.34.1+k0s.0' | k0smotron.oci.k0s_tag }}"
    files:
      - /tmp/k0s
    annotations:
      k0s:
        arch: amd64
    username: "{{ registry_user }}"
    password: "{{ registry_password }}"
  register: pushed

- name: Use the blob download URL in a K0sControlPlane
  ansible.builtin.debug:
    msg: "downloadURL: {{ pushed.download_url }}"

- name: Push with a digest known from the release's sha256sums.txt, to a local test registry
  k0smotron.oci.artifact_push:
    reference: 127.0.0.1:5000/k0s:v1.34.1-k0s.0
    files: [/srv/k0s/k0s]
    digests:
      k0s: "sha256:{{ k0s_sha256 }}"
    plain_http: true
"""

RETURN = r"""
signature:
  description: The cosign signature written (or found) for the pushed manifest, as M(k0smotron.oci.artifact_sign)
    returns each entry of RV(k0smotron.oci.artifact_sign#module:signatures).
  returned: when O(signing_key) is set
  type: dict
  version_added: 0.3.0
manifest_digest:
  description: Digest of the pushed (or, in check mode, predicted) manifest.
  returned: success
  type: str
  sample: sha256:3f0c3a39c4e8d6a4c6e1b3c9d9f1b0f4f7e3c8a2b1d0e9f8a7b6c5d4e3f2a1b0
manifest:
  description: The manifest as pushed.
  returned: success
  type: dict
layers:
  description: One entry per file.
  returned: success
  type: list
  elements: dict
  contains:
    title:
      description: The file's base name (C(org.opencontainers.image.title)).
      type: str
      sample: k0s
    digest:
      description: The blob digest (sha256 of the file).
      type: str
    size:
      description: Size in bytes.
      type: int
    media_type:
      description: The layer media type.
      type: str
    annotations:
      description: The layer annotations.
      type: dict
    uploaded:
      description: Whether this run uploaded (or, in check mode, would upload) the blob.
      type: bool
download_url:
  description: C(oci://REGISTRY/REPOSITORY@sha256:...) of the first layer, for k0smotron's C(downloadURL).
  returned: success
  type: str
  sample: oci://registry.example.com/my-repo/k0s@sha256:2f1d5c8e0b2a4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e
download_urls:
  description: Download URL per layer title.
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
tag:
  description: The tag pushed.
  returned: success
  type: str
uploaded_bytes:
  description: Blob bytes sent in this run (0 for an unchanged re-push and in check mode).
  returned: success
  type: int
"""

from ansible_collections.k0smotron.oci.plugins.module_utils._common import registry_module, run
from ansible_collections.k0smotron.oci.plugins.module_utils._push import push
from ansible_collections.k0smotron.oci.plugins.module_utils._registry_options import SIGNING_ARG_SPEC


def main():
    module = registry_module(
        dict(
            reference=dict(type="str", required=True),
            files=dict(type="list", elements="path", required=True),
            annotations=dict(type="dict"),
            annotation_file=dict(type="path"),
            artifact_type=dict(type="str", default="application/vnd.unknown.artifact.v1"),
            layer_media_type=dict(type="str", default="application/vnd.oci.image.layer.v1.tar"),
            digests=dict(type="dict"),
            digest_cache=dict(type="bool", default=True),
            upload_mode=dict(type="str", default="monolithic", choices=["monolithic", "stream"]),
            **SIGNING_ARG_SPEC
        )
    )
    run(module, push)


if __name__ == "__main__":
    main()
