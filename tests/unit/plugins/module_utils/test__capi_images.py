# -*- coding: utf-8 -*-
"""control_plane_images (issue 21): k0s' system images from the registry, for the controllers and the workers."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json

import pytest

from ansible_collections.k0smotron.oci.plugins.plugin_utils import _containerd as containerd
from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_images import CONTAINERD_SECRET_KEY, k0s_config
from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_objects import build_objects, check_static
from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_schema import validate_objects
from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_settings import CapiError
from ansible_collections.k0smotron.oci.tests.unit.plugins.module_utils.test__capi import (
    BUNDLE,
    CREDS,
    DOCKER_CONFIG,
    VARIANTS,
    defaults,
)

BUNDLE_SCRIPT = "/usr/local/lib/k0smotron-oci/fetch-images-bundle.sh"
MIRROR = {"control_plane_images": "mirror", "control_plane_images_repository": "registry.example.com"}
BUNDLED = {"control_plane_images": "bundle", "control_plane_images_bundle": BUNDLE}
# The password of DOCKER_CONFIG's auth entry (user:not-a-secret) and that entry itself.
PASSWORD = "not-a-secret"
AUTH = json.loads(DOCKER_CONFIG)["auths"]["registry.example.com"]["auth"]


def kind(objects, name):
    return [o for o in objects if o["kind"] == name][0]


def node_specs(objects):
    """{"controllers": bootstrap fields, "workers": ...} of the built objects."""
    out = {"controllers": kind(objects, "K0sControlPlane")["spec"]["k0sConfigSpec"]}
    workers = [o for o in objects if o["kind"] == "K0sWorkerConfigTemplate"]
    if workers:
        out["workers"] = workers[0]["spec"]["template"]["spec"]
    return out


def paths(spec):
    return [f["path"] for f in spec.get("files", [])]


def pre(spec):
    return spec.get("preK0sCommands", spec.get("preStartCommands", []))


@pytest.mark.parametrize("variant", sorted(v for v in VARIANTS if "images" in v))
def test_images_variants_pass_the_shipped_crd_schemas(variant):
    objects = build_objects(defaults(**VARIANTS[variant]), dockerconfigjson=DOCKER_CONFIG)
    assert validate_objects(objects) == []


# --------------------------------------------------------------------------- the k0s config

def test_none_leaves_the_users_config_alone():
    settings = defaults()
    assert k0s_config(settings) == settings["control_plane_k0s_config"]
    assert k0s_config(defaults(control_plane_k0s_config={})) == {}


@pytest.mark.parametrize("mode, key, value", [("bundle", "default_pull_policy", "Never"),
                                              ("mirror", "repository", "registry.example.com")])
def test_the_users_config_is_merged(mode, key, value):
    user = {"apiVersion": "k0s.k0sproject.io/v1beta1", "kind": "ClusterConfig", "metadata": {"name": "k0s"},
            "spec": {"network": {"provider": "calico"}, "images": {"konnectivity": {"version": "v0.33.0"}}}}
    settings = defaults(control_plane_k0s_config=user, **(BUNDLED if mode == "bundle" else MIRROR))
    merged = k0s_config(settings)
    assert merged["spec"]["network"] == {"provider": "calico"}
    assert merged["spec"]["images"] == {"konnectivity": {"version": "v0.33.0"}, key: value}
    assert merged["spec"]["telemetry"] == {"enabled": False}
    assert "images" not in user["spec"] or key not in user["spec"]["images"]  # the input is not changed
    kcp = kind(build_objects(settings), "K0sControlPlane")
    assert kcp["spec"]["k0sConfigSpec"]["k0s"] == merged


def test_an_empty_config_gets_a_cluster_config():
    merged = k0s_config(defaults(control_plane_k0s_config={}, **MIRROR))
    assert merged == {"apiVersion": "k0s.k0sproject.io/v1beta1", "kind": "ClusterConfig", "metadata": {"name": "k0s"},
                      "spec": {"images": {"repository": "registry.example.com"}, "telemetry": {"enabled": False}}}


def test_telemetry_the_user_set_is_kept():
    user = {"spec": {"telemetry": {"enabled": True}}}
    assert k0s_config(defaults(control_plane_k0s_config=user, **MIRROR))["spec"]["telemetry"] == {"enabled": True}


@pytest.mark.parametrize("mode, images", [
    (MIRROR, {"repository": "other.example.com"}),
    (BUNDLED, {"default_pull_policy": "IfNotPresent"}),
])
def test_a_conflict_names_the_users_config(mode, images):
    settings = defaults(control_plane_k0s_config={"spec": {"images": images}}, **mode)
    with pytest.raises(CapiError, match=r"control_plane_k0s_config sets spec\.images\.") as e:
        check_static(settings)
    assert "control_plane_images: %s" % mode["control_plane_images"] in str(e.value)


def test_the_same_value_is_no_conflict():
    settings = defaults(control_plane_k0s_config={"spec": {"images": {"repository": "registry.example.com"}}}, **MIRROR)
    assert k0s_config(settings)["spec"]["images"] == {"repository": "registry.example.com"}


# --------------------------------------------------------------------------- sub-path and input checks

@pytest.mark.parametrize("version, ok", [("v1.34.0+k0s.0", False), ("v1.33.4+k0s.0", False),
                                         ("v1.34.1+k0s.0", True), ("v1.36.0+k0s.0", True)])
def test_a_sub_path_needs_k0s_1_34_1(version, ok):
    settings = defaults(control_plane_k0s_version=version, control_plane_images="mirror",
                        control_plane_images_repository="registry.example.com/mirror")
    if ok:
        check_static(settings)
        return
    with pytest.raises(CapiError) as e:
        check_static(settings)
    msg = str(e.value)
    assert "control_plane_images_repository" in msg and "control_plane_k0s_version" in msg and "v1.34.1" in msg


def test_no_sub_path_works_with_older_k0s():
    check_static(defaults(control_plane_k0s_version="v1.30.1+k0s.0", **MIRROR))


@pytest.mark.parametrize("overrides, needle", [
    (dict(control_plane_images="bundle"), "control_plane_images_bundle must map k0s arches"),
    (dict(control_plane_images="bundle", control_plane_images_bundle={"amd64": "registry.example.com/a@sha256:" + "1" * 64}),
     "control_plane_images_bundle"),
    (dict(control_plane_images="bundle", control_plane_images_bundle={"x86": BUNDLE["amd64"]}), "'x86'"),
    (dict(control_plane_images="bundle", control_plane_images_bundle={"amd64": "oci://registry.example.com/a:v1"}),
     "control_plane_images_bundle"),
    (dict(control_plane_images="mirror"), "control_plane_images_repository must be REGISTRY[/PREFIX]"),
    (dict(control_plane_images="mirror", control_plane_images_repository="https://registry.example.com"),
     "control_plane_images_repository must be REGISTRY[/PREFIX]"),
    (dict(control_plane_images="mirror", control_plane_images_repository="registry.example.com/Up"),
     "control_plane_images_repository must be REGISTRY[/PREFIX]"),
    (dict(control_plane_images="mirror", control_plane_images_repository="registry.example.com/"),
     "control_plane_images_repository must be REGISTRY[/PREFIX]"),
    (dict(control_plane_images="all"), "control_plane_images must be one of none, bundle, mirror"),
])
def test_bad_images_inputs_are_refused(overrides, needle):
    with pytest.raises(CapiError) as e:
        check_static(defaults(**overrides))
    assert needle in str(e.value)


# --------------------------------------------------------------------------- what the nodes get

def test_bundle_only_on_nodes_that_run_a_worker():
    with_worker = node_specs(build_objects(defaults(control_plane_workers_enabled=True, **BUNDLED)))
    assert BUNDLE_SCRIPT in paths(with_worker["controllers"]) and BUNDLE_SCRIPT in paths(with_worker["workers"])
    assert pre(with_worker["workers"])[-1] == "sh " + BUNDLE_SCRIPT
    without = node_specs(build_objects(defaults(control_plane_workers_enabled=True, control_plane_args=[], **BUNDLED)))
    assert BUNDLE_SCRIPT not in paths(without["controllers"])
    assert "sh " + BUNDLE_SCRIPT not in pre(without["controllers"])
    assert BUNDLE_SCRIPT in paths(without["workers"])


def test_bundle_script_values():
    spec = node_specs(build_objects(defaults(control_plane_registry_node_plain_http=True, **BUNDLED)))["controllers"]
    script = [f for f in spec["files"] if f["path"] == BUNDLE_SCRIPT][0]
    assert script["permissions"] == "0755"
    text = script["content"]
    assert ("bundles='amd64=registry.example.com/k0s/images@sha256:%s arm64=registry.example.com/k0s/images@sha256:%s'"
            % ("c1" * 32, "c2" * 32)) in text
    assert "images_dir=/var/lib/k0s/images\n" in text and "plain_http_registry=registry.example.com\n" in text
    assert "oci_blob_fetch()" in text or "oci_blob_fetch ()" in text


def test_mirror_credentials_only_through_the_secret():
    objects = build_objects(defaults(control_plane_workers_enabled=True, **dict(CREDS, **MIRROR)),
                            dockerconfigjson=DOCKER_CONFIG)
    secret = kind(objects, "Secret")
    drop_in = base64.b64decode(secret["data"][CONTAINERD_SECRET_KEY]).decode()
    assert drop_in == containerd.drop_in("v1.34.1+k0s.0", "registry.example.com", "user", PASSWORD)
    for spec in node_specs(objects).values():
        files = dict((f["path"], f) for f in spec["files"])
        entry = files[containerd.DROP_IN_FILE]
        assert entry["permissions"] == "0600" and "content" not in entry
        assert entry["contentFrom"] == {"secretRef": {"name": secret["metadata"]["name"], "key": CONTAINERD_SECRET_KEY}}
        hosts = files[containerd.CERTS_DIR + "/registry.example.com/hosts.toml"]
        assert hosts["permissions"] == "0600"
        assert hosts["content"] == containerd.hosts_toml("registry.example.com")
    for obj in objects:
        if obj["kind"] != "Secret":
            text = json.dumps(obj)
            assert AUTH not in text and PASSWORD not in text


def test_mirror_without_credentials_is_inline_without_auth():
    spec = node_specs(build_objects(defaults(**MIRROR)))["controllers"]
    entry = [f for f in spec["files"] if f["path"] == containerd.DROP_IN_FILE][0]
    assert entry["content"] == containerd.drop_in("v1.34.1+k0s.0", "registry.example.com")
    assert ".auth]" not in entry["content"] and entry["permissions"] == "0600"


def test_mirror_drop_in_follows_the_k0s_version_and_renames_the_secret():
    settings = dict(CREDS, **MIRROR)
    old = build_objects(defaults(**settings), dockerconfigjson=DOCKER_CONFIG)
    new = build_objects(defaults(control_plane_k0s_version="v1.36.0+k0s.0", **settings), dockerconfigjson=DOCKER_CONFIG)
    text = base64.b64decode(kind(new, "Secret")["data"][CONTAINERD_SECRET_KEY]).decode()
    assert "version = 3" in text and 'plugins."io.containerd.cri.v1.images".registry' in text
    assert kind(old, "Secret")["metadata"]["name"] != kind(new, "Secret")["metadata"]["name"]


def test_mirror_needs_user_and_password_not_a_token():
    token_only = json.dumps({"auths": {"registry.example.com": {"identitytoken": "tok-9f3e1"}}})
    with pytest.raises(CapiError) as e:
        build_objects(defaults(**dict(CREDS, **MIRROR)), dockerconfigjson=token_only)
    assert "control_plane_images_repository" in str(e.value) and "tok-9f3e1" not in str(e.value)


def test_mirror_of_another_registry_without_its_credentials():
    settings = dict(CREDS, control_plane_images="mirror", control_plane_images_repository="mirror.example.com:5000/k")
    objects = build_objects(defaults(**settings), dockerconfigjson=DOCKER_CONFIG)
    drop_in = base64.b64decode(kind(objects, "Secret")["data"][CONTAINERD_SECRET_KEY]).decode()
    assert drop_in == containerd.drop_in("v1.34.1+k0s.0", "mirror.example.com:5000")
    paths_ = paths(node_specs(objects)["controllers"])
    assert containerd.CERTS_DIR + "/mirror.example.com:5000/hosts.toml" in paths_


# --------------------------------------------------------------------------- InPlace: workers and bundles

def test_inplace_names_the_workers():
    with pytest.raises(CapiError) as e:
        build_objects(defaults(control_plane_update_strategy="InPlace", control_plane_workers_enabled=True))
    assert "K0sWorkerConfigTemplate" in str(e.value) and "autopilot" in str(e.value)


def test_inplace_with_bundle_refused_even_with_an_http_url():
    settings = defaults(control_plane_update_strategy="InPlace", control_plane_workers_enabled=True,
                        control_plane_download_url="https://get.example.com/k0s", control_plane_registry_host="",
                        **BUNDLED)
    with pytest.raises(CapiError, match="control_plane_images: bundle are oci:// blobs"):
        build_objects(settings)
    settings["control_plane_allow_inplace_oci"] = True
    assert kind(build_objects(settings), "K0sControlPlane")["spec"]["updateStrategy"] == "InPlace"


def test_inplace_with_mirror_and_an_http_url_renders():
    settings = defaults(control_plane_update_strategy="InPlace", control_plane_workers_enabled=True,
                        control_plane_download_url="https://get.example.com/k0s", **MIRROR)
    assert kind(build_objects(settings), "K0sControlPlane")["spec"]["updateStrategy"] == "InPlace"
