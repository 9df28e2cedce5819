# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: control_plane_objects
short_description: Build the Cluster API objects of a k0smotron cluster with an oci:// k0s download
version_added: 0.2.0
description:
  - Builds, in apply order, the objects the C(k0smotron.oci.control_plane) role renders or applies -
    C(Secret) (registry credentials), C(AWSMachineTemplate) (controllers, workers), C(AWSCluster),
    C(K0sControlPlane), C(K0sWorkerConfigTemplate), C(MachineDeployment), C(Cluster) - from the role's variables.
  - Checks every input first and fails with one message that names the variable and says what to do - Kubernetes
    names (DNS-1123), infrastructure references, the ORAS version and URLs that go into the node script,
    pre-commands that must be plain lines, files that need permissions, text that must not hold Jinja delimiters
    (cloud-init renders user-data with Jinja), null values.
  - The C(Secret) holds credentials. Use the result only in tasks with C(no_log) (or write it with mode 0600).
positional: _input
options:
  _input:
    description:
      - The role's variables, C({control_plane_VARIABLE - value}), every option of the role's argument spec
        (C(ansible-doc -t role k0smotron.oci.control_plane)); the password is not needed.
      - C(control_plane_download_url) must hold the C(oci://) URL (resolved, when the role resolves it).
    type: dict
    required: true
  dockerconfigjson:
    description:
      - JSON text of the docker config the nodes get as C(/root/.docker/config.json); the C(Secret) is rendered
        from it when C(control_plane_registry_username) or C(control_plane_registry_config_path) is set.
      - Without it the C(Secret) is left out (the nodes' C(files) entry still references it), so that a first call
        outside C(no_log) can show errors and the objects, and a second one under C(no_log) adds the C(Secret).
    type: str
  oras_release_checksums:
    description:
      - "The ORAS release checksum list as parsed by P(k0smotron.oci.parse_checksums#filter)
        (C({oras_VERSION_linux_ARCH.tar.gz: sha256})); used when C(control_plane_oras_checksums) is empty."
    type: dict
  names_only:
    description:
      - The older form of P(k0smotron.oci.control_plane_object_names#filter) (same result); the other options are
        ignored.
    type: bool
    default: false
  registry_secrets:
    description:
      - The older form of P(k0smotron.oci.control_plane_registry_secrets#filter) (same result); the other options are
        ignored.
    type: bool
    default: false
author:
  - k0smotron.oci maintainers (@k0sproject)
"""

EXAMPLES = r"""
- name: Build the objects
  ansible.builtin.set_fact:
    cluster_objects: >-
      {{ settings | k0smotron.oci.control_plane_objects(dockerconfigjson=docker_config_text,
                                                        oras_release_checksums=checksums_text | k0smotron.oci.parse_checksums) }}
  no_log: true

- name: What to delete
  ansible.builtin.debug:
    msg: "{{ settings | k0smotron.oci.control_plane_object_names | map(attribute='kind') }}"
"""

RETURN = r"""
_value:
  description: The objects in apply order (Kubernetes objects as dicts); with O(registry_secrets) one dict.
  type: list
  elements: dict
"""

from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_filters import run_filter
from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_names import registry_secret_selector
from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_objects import build_objects, checked_object_names
from ansible_collections.k0smotron.oci.plugins.plugin_utils._k8s_yaml import plain


def _build(settings, dockerconfigjson, oras_release_checksums):
    return build_objects(settings, dockerconfigjson=dockerconfigjson and str(dockerconfigjson),
                         oras_release_checksums=plain(oras_release_checksums or {}))


def control_plane_objects(settings, dockerconfigjson=None, oras_release_checksums=None, names_only=False,
                          registry_secrets=False):
    # names_only / registry_secrets: the call forms from before the filters control_plane_object_names and
    # control_plane_registry_secrets existed; playbooks written then keep working.
    if registry_secrets:
        return run_filter("control_plane_objects", registry_secret_selector, settings)
    if names_only:
        return run_filter("control_plane_objects", checked_object_names, settings)
    return run_filter("control_plane_objects", _build, settings, dockerconfigjson, oras_release_checksums)


class FilterModule(object):
    def filters(self):
        return {"control_plane_objects": control_plane_objects}
