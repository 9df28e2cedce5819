# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: download_url
short_description: Resolve an artifact reference to k0smotron's oci:// download URL
version_added: 0.1.0
description:
  - For each C(REGISTRY/REPOSITORY:TAG) (or C(@sha256:...)) term, reads the manifest on the controller
    (through an index by O(platform)), picks the layer by O(title) and returns
    C(oci://REGISTRY/REPOSITORY@<blob digest>).
  - The same resolution as M(k0smotron.oci.artifact_info), usable inline in templates and vars.
  - Connection options and their E(K0SMOTRON_OCI_*) environment variables are those of the modules.
options:
  _terms:
    description: Artifact references.
    type: list
    elements: str
    required: true
  title:
    description: Layer title (file base name); needed when the manifest has several layers.
    type: str
  platform:
    description: C(os/arch[/variant]) to pick from an index.
    type: str
  username:
    description: Registry user (E(K0SMOTRON_OCI_USERNAME)).
    type: str
  password:
    description: Password or token (E(K0SMOTRON_OCI_PASSWORD)).
    type: str
  config_path:
    description: Docker config.json for credentials (E(K0SMOTRON_OCI_CONFIG_PATH)).
    type: path
  plain_http:
    description: Use plain HTTP (E(K0SMOTRON_OCI_PLAIN_HTTP)).
    type: bool
    default: false
  validate_certs:
    description: Verify TLS certificates (E(K0SMOTRON_OCI_VALIDATE_CERTS)).
    type: bool
    default: true
  ca_path:
    description: CA bundle for the registry (E(K0SMOTRON_OCI_CA_PATH)).
    type: path
  timeout:
    description: Seconds per network operation (E(K0SMOTRON_OCI_TIMEOUT)).
    type: float
    default: 60
  retries:
    description: Retries after connection errors, 429 and 5xx (E(K0SMOTRON_OCI_RETRIES)).
    type: int
    default: 3
author:
  - k0smotron.oci maintainers (@k0sproject)
"""

EXAMPLES = r"""
- name: Put the download URL straight into a variable
  ansible.builtin.set_fact:
    k0s_download_url: "{{ lookup('k0smotron.oci.download_url', 'registry.example.com/my-repo/k0s:v1.34.1-k0s.0') }}"
"""

RETURN = r"""
_raw:
  description: One C(oci://REGISTRY/REPOSITORY@sha256:...) URL per term.
  type: list
  elements: str
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.k0smotron.oci.plugins.module_utils._errors import EXPECTED_ERRORS
from ansible_collections.k0smotron.oci.plugins.module_utils._registry_options import params_from_options
from ansible_collections.k0smotron.oci.plugins.module_utils._resolve import resolve


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        params = params_from_options(kwargs)
        params["title"] = kwargs.get("title")
        params["platform"] = kwargs.get("platform")
        urls = []
        for term in terms:
            params["reference"] = term
            try:
                urls.append(resolve(params)["download_url"])
            except EXPECTED_ERRORS as e:
                raise AnsibleLookupError("k0smotron.oci.download_url: %s" % e)
        return urls
