# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: merge_docker_config
short_description: Merge registry credentials into an existing docker config.json
version_added: 0.2.0
description:
  - Top-level keys of the new config replace those of the existing one; C(auths) entries are merged per
    registry (the new entry wins), so logins to other registries stay.
  - "The result holds secrets. Use it only in tasks with C(no_log: true)."
positional: _input, new
options:
  _input:
    description: The existing config, as a dict or JSON text; empty text means none.
    type: raw
    required: true
  new:
    description: The config to merge in, as a dict or JSON text (for example from P(k0smotron.oci.dockerconfigjson#filter)).
    type: raw
    required: true
author:
  - k0smotron.oci maintainers (@k0sproject)
"""

EXAMPLES = r"""
- name: Add a login to the node's config.json
  ansible.builtin.copy:
    dest: /root/.docker/config.json
    content: >-
      {{ existing_text | k0smotron.oci.merge_docker_config('registry.example.com'
         | k0smotron.oci.dockerconfigjson(user, password)) | to_nice_json(indent=2) }}
    mode: "0600"
  no_log: true
"""

RETURN = r"""
_value:
  description: The merged config.
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.k0smotron.oci.plugins.module_utils._docker_config import (
    DockerConfigError,
    merge_config,
    parse_config,
)


def merge_docker_config(existing, new):
    try:
        return merge_config(parse_config(existing, "the existing docker config"),
                            parse_config(new, "the docker config to merge in"))
    except DockerConfigError as e:
        raise AnsibleFilterError("k0smotron.oci.merge_docker_config: %s" % e)


class FilterModule(object):
    def filters(self):
        return {"merge_docker_config": merge_docker_config}
