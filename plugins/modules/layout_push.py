#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: layout_push
short_description: Copy every image of an OCI image layout (a directory or a tar, such as a k0s airgap bundle) into a registry
version_added: 0.3.0
description:
  - Pushes each image that the layout's C(index.json) names (annotation C(org.opencontainers.image.ref.name)) to
    O(target), under the image's own path with the source registry host dropped, as k0s'
    C(spec.images.repository) expects it - C(quay.io/k0sproject/pause:3.10.1) becomes
    C(TARGET/k0sproject/pause:3.10.1).
  - Every manifest and index is pushed byte for byte, so every digest stays the one in the layout
    (multi-platform images keep their index). What C(oras cp --from-oci-layout) does, for the whole layout at once.
  - A tar is read in place, never unpacked; blobs are sent from their byte range of the file, so memory stays
    flat whatever the layout's size. Blobs the repository already has are skipped; a blob another repository of
    the same run has is mounted from there (C(POST ?mount=)), so it is not sent twice.
  - Idempotent - a second run sends nothing and reports C(changed=false).
author:
  - k0smotron.oci maintainers (@k0sproject)
extends_documentation_fragment:
  - k0smotron.oci.registry
  - k0smotron.oci.attributes
  - k0smotron.oci.attributes.actiongroup_registry
attributes:
  check_mode:
    support: full
    details:
      - Reads the registry (HEAD requests) and reports what would be sent, mounted and tagged.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  src:
    description:
      - An OCI image layout - a directory with C(oci-layout), C(index.json) and C(blobs/), or an uncompressed tar of
        one (a k0s airgap bundle C(k0s-airgap-bundle-<version>-linux-<arch>.tar)).
    type: path
    required: true
  target:
    description:
      - C(REGISTRY[/PREFIX]) to push to, for example C(registry.example.com) or C(registry.example.com/mirror).
        Each image goes to C(REGISTRY/PREFIX/<its path>:<its tag>).
    type: str
    required: true
  tag_suffix:
    description:
      - Appended to every tag, for example C(-amd64) pushes C(quay.io/k0sproject/pause:3.10.1) as
        C(TARGET/k0sproject/pause:3.10.1-amd64).
      - For layouts of one platform each (k0s' airgap bundles are one per architecture), so that one does not take
        another's tag; M(k0smotron.oci.index_push) over RV(images[].platforms) then ties them together under the plain
        tag, as the C(k0smotron.oci.k0s_publish) role does.
    type: str
    default: ""
    version_added: 0.3.0
seealso:
  - module: k0smotron.oci.artifact_push
  - name: OCI image layout specification
    description: The format of O(src).
    link: https://github.com/opencontainers/image-spec/blob/main/image-layout.md
"""

EXAMPLES = r"""
- name: Mirror the k0s system images of an airgap bundle into the private registry
  k0smotron.oci.layout_push:
    src: /var/cache/k0s/k0s-airgap-bundle-v1.34.1+k0s.0-linux-amd64.tar
    target: registry.example.com
  register: mirrored

- name: Show where pause went
  ansible.builtin.debug:
    msg: "{{ mirrored.images | selectattr('repository', 'search', 'pause') | map(attribute='reference') | list }}"
"""

RETURN = r"""
images:
  description: One entry per image of the layout.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: The image's C(ref.name) in the layout.
      type: str
    reference:
      description: Where it is now, C(REGISTRY/REPOSITORY:TAG).
      type: str
    digest:
      description: Digest of the tagged manifest or index (the same as in the layout).
      type: str
    platforms:
      description:
        - The platform manifests under the tag - the entries of the image's index, or the image's own manifest with
          the platform of its config - as M(k0smotron.oci.index_push) takes them.
      type: list
      elements: dict
      version_added: 0.3.0
      contains:
        digest:
          description: Digest of the manifest.
          type: str
        platform:
          description: C(os/architecture[/variant]), for example C(linux/arm/v7); empty if the layout does not say.
          type: str
    uploaded_blobs:
      description: Blobs sent.
      type: int
    uploaded_bytes:
      description: Bytes of blobs sent.
      type: int
    mounted_blobs:
      description: Blobs mounted from another repository of the run.
      type: int
    existing_blobs:
      description: Blobs the repository already had.
      type: int
    pushed_manifests:
      description: Manifests and indexes written (the tag included).
      type: int
    changed:
      description: Whether anything was written for this image.
      type: bool
uploaded_bytes:
  description: Bytes of blobs sent in all (what would be sent, in check mode).
  returned: success
  type: int
registry:
  description: The target registry host.
  returned: success
  type: str
"""

from ansible_collections.k0smotron.oci.plugins.module_utils._common import registry_module, run
from ansible_collections.k0smotron.oci.plugins.module_utils._errors import ModuleInputError
from ansible_collections.k0smotron.oci.plugins.module_utils._layout import Layout, LayoutError, images, push_images
from ansible_collections.k0smotron.oci.plugins.module_utils._reference import Reference, ReferenceError
from ansible_collections.k0smotron.oci.plugins.module_utils._registry import client_from_params


def _target(text):
    probe = Reference.parse(text.rstrip("/") + "/x", option="target")
    if probe.tag or probe.digest:
        raise ModuleInputError("option target: %r carries a tag or digest; give REGISTRY[/PREFIX]" % text)
    return probe.registry, probe.repository[:-1].rstrip("/")


def push_layout(module):
    p = module.params
    registry, prefix = _target(p["target"])

    def new_client(repository):
        return client_from_params(p, Reference(registry, repository), push=not module.check_mode)

    try:
        layout = Layout(p["src"])
        found = images(layout, prefix, p["tag_suffix"])
        results, uploaded = push_images(layout, found, new_client, module.check_mode)
    except (LayoutError, ReferenceError) as e:
        raise ModuleInputError("option src: %s" % e)
    for result in results:
        result["reference"] = "%s/%s:%s" % (registry, result["repository"], result["tag"])
    return dict(changed=any(r["changed"] for r in results), images=results, uploaded_bytes=uploaded,
                registry=registry)


def main():
    module = registry_module(dict(
        src=dict(type="path", required=True),
        target=dict(type="str", required=True),
        tag_suffix=dict(type="str", default=""),
    ))
    run(module, push_layout)


if __name__ == "__main__":
    main()
