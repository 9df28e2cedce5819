# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Runs the index_push module, then signs what it pushed when signing_key is given (see _action.SignAfterPushAction)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.k0smotron.oci.plugins.plugin_utils._action import SignAfterPushAction


class ActionModule(SignAfterPushAction):
    pass
