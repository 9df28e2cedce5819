# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: control_plane_object_names
short_description: Name the Cluster API objects of a k0smotron cluster, for deletion
version_added: 0.3.0
description:
  - Returns C(apiVersion), C(kind) and C(metadata) (name, namespace) of each object that
    P(k0smotron.oci.control_plane_objects#filter) builds, in apply order - all that deletion needs. No download URL,
    credentials or checksums are needed.
  - Checks the inputs that need nothing resolved first, as P(k0smotron.oci.control_plane_objects#filter) does, and
    fails with one message that names the variable.
  - A registry credentials C(Secret) with a content hash in its name is left out; find it by its labels with
    P(k0smotron.oci.control_plane_registry_secrets#filter).
  - The same as C(control_plane_objects(names_only=true)).
positional: _input
options:
  _input:
    description:
      - The role's variables, C({control_plane_VARIABLE - value}), every option of the role's argument spec
        (C(ansible-doc -t role k0smotron.oci.control_plane)); the password is not needed.
    type: dict
    required: true
author:
  - k0smotron.oci maintainers (@k0sproject)
"""

EXAMPLES = r"""
- name: What to delete
  ansible.builtin.debug:
    msg: "{{ settings | k0smotron.oci.control_plane_object_names | map(attribute='kind') }}"
"""

RETURN = r"""
_value:
  description: The objects in apply order, each as C({apiVersion, kind, metadata {name, namespace}}).
  type: list
  elements: dict
"""

from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_objects import checked_object_names
from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_filters import run_filter


def control_plane_object_names(settings):
    return run_filter("control_plane_object_names", checked_object_names, settings)


class FilterModule(object):
    def filters(self):
        return {"control_plane_object_names": control_plane_object_names}
