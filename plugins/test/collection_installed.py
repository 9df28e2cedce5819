# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: collection_installed
short_description: Is a collection installed where this Ansible run finds collections?
version_added: 0.3.0
description:
  - True when the controller's collection paths hold the collection named C(NAMESPACE.NAME).
  - The collection declares no hard dependency on C(kubernetes.core), so that it installs offline; the
    C(control_plane) role checks with this test before applying or deleting, and says how to install it.
options:
  _input:
    description: A collection name, for example C(kubernetes.core).
    type: str
    required: true
author:
  - k0smotron.oci maintainers (@k0sproject)
"""

EXAMPLES = r"""
- name: Need kubernetes.core
  ansible.builtin.assert:
    that: "'kubernetes.core' is k0smotron.oci.collection_installed"
"""

RETURN = r"""
_value:
  description: Whether the collection can be loaded.
  type: bool
"""

import importlib.util

from ansible.errors import AnsibleFilterError


def collection_installed(name):
    parts = str(name).split(".")
    if len(parts) != 2 or not all(p.isidentifier() for p in parts):
        raise AnsibleFilterError("k0smotron.oci.collection_installed: %r is not NAMESPACE.NAME" % (name,))
    try:
        # The controller's collection loader answers for ansible_collections.*, from the configured paths.
        return importlib.util.find_spec("ansible_collections.%s.%s" % tuple(parts)) is not None
    except ImportError:
        return False


class TestModule(object):
    def tests(self):
        return {"collection_installed": collection_installed}
