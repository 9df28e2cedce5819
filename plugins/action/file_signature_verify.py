# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Action of k0smotron.oci.file_signature_verify (documented in plugins/modules/file_signature_verify.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.k0smotron.oci.plugins.plugin_utils._action import TRUSTED_KEYS_SPEC, CollectionAction, trusted_keys
from ansible_collections.k0smotron.oci.plugins.plugin_utils._signatures import NO_TLOG, verify_file


class ActionModule(CollectionAction):
    REGISTRY = False
    ARGUMENT_SPEC = dict(
        path=dict(type="path", required=True),
        signature_path=dict(type="path", required=True),
        release_key_path=dict(type="path"),
        **TRUSTED_KEYS_SPEC
    )

    def act(self, params, check_mode):
        keys = trusted_keys(params)
        result = verify_file(params["path"], params["signature_path"], keys, params.get("release_key_path"))
        return dict(result, changed=False, transparency_log=NO_TLOG)
