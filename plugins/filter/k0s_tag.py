# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: k0s_tag
short_description: Turn a k0s version into a tag that registries accept
version_added: 0.1.0
description:
  - Replaces C(+) (not allowed in OCI tags) with C(-), so C(v1.34.1+k0s.0) becomes C(v1.34.1-k0s.0),
    the tag the k0smotron docs push to.
  - Fails with a clear message when the result is still not a valid tag.
positional: _input
options:
  _input:
    description: A k0s version such as C(v1.34.1+k0s.0).
    type: str
    required: true
author:
  - k0smotron.oci maintainers (@k0sproject)
"""

EXAMPLES = r"""
- name: Push under the k0s version's tag
  k0smotron.oci.artifact_push:
    reference: "registry.example.com/k0s/k0s:{{ 'v1.34.1+k0s.0' | k0smotron.oci.k0s_tag }}"
    files: [/tmp/k0s]
"""

RETURN = r"""
_value:
  description: The tag, for example C(v1.34.1-k0s.0).
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.k0smotron.oci.plugins.module_utils._reference import ReferenceError, k0s_tag


def _k0s_tag(version):
    try:
        return k0s_tag(version)
    except ReferenceError as e:
        raise AnsibleFilterError("k0smotron.oci.k0s_tag: %s" % e)


class FilterModule(object):
    def filters(self):
        return {"k0s_tag": _k0s_tag}
