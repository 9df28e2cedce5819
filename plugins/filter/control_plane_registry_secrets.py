# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: control_plane_registry_secrets
short_description: Find every registry credentials Secret rendered for a k0smotron cluster
version_added: 0.3.0
description:
  - Returns C({apiVersion, kind, metadata.namespace, label_selectors}) that finds every registry credentials
    C(Secret) the C(k0smotron.oci.control_plane) role rendered for the cluster, whatever its name (a content hash is
    part of it, see the role's C(control_plane_registry_secret_hash_suffix)). For C(kubernetes.core.k8s_info) and
    deletion by labels.
  - The same as C(control_plane_objects(registry_secrets=true)).
positional: _input
options:
  _input:
    description:
      - The role's variables, C({control_plane_VARIABLE - value}); the cluster name and namespace are read (and
        checked).
    type: dict
    required: true
author:
  - k0smotron.oci maintainers (@k0sproject)
"""

EXAMPLES = r"""
- name: List the cluster's registry Secrets
  kubernetes.core.k8s_info:
    api_version: v1
    kind: Secret
    namespace: "{{ selector.metadata.namespace }}"
    label_selectors: "{{ selector.label_selectors }}"
  vars:
    selector: "{{ settings | k0smotron.oci.control_plane_registry_secrets }}"
"""

RETURN = r"""
_value:
  description: C(apiVersion) (v1), C(kind) (Secret), C(metadata.namespace) and C(label_selectors).
  type: dict
"""

from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_names import registry_secret_selector
from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_filters import run_filter


def control_plane_registry_secrets(settings):
    return run_filter("control_plane_registry_secrets", registry_secret_selector, settings)


class FilterModule(object):
    def filters(self):
        return {"control_plane_registry_secrets": control_plane_registry_secrets}
