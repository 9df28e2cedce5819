# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
#
# This plugin util is PRIVATE to the collection. It can change at any time without notice.
"""The one adapter between the control plane filters and the ``_capi_*`` utils: the filters' input (the role's
variables) checked and made plain, ``CapiError`` turned into the filter's error. Kept apart so that the utils
themselves need nothing of Ansible's controller."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_settings import CapiError
from ansible_collections.k0smotron.oci.plugins.plugin_utils._k8s_yaml import plain


def run_filter(filter_name, function, settings, *args):
    """``function(settings, *args)`` for the filter ``filter_name``, whose input is the role's variables: plain
    Python values in, ``CapiError`` out as ``AnsibleFilterError`` naming the filter."""
    if not isinstance(settings, dict):
        raise AnsibleFilterError("k0smotron.oci.%s: the input must be a dict of the role's control_plane_* variables, "
                                 "got a %s" % (filter_name, type(settings).__name__))
    try:
        return function(plain(settings), *args)
    except (CapiError, TypeError) as e:
        # Messages name variables and never carry the credentials (they are not part of any check).
        raise AnsibleFilterError("k0smotron.oci.%s: %s" % (filter_name, e))
