# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
#
# This plugin util is PRIVATE to the collection. It can change at any time without notice.
"""Reading the ``control_plane`` role's variables (``settings``: ``{control_plane_VARIABLE: value}``) with their types.

The role's argument spec already types its variables; these readers repeat the check because the filters also
take dicts built by hand, and a wrong type there must give a message that names the variable, not a traceback.
An empty value (``None`` or ``""``) means unset: ``""``, ``[]``, ``{}``, false. ``CapiError`` is the one error of
the ``_capi_*`` utils: its message names the variable and says what to do.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.parsing.convert_bool import boolean


class CapiError(ValueError):
    """Settings that cannot make valid objects; the message names the variable and says what to do."""


def get_value(settings, name):
    try:
        return settings[name]
    except KeyError:
        raise CapiError("the settings lack %s (pass every control_plane_* variable of the role)" % name)


def get_str(settings, name):
    value = get_value(settings, name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise CapiError("%s must be a string, got %s" % (name, type(value).__name__))
    return value


def get_int(settings, name, minimum=0):
    value = get_value(settings, name)
    try:
        number = int(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        number = None
    if number is None or number < minimum or (isinstance(value, str) and value.strip() != str(number)):
        raise CapiError("%s must be a whole number >= %d, got %r" % (name, minimum, value))
    return number


def get_bool(settings, name):
    value = get_value(settings, name)
    if isinstance(value, str) and not value.strip():
        return False
    try:
        return boolean(value, strict=True)
    except TypeError:
        raise CapiError("%s must be a boolean, got %r" % (name, value))


def get_list(settings, name, elements=None):
    value = get_value(settings, name)
    if value is None or value == "":
        return []
    if not isinstance(value, list) or (elements and not all(isinstance(v, elements) for v in value)):
        raise CapiError("%s must be a list%s" % (name, " of %s" % elements.__name__ if elements else ""))
    return list(value)


def get_dict(settings, name):
    value = get_value(settings, name)
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise CapiError("%s must be a dict, got %s" % (name, type(value).__name__))
    return dict(value)


def get_choice(settings, name, choices):
    value = get_str(settings, name)
    if value not in choices:
        raise CapiError("%s must be one of %s, got %r" % (name, ", ".join(choices), value))
    return value
