# -*- coding: utf-8 -*-
"""_capi_schema against an independent validator (the ``jsonschema`` package) on mutated golden objects.

The Cluster API objects of the golden files are mutated (a field removed, an unknown field added, a value
replaced by another type, an empty or too long string, a boundary integer, ...) with a fixed seed, and every
mutant is validated by ours and by jsonschema against the same shipped schema. The Kubernetes extensions
that plain JSON Schema lacks are written as the JSON Schema that means the same (``to_json_schema``):

- strictness (properties listed, no ``x-kubernetes-preserve-unknown-fields``): ``additionalProperties: false``;
- ``x-kubernetes-int-or-string``: ``type: [integer, string]``;
- ``x-kubernetes-list-type: set``: ``uniqueItems`` (duplicated items are not generated: list-type ``map``
  keys have no JSON Schema form);
- metadata's DNS-1123 names: the Kubernetes patterns (apimachinery ``validation.go``) as ``pattern``;
  ``format: date-time``: the RFC 3339 grammar as ``pattern``;
- null is never valid, wherever it is (ours reports every null, also inside open maps).

The verdicts (valid or not) must agree on every mutant, except one documented difference: ours checks the
range of ``format: int32``/``int64`` integers (as the API server does), jsonschema ignores ``format`` for
integers. Each such mutant must be valid for jsonschema and fail ours only with range errors.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
import random

import jsonschema
import yaml

from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_schema import _with_envelope, validate_object
from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_schema_data import SCHEMAS

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "capi")
SEED = 19
MUTANTS = 3000

# k8s.io/apimachinery/pkg/util/validation: DNS-1123 label (<= 63) and subdomain (<= 253).
DNS1123_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z"
DNS1123_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z"
# RFC 3339 section 5.6 (with the space separator its note allows).
DATE_TIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})\Z"
NO_NULLS = {"$ref": "#/definitions/no_nulls"}


def to_json_schema(schema):
    """The shipped (Kubernetes-flavoured) schema as plain JSON Schema (draft 7) with the same meaning."""
    out = {}
    for key, value in schema.items():
        if key == "properties":
            out[key] = dict((name, to_json_schema(sub)) for name, sub in value.items())
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            out[key] = to_json_schema(value)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [to_json_schema(sub) for sub in value]
        elif key == "format" and value == "date-time":
            out["pattern"] = DATE_TIME
        elif key == "x-k0smotron-pattern":
            out["pattern"] = DNS1123_SUBDOMAIN if value == "subdomain" else DNS1123_LABEL
            if value == "label":
                out["maxLength"] = min(out.get("maxLength", 63), 63)
        elif key == "x-kubernetes-int-or-string":
            out["type"] = ["integer", "string"]
        elif key == "x-kubernetes-list-type":
            if value == "set":
                out["uniqueItems"] = True
        elif not key.startswith("x-") and key != "format":
            out[key] = value
    if schema.get("x-kubernetes-int-or-string"):
        out["type"] = ["integer", "string"]
    if "properties" in schema and "additionalProperties" not in schema \
            and not schema.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    out.setdefault("additionalProperties", NO_NULLS)
    out.setdefault("items", NO_NULLS)
    out["not"] = {"type": "null"} if "not" not in out else {"anyOf": [out["not"], {"type": "null"}]}
    return out


def json_validator(key):
    schema = to_json_schema(_with_envelope(SCHEMAS[key]["schema"]))
    schema["definitions"] = {"no_nulls": {"not": {"type": "null"}, "additionalProperties": NO_NULLS,
                                          "items": NO_NULLS}}
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def golden_objects():
    objects = []
    for name in sorted(os.listdir(GOLDEN)):
        with open(os.path.join(GOLDEN, name)) as f:
            for obj in yaml.safe_load_all(f):
                if isinstance(obj, dict) and SCHEMAS.get("%s %s" % (obj.get("apiVersion"), obj.get("kind")), {}).get("served"):
                    objects.append(obj)
    return objects


def paths(value, prefix=()):
    """Every (path to a container, key or index) below ``value``, apiVersion and kind excepted."""
    out = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, sub in items:
        if not prefix and key in ("apiVersion", "kind"):
            continue
        out.append((prefix, key))
        out.extend(paths(sub, prefix + (key,)))
    return out


def replacements(rng, old):
    """Values to put where ``old`` was: other types, and edge values of its own type. Strings carry a
    random token, so that no mutant duplicates a list-map key; no float is integral (1.0 is an integer to
    draft 7 but not to Kubernetes)."""
    token = "mut%d" % rng.randrange(10 ** 6)
    others = [token, 7, True, [token], {token: token}, None, 1.5]
    if isinstance(old, str):
        others += ["", "x" * 300, token.upper(), "a b", "-" + token, "0600", token + "." + token]
    elif isinstance(old, bool):
        others += [not old, "true"]
    elif isinstance(old, int):
        others += [0, -1, 1, 65535, 65536, 2 ** 31 - 1, 2 ** 31, -2 ** 31, -2 ** 31 - 1, 2 ** 63, str(old)]
    elif isinstance(old, list):
        others += [[], old[:1], [None], [7]]
    elif isinstance(old, dict):
        others += [{}, {"unknownField": token}]
    return others


def mutate(rng, obj):
    """One mutant of ``obj``: remove, add an unknown field, or replace a value."""
    mutant = copy.deepcopy(obj)
    prefix, key = rng.choice(paths(mutant))
    parent = mutant
    for part in prefix:
        parent = parent[part]
    action = rng.randrange(4)
    if action == 0:
        del parent[key]
    elif action == 1:
        target = parent[key] if isinstance(parent[key], dict) else parent if isinstance(parent, dict) else None
        if target is None:
            parent[key] = rng.choice(replacements(rng, parent[key]))
        else:
            target["mutatedField%d" % rng.randrange(100)] = rng.choice(["x", 1, {}, []])
    else:
        parent[key] = rng.choice(replacements(rng, parent[key]))
    return mutant


def only_range_errors(errors):
    return bool(errors) and all(" is out of range for int32" in e or " is out of range for int64" in e for e in errors)


def test_capi_schema_agrees_with_jsonschema_on_mutated_objects():
    rng = random.Random(SEED)
    objects = golden_objects()
    assert len(objects) >= 20, "the golden files should hold the Cluster API objects of every variant"
    validators = {}
    agreed, range_only, disagreements = 0, 0, []
    for i in range(MUTANTS):
        obj = objects[i % len(objects)]
        key = "%s %s" % (obj["apiVersion"], obj["kind"])
        if key not in validators:
            validators[key] = json_validator(key)
        mutant = mutate(rng, obj)
        ours = validate_object(mutant)
        theirs = next(validators[key].iter_errors(mutant), None)
        if bool(ours) == (theirs is not None):
            agreed += 1
        elif theirs is None and only_range_errors(ours):
            range_only += 1
        else:
            disagreements.append((mutant, ours, theirs and theirs.message))
    assert not disagreements, "%d disagreements, the first: %r" % (len(disagreements), disagreements[0])
    assert agreed + range_only == MUTANTS
    assert range_only > 0, "the mutants should reach the documented int32/int64 difference"


def test_golden_objects_are_valid_for_both():
    # The mutants start from valid objects: a translation that rejected them would make agreement cheap.
    for obj in golden_objects():
        key = "%s %s" % (obj["apiVersion"], obj["kind"])
        assert validate_object(obj) == [], key
        assert list(json_validator(key).iter_errors(obj)) == [], key
