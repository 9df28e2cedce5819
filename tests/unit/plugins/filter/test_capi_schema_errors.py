# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.k0smotron.oci.plugins.filter.capi_schema_errors import FilterModule

SECRET = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
          "metadata": {"name": "oras-config", "namespace": "default"}, "data": {".dockerconfigjson": "e30="}}
BAD = {"apiVersion": "controlplane.cluster.x-k8s.io/v1beta2", "kind": "K0sControlPlane", "metadata": {"name": "cp"},
       "spec": {"machineTemplate": {"infrastructureRef": {"apiVersion": "infrastructure.cluster.x-k8s.io/v1beta2",
                                                          "kind": "AWSMachineTemplate", "name": "cp"}},
                "k0sConfigSpec": {"files": [{"path": "/x", "content": "x", "permissions": 384}]}}}

capi_schema_errors = FilterModule().filters()["capi_schema_errors"]


def test_valid_objects_give_no_errors():
    assert capi_schema_errors([SECRET]) == []
    assert capi_schema_errors(SECRET) == []


def test_errors_name_the_object_and_the_field():
    assert capi_schema_errors([SECRET, BAD]) == [
        "K0sControlPlane/cp (controlplane.cluster.x-k8s.io/v1beta2): "
        "spec.k0sConfigSpec.files[0].permissions: must be a string, not integer 384"]


@pytest.mark.parametrize("value", ["kind: Secret", 3, None])
def test_not_objects(value):
    with pytest.raises(AnsibleFilterError, match="expects an object or a list of objects"):
        capi_schema_errors(value)
