# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
#
# This plugin util is PRIVATE to the collection. It can change at any time without notice.
"""Strict offline validation of rendered Cluster API objects (standard library only).

Custom resources (K0sControlPlane, K0sWorkerConfigTemplate, K0sWorkerConfig, K0sControllerConfig,
Cluster, MachineDeployment, AWSCluster, AWSMachineTemplate) are checked against the CRD schemas
shipped in ``_capi_schema_data`` (k0smotron v2.1.0, Cluster API v1.14.0, CAPA v2.11.1), read
STRICTLY: wherever a schema lists ``properties`` and does not set
``x-kubernetes-preserve-unknown-fields``, any other field is an error. An API server would prune
such a field silently (or reject it with strict field validation); that is how a mis-indented
``files`` entry shows up. ``status`` is not accepted (never rendered). CEL rules
(``x-kubernetes-validations``) are not evaluated.

Core objects: ``v1`` Secret and ConfigMap get a minimal strict check (known fields, string maps,
base64 ``data``, the ``.dockerconfigjson`` key of a docker config Secret). Any other kind is
reported as unknown. Every object is also checked for ``null`` values (the collection never emits
them; the seed page's mis-indented ``files`` entry yields ``contentFrom: null``).

``validate_object(obj)`` returns a list of error strings, each naming the object and the field
path (empty = valid); ``validate_objects(objs)`` does it for a list.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import functools
import re

from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_schema_data import SCHEMAS
from ansible_collections.k0smotron.oci.plugins.plugin_utils._dns_names import is_dns_label, is_dns_subdomain

# Full-match patterns only (re.fullmatch): "$" would also accept a trailing newline.
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


# Deeper input is refused before any recursive walk: Python's recursion limit (about 1000 frames) would end a
# filter with a raw RecursionError. Kubernetes objects, their k0s config included, are far shallower.
MAX_DEPTH = 100


def too_deep(value, limit=MAX_DEPTH):
    """The path (list of keys/indexes) of the first dict or list nested deeper than ``limit`` levels in
    ``value``, else None. Iterative, so any depth is safe to ask about."""
    stack = [(value, [])]
    while stack:
        item, parts = stack.pop()
        if isinstance(item, dict):
            children = [(v, parts + [k]) for k, v in item.items()]
        elif isinstance(item, (list, tuple)):
            children = [(v, parts + [i]) for i, v in enumerate(item)]
        else:
            continue
        if len(parts) >= limit:
            return parts
        stack.extend(children)
    return None


def depth_error(parts):
    """The message for ``too_deep``'s answer, naming where the nesting goes too deep."""
    return "nested deeper than %d levels at %s (no Kubernetes object is that deep; check the value)" % (
        MAX_DEPTH, _path(parts[:8]) + (" ..." if len(parts) > 8 else ""))


@functools.lru_cache(maxsize=None)
def _go_regex(pattern):
    """``pattern`` compiled with Go's (RE2) meaning of ``$`` and ``\\z``: the end of the text. Python's ``$``
    also matches before a final newline, so an API server would refuse values that re.search accepts."""
    out, i, in_class = [], 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            pair = pattern[i:i + 2]
            out.append("\\Z" if pair == "\\z" and not in_class else pair)
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            # A "]" right after "[" or "[^" is a literal member of the class (Go and Python agree).
            lead = 2 if pattern[i + 1:i + 2] == "^" else 1
            if pattern[i + lead:i + lead + 1] == "]":
                out.append(pattern[i:i + lead + 1])
                i += lead + 1
                continue
        elif c == "$":
            c = "\\Z"
        out.append(c)
        i += 1
    return re.compile("".join(out))


_INT_RANGES = {"int32": (-2 ** 31, 2 ** 31 - 1), "int64": (-2 ** 63, 2 ** 63 - 1)}

# ObjectMeta as the collection writes it (the CRD schemas only say "type: object").
_METADATA = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 253, "x-k0smotron-pattern": "subdomain"},
        "namespace": {"type": "string", "maxLength": 63, "x-k0smotron-pattern": "label"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_CORE = {
    "v1 Secret": {"type": "object", "required": ["apiVersion", "kind", "metadata"], "properties": {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": _METADATA,
        "type": {"type": "string"}, "immutable": {"type": "boolean"},
        "data": _STRING_MAP, "stringData": _STRING_MAP}},
    "v1 ConfigMap": {"type": "object", "required": ["apiVersion", "kind", "metadata"], "properties": {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": _METADATA,
        "immutable": {"type": "boolean"}, "data": _STRING_MAP, "binaryData": _STRING_MAP}},
}


def _path(parts):
    out = ""
    for p in parts:
        out += "[%d]" % p if isinstance(p, int) else ("." if out else "") + str(p)
    return out or "(object)"


def _type_ok(value, type_name):
    if type_name == "object":
        return isinstance(value, dict)
    if type_name == "array":
        return isinstance(value, list)
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "boolean":
        return isinstance(value, bool)
    if type_name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return True


def _type_name(value):
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (int, float)):
        return "integer" if isinstance(value, int) else "number"
    return type(value).__name__


