# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: unknown_role_variables
short_description: Warnings for variables that carry a role's prefix but that the role does not know
version_added: 0.3.0
description:
  - A misspelt role variable (C(control_plane_registry_ca_pth)) is otherwise silently ignored and the role
    falls back to the default. This filter names each variable that starts with the role's prefix but is
    neither an option in the role's C(meta/argument_specs.yml) nor one of its results, and suggests the closest
    known name.
  - Every role of the collection runs it first in its C(preflight.yml).
positional: _input
options:
  _input:
    description: Names of the variables defined, for example C(query('ansible.builtin.varnames', '^oras_')).
    type: list
    elements: str
    required: true
  role_path:
    description: The role's directory (C(role_path)); its C(meta/argument_specs.yml) lists the known options.
    type: path
    required: true
  prefix:
    description: The role's variable prefix, for example C(control_plane_).
    type: str
    required: true
  results:
    description: Variables with the prefix that the role sets itself (facts it returns).
    type: list
    elements: str
    default: []
  other_prefixes:
    description: Longer prefixes that belong to other roles (C(oras_publish_) for the role C(oras)).
    type: list
    elements: str
    default: []
author:
  - k0smotron.oci maintainers (@k0sproject)
"""

EXAMPLES = r"""
- name: Warn about misspelt role variables
  ansible.builtin.debug:
    msg: "WARNING: {{ item }}"
  loop: >-
    {{ query('ansible.builtin.varnames', '^control_plane_')
       | k0smotron.oci.unknown_role_variables(role_path=role_path, prefix='control_plane_') }}
"""

RETURN = r"""
_value:
  description:
    - One message per unknown variable, for example
      C(control_plane_registry_ca_pth is not a variable of this role and is ignored; did you mean control_plane_registry_ca_path?).
  type: list
  elements: str
"""

import difflib
import os

import yaml

from ansible.errors import AnsibleFilterError


def _known_options(role_path):
    path = os.path.join(role_path, "meta", "argument_specs.yml")
    try:
        with open(path) as f:
            specs = yaml.safe_load(f) or {}
    except (IOError, OSError, yaml.YAMLError) as e:
        raise AnsibleFilterError("k0smotron.oci.unknown_role_variables: cannot read %s: %s" % (path, e))
    known = set()
    for entry in (specs.get("argument_specs") or {}).values():
        known.update((entry or {}).get("options") or {})
    return known


def unknown_role_variables(names, role_path, prefix, results=None, other_prefixes=None):
    known = _known_options(role_path) | set(results or [])
    messages = []
    for name in sorted(set(names or [])):
        if not name.startswith(prefix) or name in known:
            continue
        if any(name.startswith(other) for other in other_prefixes or []):
            continue
        close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
        hint = ("; did you mean %s?" % close[0]) if close else "; see the role's meta/argument_specs.yml for its variables"
        messages.append("%s is not a variable of this role and is ignored%s" % (name, hint))
    return messages


class FilterModule(object):
    def filters(self):
        return {"unknown_role_variables": unknown_role_variables}
