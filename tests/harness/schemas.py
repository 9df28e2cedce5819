"""Strict offline validation of rendered Kubernetes objects.

Custom resources (Cluster, MachineDeployment, K0sControlPlane, K0sWorkerConfigTemplate,
AWSCluster, AWSMachineTemplate, ...) are checked against the ``openAPIV3Schema`` of the
upstream CRDs kept in ``../shared/upstream`` (or ``$K0SMOTRON_OCI_UPSTREAM``), turned into a
STRICT JSON schema: ``additionalProperties: false`` wherever ``properties`` are given and
``x-kubernetes-preserve-unknown-fields`` is not set. The API server would silently prune an
unknown field; here it is an error (that is how a mis-indented ``files`` entry shows up).
Core objects (Secret, ConfigMap, ...) are checked with ``kubernetes-validate`` (strict).

Every object is also checked for ``null`` values (we never emit them).

API (kept small on purpose; the boot simulation and the demo use it too)::

    from tests.harness import schemas
    errors = schemas.validate_object(obj)        # -> list of str, empty when valid
    errors = schemas.validate_file(path)         # every document of a YAML file
    schemas.available()                          # False when the CRD folder is absent
    schemas.UPSTREAM                             # the folder used (or None)
"""
import base64
import binascii
import copy
import glob
import os

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KUBERNETES_VERSION = "1.37.0"


def _find_upstream():
    candidates = [os.environ.get("K0SMOTRON_OCI_UPSTREAM"),
                  os.path.join(os.path.dirname(ROOT), "shared", "upstream"),
                  "/work/shared/upstream"]
    for c in candidates:
        if c and os.path.isdir(c):
            return os.path.abspath(c)
    return None


UPSTREAM = _find_upstream()
_INDEX = None


def available():
    """True when the upstream CRD folder exists."""
    return UPSTREAM is not None


def skip_reason():
    return ("upstream CRD schemas not found (looked for $K0SMOTRON_OCI_UPSTREAM, "
            "../shared/upstream relative to the repository, /work/shared/upstream)")


def _strict(schema):
    """Return a strict copy of an OpenAPI v3 structural schema, as JSON schema."""
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key in ("properties",):
            out[key] = {k: _strict(v) for k, v in value.items()}
        elif key in ("items", "additionalProperties", "not"):
            out[key] = _strict(value) if isinstance(value, (dict, list)) else value
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [_strict(v) for v in value]
        elif key.startswith("x-kubernetes-") or key in ("description", "default", "example"):
            continue
        else:
            out[key] = value
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if "properties" in schema and not schema.get("x-kubernetes-preserve-unknown-fields") \
            and "additionalProperties" not in schema:
        out["additionalProperties"] = False
    return out


_META_SCHEMA = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1,
                 "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
                 "maxLength": 253},
        "namespace": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


def _index():
    global _INDEX
    if _INDEX is not None:
        return _INDEX
    _INDEX = {}
    if not UPSTREAM:
        return _INDEX
    for path in sorted(glob.glob(os.path.join(UPSTREAM, "*", "*.yaml"))):
        with open(path) as f:
            for doc in yaml.safe_load_all(f):
                if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
                    continue
                spec = doc["spec"]
                for ver in spec.get("versions", []):
                    key = ("%s/%s" % (spec["group"], ver["name"]), spec["names"]["kind"])
                    _INDEX[key] = {"file": path, "served": ver.get("served", False),
                                   "deprecated": ver.get("deprecated", False),
                                   "schema": ver["schema"]["openAPIV3Schema"], "strict": None,
                                   "scope": spec.get("scope")}
    return _INDEX


def _strict_schema(entry):
    if entry["strict"] is None:
        s = _strict(copy.deepcopy(entry["schema"]))
        s.setdefault("properties", {})
        s["properties"]["metadata"] = _META_SCHEMA
        s["properties"].pop("status", None)
        s["required"] = sorted(set(s.get("required", [])) | {"apiVersion", "kind", "metadata"})
        s["additionalProperties"] = False
        entry["strict"] = s
    return entry["strict"]


def _nulls(obj, path="$"):
    found = []
    if obj is None:
        found.append("%s: null value (omit the field instead)" % path)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            found.extend(_nulls(v, "%s.%s" % (path, k)))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            found.extend(_nulls(v, "%s[%d]" % (path, i)))
    return found


def _fmt_path(error):
    return "$" + "".join("[%d]" % p if isinstance(p, int) else ".%s" % p for p in error.absolute_path)


def _core_errors(obj):
    import kubernetes_validate
    errors = []
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as e:  # pragma: no cover - message formatting
        errors.append("%s: %s" % (_fmt_path(e) if hasattr(e, "absolute_path") else "$", e.message))
    except Exception as e:  # unknown kind/version and the like
        errors.append("%s/%s: %s" % (obj.get("apiVersion"), obj.get("kind"), e))
    if obj.get("kind") == "Secret":
        for key, value in (obj.get("data") or {}).items():
            try:
                base64.b64decode(str(value), validate=True)
            except (binascii.Error, ValueError):
                errors.append("$.data.%s: not valid base64" % key)
        if obj.get("type") == "kubernetes.io/dockerconfigjson":
            if ".dockerconfigjson" not in (obj.get("data") or {}) and \
                    ".dockerconfigjson" not in (obj.get("stringData") or {}):
                errors.append("$.data: a kubernetes.io/dockerconfigjson Secret needs the key .dockerconfigjson")
    return errors


def validate_object(obj):
    """Validate one object; returns a list of error strings (empty = valid)."""
    if not isinstance(obj, dict):
        return ["document is a %s, not a mapping" % type(obj).__name__]
    errors = _nulls(obj)
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return errors + ["apiVersion and kind must be strings"]
    entry = _index().get((api_version, kind))
    group = api_version.split("/")[0] if "/" in api_version else ""
    if entry is None and ("." not in group or (group.endswith(".k8s.io") and not group.endswith("x-k8s.io"))):
        return errors + _core_errors(obj)
    if entry is None:
        if not available():
            return errors + ["%s %s: cannot validate: %s" % (api_version, kind, skip_reason())]
        known = sorted(v for (v, k) in _index() if k == kind)
        return errors + ["%s %s: no CRD schema in %s (versions known for %s: %s)"
                         % (api_version, kind, UPSTREAM, kind, ", ".join(known) or "none")]
    if not entry["served"]:
        errors.append("%s %s: this API version is not served by the CRD (an API server rejects it)"
                      % (api_version, kind))
    import jsonschema
    validator = jsonschema.Draft7Validator(_strict_schema(entry))
    for e in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path))):
        errors.append("%s %s %s: %s" % (api_version, kind, _fmt_path(e), e.message))
    return errors


def load_file(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def validate_file(path):
    """Validate every document of a YAML file; errors are prefixed with file and index."""
    errors = []
    try:
        docs = load_file(path)
    except yaml.YAMLError as e:
        return ["%s: not valid YAML: %s" % (path, e)]
    if not docs:
        return ["%s: no YAML documents" % path]
    for i, doc in enumerate(docs):
        name = doc.get("metadata", {}).get("name") if isinstance(doc, dict) else None
        for err in validate_object(doc):
            errors.append("%s[%d] %s: %s" % (os.path.basename(path), i, name, err))
    return errors


if __name__ == "__main__":  # python -m tests.harness.schemas FILE...
    import sys
    rc = 0
    for p in sys.argv[1:]:
        errs = validate_file(p)
        for e in errs:
            print(e)
        rc |= bool(errs)
        if not errs:
            print("%s: valid" % p)
    sys.exit(rc)