def _check(value, schema, parts, errors):
    """Append "path: message" strings for every violation of ``schema`` by ``value``."""
    where = _path(parts)
    if value is None:  # reported once, anywhere in the object, by _nulls()
        return
    if schema.get("x-kubernetes-int-or-string"):
        if not _type_ok(value, "integer") and not isinstance(value, str):
            errors.append("%s: must be an integer or a string, not %s %r" % (where, _type_name(value), value))
            return
    elif "type" in schema and not _type_ok(value, schema["type"]):
        errors.append("%s: must be %s %s, not %s %s" % (where, "an" if schema["type"][0] in "aeiou" else "a",
                                                        schema["type"], _type_name(value), _short(value)))
        return
    if "enum" in schema and value not in schema["enum"]:
        errors.append("%s: %r is not one of %s" % (where, value, ", ".join(repr(e) for e in schema["enum"])))
    if isinstance(value, str):
        _check_string(value, schema, where, errors)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        _check_number(value, schema, where, errors)
    elif isinstance(value, list):
        _check_array(value, schema, parts, errors)
    elif isinstance(value, dict):
        _check_object(value, schema, parts, errors)
    for sub in schema.get("allOf", []):
        _check(value, sub, parts, errors)
    if "anyOf" in schema and not any(not _errors_of(value, sub, parts) for sub in schema["anyOf"]):
        errors.append("%s: matches none of the allowed forms (anyOf)" % where)
    if "oneOf" in schema and sum(1 for sub in schema["oneOf"] if not _errors_of(value, sub, parts)) != 1:
        errors.append("%s: must match exactly one of the allowed forms (oneOf)" % where)
    if "not" in schema and not _errors_of(value, schema["not"], parts):
        errors.append("%s: matches a form that is not allowed (not)" % where)


def _errors_of(value, schema, parts):
    errors = []
    _check(value, schema, parts, errors)
    return errors


