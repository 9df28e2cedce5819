# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.k0smotron.oci.plugins.plugin_utils._release_files import (
    Fetcher,
    Names,
    ReleaseFilesError,
    release_files,
    verify_signatures,
)

ARGUMENT_SPEC = {
    "files": {"type": "list", "elements": "dict", "required": True, "options": {
        "arch": {"type": "str", "required": True},
        "name": {"type": "str", "required": True},
        "url": {"type": "str"},
        "asset": {"type": "str"},
    }},
    "local": {"type": "dict", "default": {}},
    "checksums": {"type": "dict", "default": {}},
    "checksums_url": {"type": "str", "default": ""},
    "arches": {"type": "list", "elements": "str", "default": []},
    "cache_dir": {"type": "path", "required": True},
    "timeout": {"type": "int", "default": 120},
    "validate_certs": {"type": "bool", "default": True},
    "retries": {"type": "int", "default": 3},
    "delay": {"type": "int", "default": 3},
    "variable_prefix": {"type": "str", "default": ""},
    "variable_names": {"type": "dict", "default": {}},
    "signatures": {"type": "bool", "default": False},
    "signature_key_url": {"type": "str", "default": ""},
    "trusted_keys": {"type": "list", "elements": "str", "default": []},
}


class ActionModule(ActionBase):
    """Everything happens on the controller (the cache is the controller's); no module is sent anywhere."""

    TRANSFERS_FILES = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        try:
            fetcher = Fetcher(Names(args["variable_prefix"], args["variable_names"]), timeout=args["timeout"],
                              validate_certs=args["validate_certs"], retries=args["retries"], delay=args["delay"])
            changed, files = release_files(args["files"], args["local"], args["checksums"], args["checksums_url"],
                                           args["cache_dir"], fetcher, supported=args["arches"])
            if args["signatures"]:
                verify_signatures(files, args["files"], args["local"], args["trusted_keys"], args["signature_key_url"],
                                  args["cache_dir"], fetcher)
        except ReleaseFilesError as e:
            raise AnsibleActionFail(str(e))
        result.update(changed=changed, files=files)
        return result
