# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
#
# This plugin util is PRIVATE to the collection. It can change at any time without notice.
"""YAML for Kubernetes manifests that people read and diff: multi-line strings as literal blocks (``|``),
keys in the order they were built, no anchors/aliases, characters outside the BMP (emoji) written as they
are. Controller side only (filters): uses PyYAML."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping, Sequence

import yaml

from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_schema import depth_error, too_deep


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True


def _represent_str(dumper, value):
    # Literal block for multi-line text. PyYAML falls back to a quoted scalar by itself where a block cannot
    # hold the text exactly (trailing spaces on a line, special characters).
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def plain(value):
    """Plain Python types (Ansible hands filters str/dict/list subclasses that SafeDumper does not know).
    TypeError for a type YAML cannot hold or for nesting deeper than any Kubernetes object (before recursing)."""
    deep = too_deep(value)
    if deep is not None:
        raise TypeError(depth_error(deep))
    return _plain(value)


def _plain(value):
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        # Not str(value): ansible-core < 2.19's AnsibleUnsafeText returns itself from __str__.
        return str.__str__(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, Mapping):
        return dict((_plain(k), _plain(v)) for k, v in value.items())
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        return [_plain(v) for v in value]
    raise TypeError("cannot write a %s as YAML" % type(value).__name__)


def dump(data):
    """One YAML document (no ``---``), ending in a newline."""
    return yaml.dump(plain(data), Dumper=_Dumper, default_flow_style=False, sort_keys=False, allow_unicode=True,
                     indent=2, width=4096)


def dump_all(documents):
    """A stream of documents, each starting with ``---``."""
    return "".join("---\n" + dump(doc) for doc in documents)
