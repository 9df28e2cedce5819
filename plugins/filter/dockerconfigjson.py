# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: dockerconfigjson
short_description: Build a docker config.json (the .dockerconfigjson of a Secret) for one registry
version_added: 0.1.0
description:
  - 'Returns the JSON text C({"auths": {"REGISTRY": {"auth": "base64(user:password)"}}}) that docker,
    oras and Kubernetes C(kubernetes.io/dockerconfigjson) Secrets use.'
  - "The result holds a secret. Use it only in tasks with C(no_log: true)."
positional: _input, username, password
options:
  _input:
    description: Registry host (and port), for example C(registry.example.com) or C(127.0.0.1:5000).
    type: str
    required: true
  username:
    description: Registry user.
    type: str
    required: true
  password:
    description: Password or token.
    type: str
    required: true
author:
  - k0smotron.oci maintainers (@k0sproject)
"""

EXAMPLES = r"""
- name: Render a pull secret
  ansible.builtin.copy:
    dest: /root/.docker/config.json
    content: "{{ 'registry.example.com' | k0smotron.oci.dockerconfigjson(registry_user, registry_password) }}"
    mode: "0600"
  no_log: true
"""

RETURN = r"""
_value:
  description: JSON text of the docker config.
  type: str
"""

import json

from ansible.errors import AnsibleFilterError

from ansible_collections.k0smotron.oci.plugins.module_utils._docker_config import auth_entry


def dockerconfigjson(registry, username, password):
    # Messages name the option only: the values may be secrets.
    if not registry or "/" in str(registry) or "://" in str(registry):
        raise AnsibleFilterError("k0smotron.oci.dockerconfigjson: the input must be a registry host[:port] "
                                 "without scheme or path")
    if not username:
        raise AnsibleFilterError("k0smotron.oci.dockerconfigjson: username is empty")
    if not password:
        raise AnsibleFilterError("k0smotron.oci.dockerconfigjson: password is empty")
    return json.dumps({"auths": {str(registry): auth_entry(str(username), str(password))}}, sort_keys=True)


class FilterModule(object):
    def filters(self):
        return {"dockerconfigjson": dockerconfigjson}
