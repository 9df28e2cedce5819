# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: parse_checksums
short_description: Read a release checksum list (sha256sum output) into a dict
version_added: 0.2.0
description:
  - Parses the checksum lists that k0s (C(sha256sums.txt), lines C(<hex> *<asset>)) and ORAS
    (C(oras_<version>_checksums.txt), lines C(<hex>  <asset>)) publish next to their release assets.
  - Blank lines and C(#) comments are skipped. Any other line that is not C(<64 hex> [*]<file name>) fails,
    so that a truncated download or an HTML error page cannot pass as an empty list.
positional: _input
options:
  _input:
    description: The text of the checksum list.
    type: str
    required: true
author:
  - k0smotron.oci maintainers (@k0sproject)
"""

EXAMPLES = r"""
- name: Checksum of the amd64 ORAS tarball
  ansible.builtin.set_fact:
    oras_sha256: "{{ (checksums_file.content | k0smotron.oci.parse_checksums)['oras_1.3.0_linux_amd64.tar.gz'] }}"
"""

RETURN = r"""
_value:
  description: File name to lowercase sha256 hex digest.
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.k0smotron.oci.plugins.module_utils._checksums import ChecksumError, parse_checksums


def _parse_checksums(text):
    try:
        return parse_checksums(text)
    except ChecksumError as e:
        raise AnsibleFilterError("k0smotron.oci.parse_checksums: %s" % e)


class FilterModule(object):
    def filters(self):
        return {"parse_checksums": _parse_checksums}
