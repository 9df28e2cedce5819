# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
#
# This module util is PRIVATE to the collection. It can change at any time without notice.
"""What every registry module shares: the argument spec merge and the one place errors become fail_json."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.k0smotron.oci.plugins.module_utils._errors import EXPECTED_ERRORS
from ansible_collections.k0smotron.oci.plugins.module_utils._registry_options import REGISTRY_ARG_SPEC


def registry_module(argument_spec, **kwargs):
    """AnsibleModule with the shared connection/auth options merged into ``argument_spec``."""
    spec = copy.deepcopy(REGISTRY_ARG_SPEC)
    spec.update(argument_spec)
    kwargs.setdefault("supports_check_mode", True)
    return AnsibleModule(argument_spec=spec, **kwargs)


def run(module, action):
    """Call ``action(module)`` -> result dict; expected errors fail with their (secret-free) message."""
    try:
        result = action(module)
    except EXPECTED_ERRORS as e:
        module.fail_json(msg=str(e))
    except (IOError, OSError) as e:
        module.fail_json(msg="%s: %s" % (getattr(e, "filename", None) or "I/O error", e.strerror or e))
    module.exit_json(**result)
