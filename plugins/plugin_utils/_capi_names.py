# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
#
# This plugin util is PRIVATE to the collection. It can change at any time without notice.
"""Which Cluster API objects a cluster has, and their names: ``Names`` derives (and checks) every name and
reference from the role's variables. What deletion needs comes from here alone: ``object_names`` (the objects
without building them), ``registry_secret_selector`` (every registry Secret of the cluster, by labels) and
``file_name`` (``NN-kind-name.yaml``, in apply order)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re

from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_settings import (
    CapiError,
    get_bool,
    get_choice,
    get_dict,
    get_str,
)
from ansible_collections.k0smotron.oci.plugins.plugin_utils._dns_names import check_dns_label, check_dns_subdomain
from ansible_collections.k0smotron.oci.plugins.plugin_utils._node_content_rules import check_no_null

AWS_API_VERSION = "infrastructure.cluster.x-k8s.io/v1beta2"
API_VERSIONS = ("v1beta1", "v1beta2")

# Kinds in apply order with their file-name prefix; deletion runs in reverse (Cluster first: CAPI cascades).
KIND_PREFIX = (
    ("Secret", "00"),
    ("AWSMachineTemplate", "10"),
    ("AWSCluster", "20"),
    ("K0sControlPlane", "30"),
    ("K0sWorkerConfigTemplate", "40"),
    ("MachineDeployment", "50"),
    ("Cluster", "60"),
)
_PREFIX = dict(KIND_PREFIX)

_API_VERSION = re.compile(r"[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?/v[0-9]+(?:(?:alpha|beta)[0-9]+)?")
_KIND = re.compile(r"[A-Z][A-Za-z0-9]*")


def check_ref(ref, variable):
    """An infrastructure reference {apiVersion: GROUP/VERSION, kind: KIND, name: NAME}."""
    if (not isinstance(ref, dict) or not isinstance(ref.get("apiVersion"), str)
            or not _API_VERSION.fullmatch(ref["apiVersion"]) or not isinstance(ref.get("kind"), str)
            or not _KIND.fullmatch(ref["kind"])):
        raise CapiError("With control_plane_infrastructure=none, %s must be a reference {apiVersion: GROUP/VERSION, "
                        "kind: KIND, name: NAME} to infrastructure objects you manage yourself." % variable)
    check_dns_subdomain(ref.get("name"), "%s.name" % variable, error=CapiError)
    check_no_null(ref, variable)
    return ref


# Labels of the registry credentials Secret: state=present lists older Secrets of the cluster by them, state=absent
# deletes them all by them (a Secret's name changes with its content, see secret_hash).
MANAGED_BY_LABEL = ("app.kubernetes.io/managed-by", "k0smotron.oci")
CLUSTER_LABEL = "cluster.x-k8s.io/cluster-name"
SECRET_HASH_LENGTH = 8


def secret_hash(dockerconfigjson):
    """First 8 hex digits of the sha256 over the docker config text: the registry Secret's name suffix."""
    return hashlib.sha256(dockerconfigjson.encode("utf-8")).hexdigest()[:SECRET_HASH_LENGTH]


def registry_secret_selector(settings):
    """{apiVersion, kind, metadata.namespace, label_selectors} that finds every registry credentials Secret the role
    rendered for this cluster (in any version, hashed name or not)."""
    names = Names(settings)
    obj = head("v1", "Secret", "", names.namespace)
    del obj["metadata"]["name"]
    obj["label_selectors"] = ["%s=%s" % MANAGED_BY_LABEL, "%s=%s" % (CLUSTER_LABEL, names.cluster)]
    return obj


