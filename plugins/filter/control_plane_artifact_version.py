# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: control_plane_artifact_version
short_description: Compare the k0s version of a k0s artifact with the version a cluster asks for
version_added: 0.2.0
description:
  - The artifact's k0s version is its manifest annotation C(org.opencontainers.image.version) (written by
    C(k0smotron.oci.k0s_publish)), else its tag when the tag looks like a version (C(v1.34.1-k0s.0)).
  - C(v1.34.1+k0s.0) and C(v1.34.1-k0s.0) are the same version (tags cannot hold C(+)).
positional: _input
options:
  _input:
    description: The k0s version the cluster asks for (C(control_plane_k0s_version)).
    type: str
    required: true
  annotations:
    description: The manifest's annotations (C(manifest.annotations) of P(k0smotron.oci.artifact_info#module)).
    type: dict
  tag:
    description: The tag of the artifact reference, if any.
    type: str
  reference:
    description: The artifact reference, for the message.
    type: str
author:
  - k0smotron.oci maintainers (@k0sproject)
"""

EXAMPLES = r"""
- name: Check the artifact's version
  ansible.builtin.assert:
    that: (control_plane_k0s_version | k0smotron.oci.control_plane_artifact_version(annotations=info.manifest.annotations)).status != 'mismatch'
"""

RETURN = r"""
_value:
  description: The result of the comparison.
  type: dict
  contains:
    status:
      description: C(ok), C(mismatch), or C(unknown) (no annotation and no version-like tag).
      type: str
    msg:
      description: What was compared, and what to do on a mismatch.
      type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_settings import CapiError
from ansible_collections.k0smotron.oci.plugins.plugin_utils._upgrade_policy import artifact_version_check
from ansible_collections.k0smotron.oci.plugins.plugin_utils._k8s_yaml import plain


def control_plane_artifact_version(k0s_version, annotations=None, tag=None, reference=""):
    try:
        status, msg = artifact_version_check(plain(k0s_version), plain(annotations or {}), plain(tag or ""),
                                             plain(reference or ""))
    except (CapiError, TypeError) as e:
        raise AnsibleFilterError("k0smotron.oci.control_plane_artifact_version: %s" % e)
    return {"status": status, "msg": msg}


class FilterModule(object):
    def filters(self):
        return {"control_plane_artifact_version": control_plane_artifact_version}
