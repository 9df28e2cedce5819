# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: to_k8s_yaml
short_description: Write Kubernetes objects as readable YAML (multi-line text as literal blocks)
version_added: 0.2.0
description:
  - Dumps data as YAML for people and for line-by-line diffs in Git. Multi-line strings (scripts, configs)
    become literal blocks (C(|)); keys keep their order; no anchors or aliases; characters outside the basic
    multilingual plane (emoji) are written as they are, so that the output reads back unchanged.
  - Unlike C(ansible.builtin.to_nice_yaml), a script stays a script and does not become one long quoted line.
positional: _input
options:
  _input:
    description: The data, usually one Kubernetes object; with O(multi_document=true) a list of objects.
    type: raw
    required: true
  multi_document:
    description: Write each item of the input list as its own document, each starting with C(---).
    type: bool
    default: false
author:
  - k0smotron.oci maintainers (@k0sproject)
"""

EXAMPLES = r"""
- name: Write a ConfigMap whose script diffs line by line
  ansible.builtin.copy:
    dest: /tmp/configmap.yaml
    content: "{{ configmap | k0smotron.oci.to_k8s_yaml }}"
    mode: "0644"

- name: Several objects in one file
  ansible.builtin.copy:
    dest: /tmp/all.yaml
    content: "{{ objects | k0smotron.oci.to_k8s_yaml(multi_document=true) }}"
    mode: "0644"
"""

RETURN = r"""
_value:
  description: YAML text ending in a newline.
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.k0smotron.oci.plugins.plugin_utils._k8s_yaml import dump, dump_all


def to_k8s_yaml(data, multi_document=False):
    try:
        if multi_document:
            if not isinstance(data, (list, tuple)):
                raise TypeError("multi_document=true needs a list of objects, got a %s" % type(data).__name__)
            return dump_all(data)
        return dump(data)
    except (TypeError, ValueError) as e:
        raise AnsibleFilterError("k0smotron.oci.to_k8s_yaml: %s" % e)


class FilterModule(object):
    def filters(self):
        return {"to_k8s_yaml": to_k8s_yaml}
