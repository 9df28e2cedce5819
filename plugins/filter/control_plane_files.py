# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: control_plane_files
short_description: Lay out Cluster API objects as the YAML files the control_plane role writes
version_added: 0.2.0
description:
  - Turns the result of P(k0smotron.oci.control_plane_objects#filter) into files - one per object named
    C(NN-kind-name.yaml) (NN orders them as they are applied), or one C(CLUSTER.yaml) holding all of them.
  - The text is written by P(k0smotron.oci.to_k8s_yaml#filter) - scripts and configs as literal blocks.
  - A file that holds a C(Secret) gets mode C(0600) and C(secret=true); write it with C(no_log).
positional: _input, layout, name
options:
  _input:
    description: The objects, in apply order.
    type: list
    elements: dict
    required: true
  layout:
    description: V(files) (one file per object) or V(single) (one file).
    type: str
    default: files
    choices: [files, single]
  name:
    description: Base name of the single file (the cluster name); required with O(layout=single).
    type: str
  header:
    description: Text put before the YAML of each file (for example C(ansible_managed | comment)).
    type: str
    default: ""
author:
  - k0smotron.oci maintainers (@k0sproject)
"""

EXAMPLES = r"""
- name: Write the files
  ansible.builtin.copy:
    dest: "{{ out }}/{{ item.name }}"
    content: "{{ item.content }}"
    mode: "{{ item.mode }}"
  loop: "{{ cluster_objects | k0smotron.oci.control_plane_files('files') }}"
  loop_control:
    label: "{{ item.name }}"
  no_log: "{{ item.secret }}"
"""

RETURN = r"""
_value:
  description: The files, in apply order.
  type: list
  elements: dict
  contains:
    name:
      description: File name (no directory).
      type: str
    content:
      description: The YAML text.
      type: str
    mode:
      description: C(0600) when the file holds a Secret, else C(0644).
      type: str
    secret:
      description: Whether the file holds a Secret.
      type: bool
    label:
      description: C(Kind/name) of the objects in the file (no secret values), for loop labels.
      type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_names import file_name
from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_settings import CapiError
from ansible_collections.k0smotron.oci.plugins.plugin_utils._dns_names import check_dns_label
from ansible_collections.k0smotron.oci.plugins.plugin_utils._k8s_yaml import dump, dump_all


def _file(name, objects, text, header):
    secret = any(obj.get("kind") == "Secret" for obj in objects)
    return {"name": name, "content": header + text, "mode": "0600" if secret else "0644", "secret": secret,
            "label": ", ".join("%s/%s" % (obj["kind"], obj["metadata"]["name"]) for obj in objects)}


def control_plane_files(objects, layout="files", name=None, header=""):
    try:
        if layout == "files":
            return [_file(file_name(obj), [obj], dump(obj), header or "") for obj in objects]
        if layout == "single":
            check_dns_label(name, "name (the cluster name)")
            return [_file("%s.yaml" % name, objects, dump_all(objects), header or "")]
        raise CapiError("layout must be files or single, got %r" % (layout,))
    except (CapiError, KeyError, TypeError, ValueError) as e:
        raise AnsibleFilterError("k0smotron.oci.control_plane_files: %s" % e)


class FilterModule(object):
    def filters(self):
        return {"control_plane_files": control_plane_files}
