# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Action of k0smotron.oci.artifact_sign (documented in plugins/modules/artifact_sign.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.k0smotron.oci.plugins.module_utils._errors import ModuleInputError
from ansible_collections.k0smotron.oci.plugins.module_utils._registry_options import SIGNING_ARG_SPEC
from ansible_collections.k0smotron.oci.plugins.plugin_utils._action import (
    CollectionAction,
    sign_artifact,
    signing_key,
)


class ActionModule(CollectionAction):
    ARGUMENT_SPEC = dict(
        reference=dict(type="str", required=True),
        recursive=dict(type="bool", default=True),
        **SIGNING_ARG_SPEC
    )

    def act(self, params, check_mode):
        if not params.get("signing_key"):
            raise ModuleInputError("option signing_key: required; give the PEM text or the path of the private key "
                                   "(as cosign generate-key-pair writes it)")
        return sign_artifact(params, params["reference"], signing_key(params), params["recursive"], check_mode)
