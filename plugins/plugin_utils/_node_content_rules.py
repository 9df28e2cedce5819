# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
#
# This plugin util is PRIVATE to the collection. It can change at any time without notice.
"""What any content for the nodes must satisfy to run under both of k0smotron's provisioners: cloud-init renders
the user-data with Jinja first, Ignition runs each command as ``ExecStart=/bin/sh -c '...'`` and cannot parse a
file without permissions; and no value may be null (the API server would drop it). These rules change with the
provisioners, not with the objects: each check raises ``CapiError`` naming the variable."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_settings import CapiError

# A pre/post-command must be one plain line: no quotes, $, %, braces, backslashes, newlines (cloud-init runs the
# list as one script after Jinja; Ignition runs each as ExecStart=/bin/sh -c '...').
_PLAIN_COMMAND = re.compile(r"[^'\"`$%{}\\\n\r]+")
# Jinja opening delimiters: cloud-init renders the user-data with Jinja (## template: jinja).
_JINJA = re.compile(r"\{[{%#]")
_PERMISSIONS = re.compile(r"0?[0-7]{3,4}")


def _path_of(path):
    return "".join("[%d]" % p if isinstance(p, int) else ".%s" % p for p in path).lstrip(".") or "(top)"


def _walk(value, path=()):
    """(path, value) of every value in nested dicts/lists, keys included as values."""
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield path + (key,), key
            yield from _walk(item, path + (key,))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _walk(item, path + (index,))


def check_no_null(value, variable):
    for path, item in _walk(value):
        if item is None:
            raise CapiError("%s holds a null value at %s (an empty or undefined value; note that Ansible renders a "
                            "string holding a Jinja delimiter, and a bare comment opener yields null). Omit the field "
                            "or give it a value." % (variable, _path_of(path)))


def check_no_jinja(value, variable):
    for path, item in _walk(value):
        if isinstance(item, str) and _JINJA.search(item):
            raise CapiError("%s holds a Jinja opening delimiter at %s (an opening brace followed by another brace, a "
                            "percent sign or a hash): cloud-init renders the user-data with Jinja, so this text would "
                            "change or break the node's bootstrap. Write it without that sequence (for example "
                            "expr length instead of the shell's length operator)." % (variable, _path_of(path)))


def check_plain_commands(commands, variable):
    bad = [c for c in commands if not isinstance(c, str) or not _PLAIN_COMMAND.fullmatch(c)]
    if bad:
        raise CapiError("%s: these commands are not plain lines: %r. Under Ignition each command runs as "
                        "ExecStart=/bin/sh -c '...' (quotes break, systemd expands $ and %%), under cloud-init through "
                        "Jinja. Put the logic into a script (control_plane_extra_files, with permissions) and call it "
                        "with one plain line such as 'sh /usr/local/lib/my-step.sh'." % (variable, bad))


def check_files(files, variable):
    for entry in files:
        path = entry.get("path") if isinstance(entry, dict) else None
        label = path if isinstance(path, str) else "(no path)"
        if (not isinstance(path, str) or not path.startswith("/")
                or not isinstance(entry.get("permissions"), str) or not _PERMISSIONS.fullmatch(entry["permissions"])
                or ("content" in entry) == ("contentFrom" in entry)):
            raise CapiError("%s entry %s needs an absolute path, permissions as a quoted octal string (e.g. \"0644\"; "
                            "Ignition cannot parse a file without permissions) and exactly one of content / "
                            "contentFrom." % (variable, label))
