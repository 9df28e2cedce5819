# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: parse_reference
short_description: Check an OCI reference and split it into registry, repository, tag and digest
version_added: 0.2.0
description:
  - Validates C(REGISTRY/REPOSITORY[:TAG][@sha256:<64 hex>]) with the parser the modules use, and fails with
    a message that says what is wrong (no registry host, a scheme such as C(oci://), an uppercase repository,
    a C(+) in the tag, a digest of the wrong length, ...).
  - For C(oci://) download URLs use P(k0smotron.oci.parse_download_url#filter) instead.
positional: _input
options:
  _input:
    description: The reference.
    type: str
    required: true
  require_tag:
    description: Fail unless the reference carries a tag or a digest.
    type: bool
    default: false
  option:
    description: Name of the variable or option that held the reference, used in error messages.
    type: str
    default: reference
author:
  - k0smotron.oci maintainers (@k0sproject)
"""

EXAMPLES = r"""
- name: Validate a user-given artifact reference
  ansible.builtin.assert:
    that: (artifact_reference | k0smotron.oci.parse_reference(require_tag=true)).registry | length > 0

- name: The registry host of a reference
  ansible.builtin.debug:
    msg: "{{ ('registry.example.com:5000/k0s/k0s:v1.34.1-k0s.0' | k0smotron.oci.parse_reference).registry }}"
"""

RETURN = r"""
_value:
  description: The parts of the reference.
  type: dict
  contains:
    registry:
      description: Registry host (and port).
      type: str
    repository:
      description: Repository name.
      type: str
    name:
      description: C(REGISTRY/REPOSITORY), without tag or digest.
      type: str
    tag:
      description: The tag, or C(None).
      type: str
    digest:
      description: The digest (C(sha256:<hex>)), or C(None).
      type: str
    reference:
      description: The whole reference, normalized (surrounding white space removed).
      type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.k0smotron.oci.plugins.module_utils._reference import Reference, ReferenceError


def _parse_reference(text, require_tag=False, option="reference"):
    try:
        ref = Reference.parse(text, option=option, require_tag=bool(require_tag))
    except ReferenceError as e:
        raise AnsibleFilterError("k0smotron.oci.parse_reference: %s" % e)
    return {"registry": ref.registry, "repository": ref.repository, "name": ref.name, "tag": ref.tag,
            "digest": ref.digest, "reference": str(ref)}


class FilterModule(object):
    def filters(self):
        return {"parse_reference": _parse_reference}
