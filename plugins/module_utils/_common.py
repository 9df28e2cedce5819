# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
#
# This module util is PRIVATE to the collection. It can change at any time without notice.
"""What every registry module shares: the argument spec merge and the one place errors become fail_json."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.k0smotron.oci.plugins.module_utils._errors import EXPECTED_ERRORS
from ansible_collections.k0smotron.oci.plugins.module_utils._registry_options import REGISTRY_ARG_SPEC


# Not a connection option, so not in REGISTRY_ARG_SPEC (which lookups read too): how messages name options.
MESSAGE_ARG_SPEC = dict(option_names=dict(type="dict"))


def registry_module(argument_spec, **kwargs):
    """AnsibleModule with the shared connection/auth options merged into ``argument_spec``."""
    spec = copy.deepcopy(REGISTRY_ARG_SPEC)
    spec.update(copy.deepcopy(MESSAGE_ARG_SPEC))
    spec.update(argument_spec)
    kwargs.setdefault("supports_check_mode", True)
    return AnsibleModule(argument_spec=spec, **kwargs)


def name_options(message, names):
    """``message`` with each option name in ``names`` replaced by the name the caller knows it by (a role passes
    its variables, e.g. ``{"ca_path": "k0s_publish_registry_ca_path"}``). Only whole words are replaced: not
    inside a host, path or longer identifier."""
    names = dict((str(k), str(v)) for k, v in (names or {}).items() if k and v)
    if not names:
        return message
    words = "|".join(re.escape(k) for k in sorted(names, key=len, reverse=True))
    return re.sub(r"(?<![\w./:@$-])(%s)(?![\w/@-]|\.\w)" % words, lambda m: names[m.group(1)], message)


def run(module, action):
    """Call ``action(module)`` -> result dict; expected errors fail with their (secret-free) message, in which
    options carry the names given by ``option_names``."""
    try:
        result = action(module)
    except EXPECTED_ERRORS as e:
        module.fail_json(msg=name_options(str(e), module.params.get("option_names")))
    except (IOError, OSError) as e:
        module.fail_json(msg="%s: %s" % (getattr(e, "filename", None) or "I/O error", e.strerror or e))
    module.exit_json(**result)