def _short(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_string(value, schema, where, errors):
    if "minLength" in schema and len(value) < schema["minLength"]:
        errors.append("%s: shorter than %d characters" % (where, schema["minLength"]))
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        errors.append("%s: longer than %d characters" % (where, schema["maxLength"]))
    if "pattern" in schema and not _go_regex(schema["pattern"]).search(value):
        errors.append("%s: %s does not match %r" % (where, _short(value), schema["pattern"]))
    name_rule = schema.get("x-k0smotron-pattern")
    if name_rule and not (is_dns_subdomain if name_rule == "subdomain" else is_dns_label)(value):
        errors.append("%s: %r is not a valid DNS-1123 %s name" % (where, value, name_rule))
    if schema.get("format") == "date-time" and not _DATE_TIME.fullmatch(value):
        errors.append("%s: %r is not an RFC 3339 date-time" % (where, value))


def _check_number(value, schema, where, errors):
    low, high = _INT_RANGES.get(schema.get("format"), (None, None))
    if low is not None and not low <= value <= high:
        errors.append("%s: %r is out of range for %s" % (where, value, schema["format"]))
    if "minimum" in schema:
        if value < schema["minimum"] or (schema.get("exclusiveMinimum") and value == schema["minimum"]):
            errors.append("%s: %r is less than the minimum %r" % (where, value, schema["minimum"]))
    if "maximum" in schema:
        if value > schema["maximum"] or (schema.get("exclusiveMaximum") and value == schema["maximum"]):
            errors.append("%s: %r is more than the maximum %r" % (where, value, schema["maximum"]))


def _check_array(value, schema, parts, errors):
    where = _path(parts)
    if "minItems" in schema and len(value) < schema["minItems"]:
        errors.append("%s: fewer than %d items" % (where, schema["minItems"]))
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        errors.append("%s: more than %d items" % (where, schema["maxItems"]))
    list_type = schema.get("x-kubernetes-list-type")
    if schema.get("uniqueItems") or list_type == "set":
        seen = []
        for i, item in enumerate(value):
            if item in seen:
                errors.append("%s: duplicate item %s" % (_path(parts + [i]), _short(item)))
            seen.append(item)
    if list_type == "map":
        keys = schema.get("x-kubernetes-list-map-keys", [])
        seen = []
        for i, item in enumerate(value):
            key = tuple(item.get(k) for k in keys) if isinstance(item, dict) else None
            if key is not None and key in seen:
                errors.append("%s: duplicate entry for %s" % (_path(parts + [i]), ", ".join(
                    "%s=%r" % kv for kv in zip(keys, key))))
            seen.append(key)
    if isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            _check(item, schema["items"], parts + [i], errors)


def _check_object(value, schema, parts, errors):
    where = _path(parts)
    for name in schema.get("required", []):
        if name not in value:
            errors.append("%s: missing required field %r" % (where, name))
    if "minProperties" in schema and len(value) < schema["minProperties"]:
        errors.append("%s: needs at least %d fields" % (where, schema["minProperties"]))
    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        errors.append("%s: allows at most %d fields" % (where, schema["maxProperties"]))
    props = schema.get("properties")
    extra = schema.get("additionalProperties")
    strict = props is not None and extra is None and not schema.get("x-kubernetes-preserve-unknown-fields")
    for key in sorted(value, key=str):
        sub_parts = parts + [key]
        if not isinstance(key, str):
            errors.append("%s: field name %r is not a string" % (_path(sub_parts), key))
        elif props is not None and key in props:
            _check(value[key], props[key], sub_parts, errors)
        elif isinstance(extra, dict):
            _check(value[key], extra, sub_parts, errors)
        elif strict or extra is False:
            errors.append('unknown field "%s" (an API server drops it; check the indentation)' % _path(sub_parts))


def _nulls(value, parts, errors):
    """Every null, also inside fields the schema leaves open (the collection never emits a null)."""
    if value is None:
        errors.append("%s: null value (omit the field instead)" % _path(parts))
    elif isinstance(value, dict):
        for key in sorted(value, key=str):
            _nulls(value[key], parts + [key], errors)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _nulls(item, parts + [i], errors)


def _with_envelope(schema):
    """The CRD schema with strict ObjectMeta and apiVersion/kind/metadata required."""
    out = dict(schema)
    props = dict(out.get("properties", {}))
    props["metadata"] = _METADATA
    out["properties"] = props
    out["required"] = sorted(set(out.get("required", [])) | {"apiVersion", "kind", "metadata"})
    return out


def _label(obj):
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    return "%s/%s (%s)" % (obj.get("kind"), meta.get("name", "?"), obj.get("apiVersion"))


def _core_errors(obj, key):
    errors = []
    if obj.get("kind") != "Secret":
        return errors
    data = obj.get("data") if isinstance(obj.get("data"), dict) else {}
    for name, text in sorted(data.items()):
        try:
            base64.b64decode(str(text).encode("ascii"), validate=True)
        except (binascii.Error, ValueError, UnicodeEncodeError):
            errors.append("data.%s: not valid base64" % name)
    if obj.get("type") == "kubernetes.io/dockerconfigjson" and ".dockerconfigjson" not in data \
            and ".dockerconfigjson" not in (obj.get("stringData") or {}):
        errors.append("data: a kubernetes.io/dockerconfigjson Secret needs the key .dockerconfigjson")
    return errors


def schema_for(api_version, kind):
    """The stored entry for ``apiVersion`` + ``kind`` (served, deprecated, source, schema) or None."""
    return SCHEMAS.get("%s %s" % (api_version, kind))


def known_versions(kind):
    """The API versions the shipped schemas know for ``kind`` (sorted)."""
    return sorted(k.split(" ")[0] for k in SCHEMAS if k.split(" ")[1] == kind)


def validate_object(obj):
    """Validate one object strictly; returns error strings naming the object and field (empty = valid)."""
    if not isinstance(obj, dict):
        return ["document is %s, not a Kubernetes object (mapping)" % _type_name(obj)]
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return ["%s: apiVersion and kind must be strings" % _label(obj)]
    deep = too_deep(obj)
    if deep is not None:
        return ["%s: %s" % (_label(obj), depth_error(deep))]
    key = "%s %s" % (api_version, kind)
    errors = []
    _nulls(obj, [], errors)
    if key in _CORE:
        _check(obj, _CORE[key], [], errors)
        errors.extend(_core_errors(obj, key))
    else:
        entry = SCHEMAS.get(key)
        if entry is None:
            known = known_versions(kind)
            errors.append("no schema for %s %s (the collection knows %s)" % (
                api_version, kind, ", ".join(known) if known else "no version of this kind"))
        elif not entry["served"]:
            errors.append("%s is not served for %s (an API server rejects it); use %s" % (
                api_version, kind, " or ".join(v for v in known_versions(kind) if SCHEMAS["%s %s" % (v, kind)]["served"])))
        else:
            _check(obj, _with_envelope(entry["schema"]), [], errors)
    return ["%s: %s" % (_label(obj), e) for e in errors]


def validate_objects(objects):
    """Validate a list of objects; returns every error (empty = all valid)."""
    if isinstance(objects, dict):
        objects = [objects]
    errors = []
    for obj in objects:
        errors.extend(validate_object(obj))
    return errors
