# -*- coding: utf-8 -*-
"""The download_url lookup runs on the controller: it must not load what only modules need."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type


def test_lookup_does_not_import_ansible_module(modules_loaded_by):
    assert "ansible.module_utils.basic" not in modules_loaded_by(
        "ansible_collections.k0smotron.oci.plugins.lookup.download_url")
