# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
#
# This plugin util is PRIVATE to the collection. It can change at any time without notice.
"""The Cluster API objects of the ``control_plane`` role, built as data from the role's variables: where the
``K0sControlPlane`` (and the ``Cluster``, ``MachineDeployment``, ``K0sWorkerConfigTemplate``, AWS objects and the
registry ``Secret``) is built.

``check_static(settings)`` checks every input that needs nothing resolved (``checked_object_names`` also names
the objects, for deletion); ``build_objects(settings, ...)`` returns the objects in apply order (Secret,
AWSMachineTemplate(s), AWSCluster, K0sControlPlane, K0sWorkerConfigTemplate, MachineDeployment, Cluster).
``settings`` maps the role's variable names (``control_plane_*``) to their values. The rules come from their own
homes: names (``_capi_names``), node content (``_node_bootstrap``, ``_node_content_rules``), upgrades
(``_upgrade_policy``). Errors are ``CapiError`` whose message names the variable.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json

from ansible_collections.k0smotron.oci.plugins.module_utils._docker_config import DockerConfigError, check_fetcher_auth
from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_images import (
    CONTAINERD_SECRET_KEY,
    check_images,
    containerd_secret_text,
    images_mode,
    k0s_config,
    runs_worker,
)
from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_names import (
    AWS_API_VERSION,
    CLUSTER_LABEL,
    MANAGED_BY_LABEL,
    Names,
    head,
    object_names,
)
from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_settings import (
    CapiError,
    get_bool,
    get_choice,
    get_dict,
    get_int,
    get_list,
    get_str,
    get_value,
)
from ansible_collections.k0smotron.oci.plugins.plugin_utils._node_bootstrap import (
    DOCKER_CONFIG_KEY,
    check_node_docker_config,
    check_node_settings,
    node_content,
    node_spec,
    oras_registry_source,
)
from ansible_collections.k0smotron.oci.plugins.plugin_utils._node_content_rules import check_no_jinja, check_no_null
from ansible_collections.k0smotron.oci.plugins.plugin_utils._upgrade_policy import (
    UPDATE_STRATEGIES,
    check_update_strategy,
)

IGNITION_VARIANTS = ("fcos", "flatcar", "openshift", "r4e", "fiot")


def check_static(settings):
    """Check every input that needs nothing resolved (names, references, node content rules, ORAS settings)."""
    names = Names(settings)
    get_choice(settings, "control_plane_provisioner", ("cloud-init", "ignition"))
    get_choice(settings, "control_plane_ignition_variant", IGNITION_VARIANTS)
    get_int(settings, "control_plane_replicas")
    get_int(settings, "control_plane_workers_replicas")
    get_choice(settings, "control_plane_update_strategy", UPDATE_STRATEGIES)
    check_node_settings(settings)
    check_images(settings)
    for name in ("control_plane_extra_files", "control_plane_k0s_config", "control_plane_cluster_network",
                 "control_plane_aws_control_plane_load_balancer",
                 "control_plane_aws_additional_control_plane_ingress_rules", "control_plane_args",
                 "control_plane_workers_args", "control_plane_pre_commands", "control_plane_post_commands"):
        check_no_null(get_value(settings, name), name)
    for name in ("control_plane_extra_files", "control_plane_k0s_config", "control_plane_args",
                 "control_plane_workers_args", "control_plane_pre_commands", "control_plane_post_commands"):
        check_no_jinja(get_value(settings, name), name)
    return names


def checked_object_names(settings):
    """``object_names`` after ``check_static``: what deletion needs, from inputs checked as a build checks them."""
    check_static(settings)
    return object_names(settings)


def _ref(ref, style):
    """A Cluster API object reference: v1beta2 {apiGroup, kind, name}, v1beta1 {apiVersion, kind, name}."""
    if style == "v1beta2":
        return {"apiGroup": ref["apiVersion"].split("/")[0], "kind": ref["kind"], "name": ref["name"]}
    return {"apiVersion": ref["apiVersion"], "kind": ref["kind"], "name": ref["name"]}


def _secret(names, dockerconfigjson, containerd_text):
    obj = head("v1", "Secret", names.secret, names.namespace)
    obj["metadata"]["labels"] = {CLUSTER_LABEL: names.cluster, MANAGED_BY_LABEL[0]: MANAGED_BY_LABEL[1]}
    obj["type"] = "kubernetes.io/dockerconfigjson"
    obj["data"] = {DOCKER_CONFIG_KEY: base64.b64encode(dockerconfigjson.encode("utf-8")).decode("ascii")}
    if containerd_text:
        obj["data"][CONTAINERD_SECRET_KEY] = base64.b64encode(containerd_text.encode("utf-8")).decode("ascii")
    return obj


def _aws_machine_template(settings, names, name, instance_type, ami_id):
    spec = {}
    if ami_id:
        spec["ami"] = {"id": ami_id}
    spec["instanceType"] = instance_type
    spec["publicIP"] = get_bool(settings, "control_plane_aws_public_ip")
    profile = get_str(settings, "control_plane_aws_iam_instance_profile")
    if profile:
        spec["iamInstanceProfile"] = profile
    if get_str(settings, "control_plane_provisioner") == "ignition":
        spec["ignition"] = {"storageType": get_str(settings, "control_plane_aws_ignition_storage_type")}
    else:
        spec["cloudInit"] = {"insecureSkipSecretsManager": get_bool(
            settings, "control_plane_aws_insecure_skip_secrets_manager")}
    spec["uncompressedUserData"] = get_bool(settings, "control_plane_aws_uncompressed_user_data")
    ssh_key = get_str(settings, "control_plane_aws_ssh_key_name")
    if ssh_key:
        spec["sshKeyName"] = ssh_key
    obj = head(AWS_API_VERSION, "AWSMachineTemplate", name, names.namespace)
    obj["spec"] = {"template": {"spec": spec}}
    return obj


def _aws_cluster(settings, names):
    spec = {"region": get_str(settings, "control_plane_aws_region")}
    ssh_key = get_str(settings, "control_plane_aws_ssh_key_name")
    if ssh_key:
        spec["sshKeyName"] = ssh_key
    load_balancer = get_dict(settings, "control_plane_aws_control_plane_load_balancer")
    if load_balancer:
        spec["controlPlaneLoadBalancer"] = load_balancer
    rules = get_list(settings, "control_plane_aws_additional_control_plane_ingress_rules", dict)
    if rules:
        spec["network"] = {"additionalControlPlaneIngressRules": rules}
    obj = head(AWS_API_VERSION, "AWSCluster", names.cluster, names.namespace)
    obj["spec"] = spec
    return obj


def _k0s_control_plane(settings, names, node):
    config = k0s_config(settings)
    config_spec = node_spec(settings, names, args=get_list(settings, "control_plane_args", str), **node)
    if config:
        config_spec["k0s"] = config
    machine_ref = dict(names.machine_ref)
    machine_ref["namespace"] = names.namespace
    obj = head(names.k0s_api, "K0sControlPlane", names.cluster, names.namespace)
    obj["spec"] = {"replicas": get_int(settings, "control_plane_replicas"),
                   "version": get_str(settings, "control_plane_k0s_version"),
                   "updateStrategy": get_str(settings, "control_plane_update_strategy"),
                   "k0sConfigSpec": config_spec,
                   "machineTemplate": {"infrastructureRef": machine_ref}}
    return obj


def _worker_config_template(settings, names, node):
    spec = {"version": get_str(settings, "control_plane_k0s_version")}
    spec.update(node_spec(settings, names, args=get_list(settings, "control_plane_workers_args", str), **node))
    obj = head(names.bootstrap_api, "K0sWorkerConfigTemplate", names.workers_name, names.namespace)
    obj["spec"] = {"template": {"spec": spec}}
    return obj


def _machine_deployment(settings, names):
    labels = {"cluster.x-k8s.io/cluster-name": names.cluster, "cluster.x-k8s.io/deployment-name": names.workers_name}
    config_ref = {"apiVersion": names.bootstrap_api, "kind": "K0sWorkerConfigTemplate", "name": names.workers_name}
    obj = head(names.capi_api, "MachineDeployment", names.workers_name, names.namespace)
    obj["spec"] = {
        "clusterName": names.cluster,
        "replicas": get_int(settings, "control_plane_workers_replicas"),
        "selector": {"matchLabels": dict(labels)},
        "template": {
            "metadata": {"labels": dict(labels)},
            "spec": {"clusterName": names.cluster,
                     "version": get_str(settings, "control_plane_k0s_version"),
                     "bootstrap": {"configRef": _ref(config_ref, names.capi_version)},
                     "infrastructureRef": _ref(names.workers_machine_ref, names.capi_version)}}}
    return obj


def _cluster(settings, names):
    spec = {}
    network = get_dict(settings, "control_plane_cluster_network")
    if network:
        spec["clusterNetwork"] = network
    spec["controlPlaneRef"] = _ref({"apiVersion": names.k0s_api, "kind": "K0sControlPlane", "name": names.cluster},
                                   names.capi_version)
    spec["infrastructureRef"] = _ref(names.cluster_infra_ref, names.capi_version)
    obj = head(names.capi_api, "Cluster", names.cluster, names.namespace)
    obj["spec"] = spec
    return obj


def build_objects(settings, dockerconfigjson=None, oras_release_checksums=None):
    """The objects in apply order.

    ``settings``: the role's variables; ``control_plane_download_url`` must be the (resolved) oci:// URL.
    ``dockerconfigjson``: JSON text of the nodes' docker config; with credentials given, the Secret is rendered
    from it, and left out without it (so that the other objects and any error can be shown outside no_log).
    ``oras_release_checksums``: {asset name: sha256} of the ORAS release (parsed checksums file), used when
    ``control_plane_oras_checksums`` is empty."""
    names = check_static(settings)
    containerd_text = None
    if names.creds_given and dockerconfigjson is not None:
        if not isinstance(dockerconfigjson, str) or not dockerconfigjson:
            raise CapiError("the docker config for the registry credentials Secret is empty")
        check_node_docker_config(dockerconfigjson)
        source = oras_registry_source(settings) if get_bool(settings, "control_plane_oras_install") else None
        if source:
            try:
                check_fetcher_auth(json.loads(dockerconfigjson), source["registry"], "control_plane_oras_source")
            except DockerConfigError as e:
                raise CapiError(str(e))
        containerd_text = containerd_secret_text(settings, json.loads(dockerconfigjson))
        # The Secret's name hashes all it holds: a new containerd drop-in (another k0s version's form) is a new one.
        names = Names(settings, dockerconfigjson + (containerd_text or ""))
    download_url = get_str(settings, "control_plane_download_url")
    if not download_url:
        raise CapiError("control_plane_download_url is empty: set it (oci://REGISTRY/REPOSITORY@sha256:<blob digest>) "
                        "or control_plane_artifact_reference")
    if download_url != download_url.strip():
        # Rendered as it is: a trailing newline splits Ignition's ExecStart line, a leading space makes k0smotron
        # read the URL as plain HTTP.
        raise CapiError("control_plane_download_url %r has leading or trailing whitespace (a YAML '|' block adds a "
                        "newline): write it without, e.g. as a quoted string or with '>-'" % download_url)
    check_update_strategy(settings, download_url, workers=names.workers, bundle=images_mode(settings) == "bundle")
    controllers_run_worker = runs_worker(get_list(settings, "control_plane_args", str))
    files, pre = node_content(settings, names, oras_release_checksums, download_url, controllers_run_worker)
    node = {"download_url": download_url, "files": files, "pre": pre}
    if controllers_run_worker:
        worker_node = node
    else:
        files, pre = node_content(settings, names, oras_release_checksums, download_url)
        worker_node = {"download_url": download_url, "files": files, "pre": pre}
    aws = names.infrastructure == "aws"
    objects = []
    if names.creds_given and dockerconfigjson is not None:
        objects.append(_secret(names, dockerconfigjson, containerd_text))
    if aws:
        instance_type = get_str(settings, "control_plane_aws_instance_type")
        ami_id = get_str(settings, "control_plane_aws_ami_id")
        objects.append(_aws_machine_template(settings, names, names.cluster, instance_type, ami_id))
        if names.workers:
            objects.append(_aws_machine_template(
                settings, names, names.workers_name,
                get_str(settings, "control_plane_workers_aws_instance_type") or instance_type,
                get_str(settings, "control_plane_workers_aws_ami_id") or ami_id))
        objects.append(_aws_cluster(settings, names))
    objects.append(_k0s_control_plane(settings, names, node))
    if names.workers:
        objects.append(_worker_config_template(settings, names, worker_node))
        objects.append(_machine_deployment(settings, names))
    objects.append(_cluster(settings, names))
    for obj in objects:
        check_no_null(obj, "%s %s" % (obj["kind"], obj["metadata"]["name"]))
    return objects
