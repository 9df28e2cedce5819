# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest

from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_schema import (
    _go_regex,
    known_versions,
    validate_object,
    validate_objects,
)
from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_schema_data import SCHEMAS

DIGEST = "sha256:" + "a" * 64
FILE = {"path": "/root/.docker/config.json", "permissions": "0600",
        "contentFrom": {"secretRef": {"name": "oras-config", "key": ".dockerconfigjson"}}}


def control_plane(api_version="v1beta2"):
    spec = {"downloadURL": "oci://registry.example.com/k0s/k0s@" + DIGEST, "files": [dict(FILE)],
            "args": ["--enable-worker"]}
    spec["preK0sCommands" if api_version == "v1beta2" else "preStartCommands"] = ["sh /usr/local/lib/k0smotron-oci/install-oras.sh"]
    return {
        "apiVersion": "controlplane.cluster.x-k8s.io/" + api_version, "kind": "K0sControlPlane",
        "metadata": {"name": "aws-test", "namespace": "default"},
        "spec": {"replicas": 3, "version": "v1.34.1+k0s.0", "updateStrategy": "Recreate", "k0sConfigSpec": spec,
                 "machineTemplate": {"infrastructureRef": {"apiVersion": "infrastructure.cluster.x-k8s.io/v1beta2",
                                                           "kind": "AWSMachineTemplate", "name": "aws-test-cp"}}},
    }


SECRET = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
          "metadata": {"name": "oras-config", "namespace": "default"},
          "data": {".dockerconfigjson": "e30="}}


def spec_of(obj):
    return obj["spec"]["k0sConfigSpec"]


@pytest.mark.parametrize("obj", [control_plane("v1beta1"), control_plane("v1beta2"), SECRET])
def test_valid_objects_pass(obj):
    assert validate_object(obj) == []


def seed_page_files(obj):
    # The seed page's files entry: secretRef indented at the level of contentFrom, not under it.
    spec_of(obj)["files"] = [{"contentFrom": None, "secretRef": {"name": "my-oras-config", "key": ".dockerconfigjson"},
                              "path": "/root/.docker/config.json"}]


def unknown_field(obj):
    spec_of(obj)["fiels"] = []


def integer_permissions(obj):
    spec_of(obj)["files"][0]["permissions"] = 384  # permissions: 0600 unquoted in YAML 1.1


def null_value(obj):
    spec_of(obj)["args"] = None


def wrong_name(obj):
    obj["metadata"]["name"] = "AWS_test"


def name_with_newline(obj):
    obj["metadata"]["name"] = "aws-test\n"


def long_namespace(obj):
    obj["metadata"]["namespace"] = "n" * 64


def missing_required(obj):
    del obj["spec"]["machineTemplate"]


def status(obj):
    obj["status"] = {"ready": True}


@pytest.mark.parametrize("api_version", ["v1beta1", "v1beta2"])
@pytest.mark.parametrize("mutate, expected", [
    (seed_page_files, ['spec.k0sConfigSpec.files[0].contentFrom: null value',
                       'unknown field "spec.k0sConfigSpec.files[0].secretRef"']),
    (unknown_field, ['unknown field "spec.k0sConfigSpec.fiels"']),
    (integer_permissions, ["spec.k0sConfigSpec.files[0].permissions: must be a string, not integer 384"]),
    (null_value, ["spec.k0sConfigSpec.args: null value"]),
    (wrong_name, ["metadata.name: 'AWS_test' is not a valid DNS-1123 subdomain name"]),
    (name_with_newline, ["metadata.name: 'aws-test\\n' is not a valid DNS-1123 subdomain name"]),
    (long_namespace, ["metadata.namespace: longer than 63 characters", "is not a valid DNS-1123 label name"]),
    (missing_required, ["spec: missing required field 'machineTemplate'"]),
    (status, ['unknown field "status"']),
])
def test_invalid_objects_fail(api_version, mutate, expected):
    obj = control_plane(api_version)
    mutate(obj)
    errors = validate_object(obj)
    assert len(errors) == len(expected), errors
    for error, fragment in zip(errors, expected):
        assert error.startswith("K0sControlPlane/")
        assert "(controlplane.cluster.x-k8s.io/%s): " % api_version in error
        assert fragment in error


