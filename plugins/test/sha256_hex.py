# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: sha256_hex
short_description: Is the value a bare sha256 checksum (exactly 64 lowercase hex digits)?
version_added: 0.2.0
description:
  - True for exactly 64 lowercase hexadecimal digits, with no C(sha256:) prefix and nothing after them
    (a trailing newline, as a C($)-anchored pattern would allow, makes it false).
  - The same rule as the checksum lists read with P(k0smotron.oci.parse_checksums#filter).
options:
  _input:
    description: The value to test.
    type: raw
    required: true
author:
  - k0smotron.oci maintainers (@k0sproject)
"""

EXAMPLES = r"""
- name: Every given checksum is a bare sha256
  ansible.builtin.assert:
    that: my_checksums.values() | reject('k0smotron.oci.sha256_hex') | list | length == 0
"""

RETURN = r"""
_value:
  description: Whether the value is a bare sha256 hex digest.
  type: bool
"""

from ansible_collections.k0smotron.oci.plugins.module_utils._checksums import is_sha256_hex


class TestModule(object):
    def tests(self):
        return {"sha256_hex": is_sha256_hex}
