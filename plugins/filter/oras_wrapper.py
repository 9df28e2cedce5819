# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: oras_wrapper
short_description: Text of the C(oras) wrapper script that sets HOME when it is unset
version_added: 0.2.0
description:
  - Returns a C(/bin/sh) script that sets C(HOME) when it is unset, then execs the real ORAS binary.
  - ORAS refuses to start without C(HOME) ("failed to get user home directory"), and systemd units, such
    as the one Ignition runs k0smotron's commands in, start without it. With C(HOME=/root), ORAS finds
    C(/root/.docker/config.json) by itself.
  - The same text is installed by the P(k0smotron.oci.oras#role) role and by the C(install-oras.sh) script
    of the P(k0smotron.oci.control_plane#role) role. Its second line names the wrapper, so that an installer
    can tell it from a foreign binary.
positional: _input, version, home
options:
  _input:
    description: Absolute path of the real ORAS binary.
    type: str
    required: true
  version:
    description: ORAS version, recorded in the script's header.
    type: str
    required: true
  home:
    description:
      - C(HOME) to set when it is unset.
      - Empty means the invoking user's home from the passwd database, else C(/root).
    type: str
    default: ""
author:
  - k0smotron.oci maintainers (@k0sproject)
"""

EXAMPLES = r"""
- name: Install the wrapper in front of the real binary
  ansible.builtin.copy:
    content: "{{ '/usr/local/lib/k0smotron-oci/oras-1.3.0/oras' | k0smotron.oci.oras_wrapper('1.3.0') }}"
    dest: /usr/local/bin/oras
    mode: "0755"

- name: A wrapper that always falls back to /root
  ansible.builtin.copy:
    content: "{{ '/opt/oras/oras' | k0smotron.oci.oras_wrapper('1.3.0', home='/root') }}"
    dest: /usr/local/bin/oras
    mode: "0755"
"""

RETURN = r"""
_value:
  description: The script text, ending with a newline.
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.k0smotron.oci.plugins.plugin_utils._node_scripts import oras_wrapper


def _oras_wrapper(real_binary, version, home=""):
    for name, value in (("real binary path", real_binary), ("version", version)):
        if not isinstance(value, str) or not value:
            raise AnsibleFilterError("k0smotron.oci.oras_wrapper: the %s must be a non-empty string, got %r"
                                     % (name, value))
    if any(c in version for c in "\r\n"):
        raise AnsibleFilterError("k0smotron.oci.oras_wrapper: the version must be one line, got %r" % version)
    if not real_binary.startswith("/"):
        raise AnsibleFilterError("k0smotron.oci.oras_wrapper: the real binary path must be absolute, got %r"
                                 % real_binary)
    if home is None:
        home = ""
    if not isinstance(home, str):
        raise AnsibleFilterError("k0smotron.oci.oras_wrapper: home must be a string, got %r" % (home,))
    return oras_wrapper(real_binary, version, home)


class FilterModule(object):
    def filters(self):
        return {"oras_wrapper": _oras_wrapper}