class Names:
    """The names every object uses, validated. ``dockerconfigjson``: the Secret's content, for its hashed name."""

    def __init__(self, settings, dockerconfigjson=None):
        self.cluster = check_dns_label(get_str(settings, "control_plane_cluster_name"), "control_plane_cluster_name",
                                       error=CapiError)
        self.namespace = check_dns_label(get_str(settings, "control_plane_namespace"), "control_plane_namespace",
                                         error=CapiError)
        self.api_version = get_choice(settings, "control_plane_api_version", API_VERSIONS)
        self.capi_version = get_choice(settings, "control_plane_cluster_api_version", ("",) + API_VERSIONS) \
            or self.api_version
        self.infrastructure = get_choice(settings, "control_plane_infrastructure", ("aws", "none"))
        self.workers = get_bool(settings, "control_plane_workers_enabled")
        workers_name = get_str(settings, "control_plane_workers_name")
        # The workers' name is also the value of the cluster.x-k8s.io/deployment-name label: a DNS label.
        self.workers_name = check_dns_label(workers_name or "%s-md-0" % self.cluster,
                                            "control_plane_workers_name" if workers_name
                                            else "control_plane_cluster_name (+ '-md-0', the workers' name)",
                                            error=CapiError)
        self.creds_given = bool(get_str(settings, "control_plane_registry_username")
                                or get_str(settings, "control_plane_registry_config_path"))
        secret = get_str(settings, "control_plane_registry_secret_name")
        if secret:
            check_dns_subdomain(secret, "control_plane_registry_secret_name", error=CapiError)
        self.secret = secret or ("%s-registry-credentials" % self.cluster if self.creds_given else "")
        # A rendered Secret's name carries a hash of its content, so that new credentials make a new Secret and a
        # changed K0sControlPlane (k0smotron does not notice a changed Secret). Without the content (the first
        # build, outside no_log) the name stays the base name; that build is only shown, never written.
        self.secret_hashed = self.creds_given and get_bool(settings, "control_plane_registry_secret_hash_suffix")
        if self.secret_hashed and len(self.secret) > 253 - SECRET_HASH_LENGTH - 1:
            raise CapiError("control_plane_registry_secret_name is too long for the '-<hash>' suffix (at most %d "
                            "characters), or set control_plane_registry_secret_hash_suffix: false"
                            % (253 - SECRET_HASH_LENGTH - 1))
        if self.secret_hashed and dockerconfigjson:
            self.secret = check_dns_subdomain("%s-%s" % (self.secret, secret_hash(dockerconfigjson)),
                                              "control_plane_registry_secret_name (with the '-<hash>' suffix)",
                                              error=CapiError)
        self.k0s_api = "controlplane.cluster.x-k8s.io/%s" % self.api_version
        self.bootstrap_api = "bootstrap.cluster.x-k8s.io/%s" % self.api_version
        self.capi_api = "cluster.x-k8s.io/%s" % self.capi_version
        if self.infrastructure == "aws":
            self.cluster_infra_ref = {"apiVersion": AWS_API_VERSION, "kind": "AWSCluster", "name": self.cluster}
            self.machine_ref = {"apiVersion": AWS_API_VERSION, "kind": "AWSMachineTemplate", "name": self.cluster}
            self.workers_machine_ref = {"apiVersion": AWS_API_VERSION, "kind": "AWSMachineTemplate",
                                        "name": self.workers_name}
        else:
            self.cluster_infra_ref = check_ref(get_dict(settings, "control_plane_cluster_infrastructure_ref"),
                                               "control_plane_cluster_infrastructure_ref")
            self.machine_ref = check_ref(get_dict(settings, "control_plane_machine_infrastructure_ref"),
                                         "control_plane_machine_infrastructure_ref")
            self.workers_machine_ref = check_ref(get_dict(settings, "control_plane_workers_infrastructure_ref"),
                                                 "control_plane_workers_infrastructure_ref") if self.workers else {}

    def kinds(self):
        """(apiVersion, kind, name) of every object, in apply order."""
        aws, workers = self.infrastructure == "aws", self.workers
        items = []
        if self.creds_given:
            items.append(("v1", "Secret", self.secret))
        if aws:
            items.append((AWS_API_VERSION, "AWSMachineTemplate", self.cluster))
            if workers:
                items.append((AWS_API_VERSION, "AWSMachineTemplate", self.workers_name))
            items.append((AWS_API_VERSION, "AWSCluster", self.cluster))
        items.append((self.k0s_api, "K0sControlPlane", self.cluster))
        if workers:
            items.append((self.bootstrap_api, "K0sWorkerConfigTemplate", self.workers_name))
            items.append((self.capi_api, "MachineDeployment", self.workers_name))
        items.append((self.capi_api, "Cluster", self.cluster))
        return items


def head(api_version, kind, name, namespace):
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": namespace}}


def object_names(settings):
    """apiVersion, kind and metadata (name, namespace) of each object in apply order: all that deletion needs.

    A registry Secret with a hashed name is left out: its name depends on its content; deletion finds it by its
    labels (registry_secret_selector)."""
    names = Names(settings)
    return [head(api, kind, name, names.namespace) for api, kind, name in names.kinds()
            if not (kind == "Secret" and names.secret_hashed)]


def file_name(obj):
    """``NN-kind-name.yaml`` (NN orders the files as the objects are applied)."""
    return "%s-%s-%s.yaml" % (_PREFIX[obj["kind"]], obj["kind"].lower(), obj["metadata"]["name"])