@pytest.mark.parametrize("obj, fragment", [
    (dict(control_plane(), apiVersion="controlplane.cluster.x-k8s.io/v1alpha3"),
     "no schema for controlplane.cluster.x-k8s.io/v1alpha3 K0sControlPlane (the collection knows "
     "controlplane.cluster.x-k8s.io/v1beta1, controlplane.cluster.x-k8s.io/v1beta2)"),
    ({"apiVersion": "infrastructure.cluster.x-k8s.io/v1beta1", "kind": "AWSCluster", "metadata": {"name": "a"}},
     "infrastructure.cluster.x-k8s.io/v1beta1 is not served for AWSCluster"),
    ({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}}, "no schema for v1 Pod"),
    (dict(SECRET, data={".dockerconfigjson": "not base64!"}), "data..dockerconfigjson: not valid base64"),
    (dict(SECRET, data={"x": "e30="}), "needs the key .dockerconfigjson"),
    (dict(SECRET, strinData={}), 'unknown field "strinData"'),
    ("kind: Secret", "document is string, not a Kubernetes object"),
])
def test_other_errors(obj, fragment):
    errors = validate_object(obj)
    assert len(errors) == 1 and fragment in errors[0], errors


def test_int_or_string_and_enum():
    config_ref = {"apiVersion": "bootstrap.cluster.x-k8s.io/v1beta1", "kind": "K0sWorkerConfigTemplate", "name": "w"}
    infra_ref = {"apiVersion": "infrastructure.cluster.x-k8s.io/v1beta2", "kind": "AWSMachineTemplate", "name": "w"}
    md = {"apiVersion": "cluster.x-k8s.io/v1beta1", "kind": "MachineDeployment", "metadata": {"name": "w"},
          "spec": {"clusterName": "c", "replicas": 2,
                   "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
                   "selector": {"matchLabels": {}},
                   "template": {"spec": {"clusterName": "c", "bootstrap": {"configRef": config_ref},
                                         "infrastructureRef": infra_ref}}}}
    assert validate_object(md) == []
    bad = copy.deepcopy(md)
    bad["spec"]["strategy"]["type"] = "Sideways"
    bad["spec"]["strategy"]["rollingUpdate"]["maxSurge"] = 1.5
    errors = validate_object(bad)
    assert any("spec.strategy.type: 'Sideways' is not one of" in e for e in errors), errors
    assert any("spec.strategy.rollingUpdate.maxSurge: must be an integer or a string" in e for e in errors), errors


def test_every_kind_the_roles_render_is_shipped():
    for kind in ("K0sControlPlane", "K0sWorkerConfigTemplate", "Cluster", "MachineDeployment", "AWSCluster",
                 "AWSMachineTemplate"):
        served = [v for v in known_versions(kind) if SCHEMAS["%s %s" % (v, kind)]["served"]]
        assert served, kind
        for version in served:
            assert SCHEMAS["%s %s" % (version, kind)]["schema"]["properties"]["spec"], (kind, version)


def test_a_list_validates_every_object():
    bad = control_plane()
    integer_permissions(bad)
    assert validate_objects([control_plane(), SECRET]) == []
    assert len(validate_objects([bad, SECRET])) == 1
    assert len(validate_objects(bad)) == 1


# --------------------------------------------------------------------------- issue 18 items 7 and 9
def aws_cluster(lb_name):
    return {"apiVersion": "infrastructure.cluster.x-k8s.io/v1beta2", "kind": "AWSCluster",
            "metadata": {"name": "aws-test", "namespace": "default"},
            "spec": {"region": "eu-west-1", "controlPlaneLoadBalancer": {"name": lb_name}}}


def test_crd_pattern_dollar_is_the_end_of_the_text():
    assert validate_object(aws_cluster("my-lb")) == []
    errors = validate_object(aws_cluster("my-lb\n"))
    assert len(errors) == 1 and "spec.controlPlaneLoadBalancer.name: 'my-lb\\n' does not match" in errors[0], errors


@pytest.mark.parametrize("pattern, text, matches", [
    (r"^a$", "a\n", False),
    (r"^a\z", "a\n", False),
    (r"^[$]+$", "$$", True),         # "$" inside a class stays a literal dollar
    (r"^[]$]+$", "]$", True),        # "]" first in a class is a member, the class goes on
    (r"^[^]$]$", "a", True),
    (r"^a\$$", "a$", True),          # an escaped dollar stays a literal dollar
    (r"^a\$$", "a$\n", False),
])
def test_go_regex(pattern, text, matches):
    assert (_go_regex(pattern).search(text) is not None) is matches


def nested(depth):
    value = "leaf"
    for dummy in range(depth):
        value = {"a": [value]}
    return value


def test_deep_object_is_one_error_not_a_recursion_error():
    obj = control_plane()
    spec_of(obj)["k0s"] = nested(5000)
    errors = validate_object(obj)
    assert len(errors) == 1 and "nested deeper than 100 levels at spec.k0sConfigSpec.k0s.a[0].a[0]" in errors[0]
    assert validate_objects([obj, SECRET]) == errors
