# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.k0smotron.oci.plugins.module_utils._common import name_options

NAMES = {"ca_path": "k0s_publish_registry_ca_path", "plain_http": "k0s_publish_registry_plain_http",
         "username": "k0s_publish_registry_username", "password": "k0s_publish_registry_password"}


@pytest.mark.parametrize("message, expected", [
    ("set ca_path to the CA bundle", "set k0s_publish_registry_ca_path to the CA bundle"),
    ("set plain_http: true for a plain-HTTP registry", "set k0s_publish_registry_plain_http: true for a plain-HTTP registry"),
    ("check the credentials, which came from username and password",
     "check the credentials, which came from k0s_publish_registry_username and k0s_publish_registry_password"),
    ("(set plain_http.)", "(set k0s_publish_registry_plain_http.)"),
    # Not inside hosts, paths, longer names or environment variables.
    ("registry r.example/password, repository ca_path/x", "registry r.example/password, repository ca_path/x"),
    ("K0SMOTRON_OCI_PASSWORD and my_username and $password", "K0SMOTRON_OCI_PASSWORD and my_username and $password"),
    ("host:password", "host:password"),
])
def test_option_names_become_variable_names(message, expected):
    assert name_options(message, NAMES) == expected


def test_without_names_the_message_is_unchanged():
    assert name_options("set ca_path", None) == "set ca_path"
    assert name_options("set ca_path", {}) == "set ca_path"
