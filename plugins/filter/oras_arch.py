# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: oras_arch
short_description: Map a machine architecture to the architecture of the ORAS release assets
version_added: 0.2.0
description:
  - Maps a machine name as C(uname -m) or Ansible's C(ansible_facts.architecture) report it (C(x86_64),
    C(aarch64), C(armv7l), ...) to the architecture in the ORAS release asset names
    C(oras_<version>_linux_<arch>.tar.gz) (C(amd64), C(arm64), C(armv7)).
  - A release architecture maps to itself, so a user override can go through the same filter.
  - Fails, naming the supported architectures, for any other machine.
  - The same map builds the C(install-oras.sh) script of the P(k0smotron.oci.control_plane#role) role.
positional: _input
options:
  _input:
    description: The machine architecture, or an ORAS release architecture.
    type: str
    required: true
author:
  - k0smotron.oci maintainers (@k0sproject)
"""

EXAMPLES = r"""
- name: Name the ORAS tarball for this node
  ansible.builtin.set_fact:
    oras_tarball: "oras_1.3.0_linux_{{ ansible_facts.architecture | k0smotron.oci.oras_arch }}.tar.gz"
"""

RETURN = r"""
_value:
  description: The ORAS release architecture, C(amd64), C(arm64) or C(armv7).
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.k0smotron.oci.plugins.plugin_utils._node_scripts import oras_arch


def _oras_arch(machine):
    try:
        return oras_arch(machine)
    except ValueError as e:
        raise AnsibleFilterError("k0smotron.oci.oras_arch: %s" % e)


class FilterModule(object):
    def filters(self):
        return {"oras_arch": _oras_arch}
