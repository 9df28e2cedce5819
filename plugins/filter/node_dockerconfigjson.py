# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: node_dockerconfigjson
short_description: The docker config.json a node gets, copied from a docker config for one registry
version_added: 0.2.0
description:
  - 'Copies the inline C(auths) entry of one registry from a docker config into C({"auths": {"REGISTRY": ENTRY}})
    and returns it as JSON text, for example for the C(.dockerconfigjson) of a Secret mounted on k0smotron nodes.'
  - Keys in C(auths) may be URLs (C(https://registry.example.com/v1/)) or hosts; they are compared by host[:port].
  - Credential helpers (C(credsStore), C(credHelpers)) cannot run on a node, so a registry without an inline
    C(auth), C(identitytoken) or username and password fails with a message that says what to do.
  - "The result holds a secret. Use it only in tasks with C(no_log: true)."
positional: _input, registry
options:
  _input:
    description: The docker config, as a dict or as JSON text (for example a C(lookup) of C(~/.docker/config.json)).
    type: raw
    required: true
  registry:
    description: Registry host (and port), for example C(registry.example.com).
    type: str
    required: true
  source:
    description: How to name the config in error messages (a path or a variable name; never its content).
    type: str
    default: the docker config
author:
  - k0smotron.oci maintainers (@k0sproject)
"""

EXAMPLES = r"""
- name: Node credentials from my docker login
  ansible.builtin.set_fact:
    node_config_json: >-
      {{ lookup('ansible.builtin.file', '~/.docker/config.json')
         | k0smotron.oci.node_dockerconfigjson('registry.example.com', source='~/.docker/config.json') }}
  no_log: true
"""

RETURN = r"""
_value:
  description: JSON text of the node's docker config.
  type: str
"""

import json

from ansible.errors import AnsibleFilterError

from ansible_collections.k0smotron.oci.plugins.module_utils._docker_config import (
    DockerConfigError,
    node_config,
    parse_config,
)


def node_dockerconfigjson(config, registry, source="the docker config"):
    try:
        return json.dumps(node_config(parse_config(config, source), str(registry), source))
    except DockerConfigError as e:
        raise AnsibleFilterError("k0smotron.oci.node_dockerconfigjson: %s" % e)


class FilterModule(object):
    def filters(self):
        return {"node_dockerconfigjson": node_dockerconfigjson}
