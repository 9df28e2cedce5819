# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: capi_schema_errors
short_description: Validate Cluster API objects strictly against the CRD schemas shipped in the collection
version_added: 0.2.0
description:
  - Checks each object against the schema of its C(apiVersion) and C(kind), offline, with no
    Kubernetes API server and no Python library beyond the standard library.
  - "Kinds known: C(K0sControlPlane), C(K0sWorkerConfigTemplate), C(K0sWorkerConfig), C(K0sControllerConfig)
    (k0smotron v2.1.0, C(controlplane.cluster.x-k8s.io)/C(bootstrap.cluster.x-k8s.io) v1beta1 and v1beta2),
    C(Cluster), C(MachineDeployment) (Cluster API v1.14.0, C(cluster.x-k8s.io) v1beta1 and v1beta2),
    C(AWSCluster), C(AWSMachineTemplate) (CAPA v2.11.1, C(infrastructure.cluster.x-k8s.io/v1beta2));
    plus a minimal check of C(v1) C(Secret) and C(ConfigMap)."
  - B(Strict) - a field the schema does not list is an error. An API server would drop it silently
    (or reject it with strict field validation), which is how a mis-indented C(files) entry shows up.
  - "Also an error - a C(null) value anywhere, a wrong type (for example C(permissions: 0600) written
    unquoted, an integer where the schema wants a string), a missing required field, a value outside
    an enum or pattern, an API version that is not served, and a kind the collection has no schema for."
  - CEL rules (C(x-kubernetes-validations)) are not evaluated.
positional: _input
options:
  _input:
    description: One object (a dictionary) or a list of objects, for example the result of C(from_yaml_all).
    type: raw
    required: true
seealso:
  - name: k0smotron CRDs
    description: The K0sControlPlane and bootstrap CRDs the schemas come from.
    link: https://github.com/k0sproject/k0smotron/tree/v2.1.0/config/clusterapi
author:
  - k0smotron.oci maintainers (@k0sproject)
"""

EXAMPLES = r"""
- name: Validate rendered manifests before applying them
  ansible.builtin.assert:
    that: __errors | length == 0
    fail_msg: "{{ __errors | join('\n') }}"
    quiet: true
  vars:
    __errors: "{{ lookup('ansible.builtin.file', 'rendered/k0scontrolplane.yaml') | ansible.builtin.from_yaml_all
                  | list | k0smotron.oci.capi_schema_errors }}"

# A mis-indented files entry (secretRef beside contentFrom instead of under it):
#   ["K0sControlPlane/demo (controlplane.cluster.x-k8s.io/v1beta2): spec.k0sConfigSpec.files[0].contentFrom:
#     null value (omit the field instead)",
#    "K0sControlPlane/demo (controlplane.cluster.x-k8s.io/v1beta2): unknown field
#     \"spec.k0sConfigSpec.files[0].secretRef\" (an API server drops it; check the indentation)"]
"""

RETURN = r"""
_value:
  description:
    - One message per problem, each naming the object (kind, name and API version) and the field path,
      for example C(spec.k0sConfigSpec.files[0].permissions).
    - Empty when every object is valid.
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_schema import validate_objects


def _capi_schema_errors(objects):
    if not isinstance(objects, (dict, list)):
        raise AnsibleFilterError("k0smotron.oci.capi_schema_errors: expects an object or a list of objects, got %s"
                                 % type(objects).__name__)
    return validate_objects(objects)


class FilterModule(object):
    def filters(self):
        return {"capi_schema_errors": _capi_schema_errors}
