# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Action of k0smotron.oci.artifact_verify (documented in plugins/modules/artifact_verify.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.k0smotron.oci.plugins.module_utils._errors import ModuleInputError
from ansible_collections.k0smotron.oci.plugins.module_utils._reference import Reference, parse_download_url
from ansible_collections.k0smotron.oci.plugins.module_utils._registry import client_from_params
from ansible_collections.k0smotron.oci.plugins.plugin_utils._action import TRUSTED_KEYS_SPEC, CollectionAction, trusted_keys
from ansible_collections.k0smotron.oci.plugins.plugin_utils._signatures import NO_TLOG, verify_blob_in_artifact


class ActionModule(CollectionAction):
    ARGUMENT_SPEC = dict(
        download_url=dict(type="str", required=True),
        reference=dict(type="str", required=True),
        **TRUSTED_KEYS_SPEC
    )

    def act(self, params, check_mode):
        blob = parse_download_url(params["download_url"], option="download_url")
        artifact = Reference.parse(params["reference"], option="reference", require_tag=True)
        if artifact.name != blob.name:
            raise ModuleInputError("option reference: %s is in another repository than download_url (%s); the signed "
                                   "artifact and the blob must be in the same repository" % (artifact.name, blob.name))
        keys = trusted_keys(params)
        client = client_from_params(params, artifact)
        try:
            verified = verify_blob_in_artifact(client, artifact.name, artifact.digest or artifact.tag, blob.digest, keys)
        finally:
            client.close()
        return dict(changed=False, verified=verified, transparency_log=NO_TLOG,
                    msg="%s is a layer of manifest %s, signed by key %s"
                        % (blob.digest, verified["manifest_digest"], verified["key_fingerprint"]))
