# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: oras_release
short_description: Where the assets of an ORAS release are (upstream layout or a mirror of it)
version_added: 0.2.0
description:
  - Names the release assets of one ORAS version under a base URL laid out like the upstream release
    pages, C(<base>/v<version>/oras_<version>_linux_<arch>.tar.gz) and C(<base>/v<version>/oras_<version>_checksums.txt).
  - The one definition of that layout for the P(k0smotron.oci.oras#role), P(k0smotron.oci.oras_publish#role)
    and P(k0smotron.oci.control_plane#role) roles (whose C(install-oras.sh) uses the same code).
positional: _input
options:
  _input:
    description: The base URL, for example C(https://github.com/oras-project/oras/releases/download) or a mirror.
    type: str
    required: true
  version:
    description: The ORAS version, such as C(1.3.0) (no leading C(v)); anything else fails, naming O(variable).
    type: str
    required: true
  variable:
    description: The variable that holds the version, for the error message.
    type: str
    default: the ORAS version
  checksums_url:
    description: A checksums file URL that wins over the layout's.
    type: str
    default: ""
author:
  - k0smotron.oci maintainers (@k0sproject)
"""

EXAMPLES = r"""
- name: URL of the arm64 tarball of ORAS 1.3.0 on a mirror
  ansible.builtin.debug:
    msg: "{{ ('https://mirror.example.com/oras' | k0smotron.oci.oras_release('1.3.0')).urls.arm64 }}"
"""

RETURN = r"""
_value:
  description: The release's locations.
  type: dict
  contains:
    version:
      description: The version.
      type: str
    release_url:
      description: C(<base>/v<version>).
      type: str
    checksums_file:
      description: C(oras_<version>_checksums.txt).
      type: str
    checksums_url:
      description: The checksums file's URL (the option if given).
      type: str
    assets:
      description: Architecture (C(amd64), C(arm64), C(armv7)) to tarball name.
      type: dict
    urls:
      description: Architecture to tarball URL.
      type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.k0smotron.oci.plugins.plugin_utils._node_scripts import NodeScriptError, oras_release


def _oras_release(base_url, version, checksums_url="", variable="the ORAS version"):
    try:
        return oras_release(base_url, version, checksums_url=checksums_url, variable=variable)
    except NodeScriptError as e:
        raise AnsibleFilterError("k0smotron.oci.oras_release: %s" % e)


class FilterModule(object):
    def filters(self):
        return {"oras_release": _oras_release}
