"""Strict offline validation of rendered Kubernetes objects, for the tests and the demo.

The validator and the CRD schemas are the collection's own
(``plugins/plugin_utils/_capi_schema.py`` and ``_capi_schema_data.py``, the same code as the
``k0smotron.oci.capi_schema_errors`` filter); nothing outside the repository is read. On top of
the collection's minimal Secret/ConfigMap check, core objects are also checked with
``kubernetes-validate`` (strict) when that package is installed (the test venv has it).

API (kept small on purpose; the boot simulation and the demo use it too)::

    from tests.harness import schemas
    errors = schemas.validate_object(obj)        # -> list of str, empty when valid
    errors = schemas.validate_file(path)         # every document of a YAML file
    schemas.load_file(path)                      # the documents of a YAML file
    schemas.SOURCE                               # where the schemas come from (for messages)

``python -m tests.harness.schemas FILE...`` validates files (exit 1 on any error).
"""
import os
import sys

import yaml

from . import tools

KUBERNETES_VERSION = "1.37.0"
SOURCE = "the CRD schemas shipped in the collection (plugins/plugin_utils/_capi_schema_data.py)"
_capi = tools.plugin_util("_capi_schema")


def _kubernetes_validate(obj):
    try:
        import kubernetes_validate
    except ImportError:
        return []
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as e:
        path = "".join("[%d]" % p if isinstance(p, int) else ".%s" % p for p in getattr(e, "absolute_path", []))
        return ["%s/%s: kubernetes-validate: %s%s" % (obj.get("kind"), obj.get("metadata", {}).get("name"),
                                                      path.lstrip(".") + ": " if path else "", e.message)]
    except Exception as e:  # unknown kind/version and the like
        return ["%s/%s: kubernetes-validate: %s" % (obj.get("apiVersion"), obj.get("kind"), e)]
    return []


def validate_object(obj):
    """Validate one object; returns a list of error strings (empty = valid)."""
    errors = _capi.validate_object(obj)
    if isinstance(obj, dict) and obj.get("apiVersion") == "v1" and not errors:
        errors = _kubernetes_validate(obj)
    return errors


def load_file(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def validate_file(path):
    """Validate every document of a YAML file; errors are prefixed with the file and index."""
    try:
        docs = load_file(path)
    except yaml.YAMLError as e:
        return ["%s: not valid YAML: %s" % (path, e)]
    if not docs:
        return ["%s: no YAML documents" % path]
    return ["%s[%d]: %s" % (os.path.basename(path), i, err) for i, doc in enumerate(docs) for err in validate_object(doc)]


if __name__ == "__main__":  # python -m tests.harness.schemas FILE...
    rc = 0
    for p in sys.argv[1:]:
        errs = validate_file(p)
        for e in errs:
            print(e)
        rc |= bool(errs)
        if not errs:
            print("%s: valid" % p)
    sys.exit(rc)
