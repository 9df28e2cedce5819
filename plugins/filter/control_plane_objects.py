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
      - Check the inputs that need nothing resolved and return only C(apiVersion), C(kind) and C(metadata) of each
        object (all that deletion needs); no download URL, credentials or checksums needed.
    type: bool
    default: false
  registry_secrets:
    description:
      - Return only C({apiVersion, kind, metadata.namespace, label_selectors}) that finds every registry credentials
        C(Secret) the role rendered for the cluster, whatever its name (a content hash is part of it, see the role's
        C(control_plane_registry_secret_hash_suffix)). For C(kubernetes.core.k8s_info) and deletion by labels.
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
    msg: "{{ settings | k0smotron.oci.control_plane_objects(names_only=true) | map(attribute='kind') }}"
"""

RETURN = r"""
_value:
  description: The objects in apply order (Kubernetes objects as dicts); with O(registry_secrets) one dict.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_names import object_names, registry_secret_selector
from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_objects import build_objects, check_static
from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_settings import CapiError
from ansible_collections.k0smotron.oci.plugins.plugin_utils._k8s_yaml import plain


def control_plane_objects(settings, dockerconfigjson=None, oras_release_checksums=None, names_only=False,
                          registry_secrets=False):
    if not isinstance(settings, dict):
        raise AnsibleFilterError("k0smotron.oci.control_plane_objects: the input must be a dict of the role's "
                                 "control_plane_* variables, got a %s" % type(settings).__name__)
    try:
        settings = plain(settings)
        if registry_secrets:
            return registry_secret_selector(settings)
        if names_only:
            check_static(settings)
            return object_names(settings)
        return build_objects(settings, dockerconfigjson=dockerconfigjson and str(dockerconfigjson),
                             oras_release_checksums=plain(oras_release_checksums or {}))
    except (CapiError, TypeError) as e:
        # Messages name variables and never carry the credentials (they are not part of any check).
        raise AnsibleFilterError("k0smotron.oci.control_plane_objects: %s" % e)


class FilterModule(object):
    def filters(self):
        return {"control_plane_objects": control_plane_objects}
