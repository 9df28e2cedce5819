# -*- coding: utf-8 -*-
"""Day-2 rules of the control_plane objects (issue 15): upgrade-safe rendering, credential rotation, nodes that
need only the registry."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import json
import re

import pytest

from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_names import object_names, registry_secret_selector, secret_hash
from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_objects import build_objects, check_static
from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_settings import CapiError
from ansible_collections.k0smotron.oci.plugins.plugin_utils._upgrade_policy import artifact_version_check
from ansible_collections.k0smotron.oci.tests.unit.plugins.module_utils.test__capi import CREDS, defaults

VERSION = "v1.34.1+k0s.0"


# --------------------------------------------------------------------------- upgrades: InPlace with oci://

@pytest.mark.parametrize("strategy", ["Recreate", "RecreateDeleteFirst"])
def test_recreate_strategies_render(strategy):
    objs = build_objects(defaults(control_plane_update_strategy=strategy))
    kcp = [o for o in objs if o["kind"] == "K0sControlPlane"][0]
    assert kcp["spec"]["updateStrategy"] == strategy


def test_inplace_with_oci_refused_with_reason():
    with pytest.raises(CapiError) as e:
        build_objects(defaults(control_plane_update_strategy="InPlace"))
    msg = str(e.value)
    assert "autopilot" in msg and "HTTP(S)" in msg
    assert "Recreate" in msg and "RecreateDeleteFirst" in msg and "control_plane_allow_inplace_oci" in msg


def test_inplace_allowed_by_override():
    objs = build_objects(defaults(control_plane_update_strategy="InPlace", control_plane_allow_inplace_oci=True))
    assert [o for o in objs if o["kind"] == "K0sControlPlane"][0]["spec"]["updateStrategy"] == "InPlace"


def test_unknown_strategy_refused():
    with pytest.raises(CapiError, match="control_plane_update_strategy must be one of InPlace, Recreate, "
                                        "RecreateDeleteFirst"):
        build_objects(defaults(control_plane_update_strategy="Rolling"))


# --------------------------------------------------------------------------- upgrades: the artifact's k0s version

@pytest.mark.parametrize("annotations, tag, status", [
    ({"org.opencontainers.image.version": VERSION}, None, "ok"),
    ({"org.opencontainers.image.version": "v1.34.1-k0s.0"}, None, "ok"),     # as a tag would spell it
    ({"org.opencontainers.image.version": "v1.33.4+k0s.0"}, "v1.34.1-k0s.0", "mismatch"),  # annotation wins
    ({}, "v1.34.1-k0s.0", "ok"),
    (None, "v1.34.2-k0s.0", "mismatch"),
    ({}, "latest", "unknown"),
    ({}, None, "unknown"),
    ({"org.opencontainers.image.created": "2025-01-01T00:00:00Z"}, "", "unknown"),
])
def test_artifact_version(annotations, tag, status):
    got, msg = artifact_version_check(VERSION, annotations, tag, "reg.example.com/k0s:x")
    assert got == status, msg
    assert "reg.example.com/k0s:x" in msg
    if status == "mismatch":
        assert "control_plane_k0s_version is %s" % VERSION in msg


def test_artifact_version_needs_a_version():
    with pytest.raises(CapiError, match="control_plane_k0s_version"):
        artifact_version_check("", {}, "v1.34.1-k0s.0")


# --------------------------------------------------------------------------- credential rotation

def _config(password):
    auth = base64.b64encode(("user:%s" % password).encode()).decode()
    return json.dumps({"auths": {"registry.example.com": {"auth": auth}}}, sort_keys=True)


def _by_kind(objs):
    return dict((o["kind"], o) for o in objs)


def test_new_password_new_secret_and_changed_control_plane():
    settings = defaults(**CREDS)
    one = _by_kind(build_objects(settings, dockerconfigjson=_config("first-S3cret")))
    same = _by_kind(build_objects(settings, dockerconfigjson=_config("first-S3cret")))
    two = _by_kind(build_objects(settings, dockerconfigjson=_config("second-S3cret")))
    assert one == same
    name1, name2 = one["Secret"]["metadata"]["name"], two["Secret"]["metadata"]["name"]
    assert name1 == "aws-test-registry-credentials-" + secret_hash(_config("first-S3cret"))
    assert re.fullmatch(r"aws-test-registry-credentials-[0-9a-f]{8}", name2) and name1 != name2
    # The K0sControlPlane references the new Secret: a changed object, so k0smotron rolls the machines out.
    ref = one["K0sControlPlane"]["spec"]["k0sConfigSpec"]["files"][1]["contentFrom"]["secretRef"]
    assert ref == {"name": name1, "key": ".dockerconfigjson"}
    assert two["K0sControlPlane"] != one["K0sControlPlane"]
    assert two["K0sControlPlane"]["spec"]["k0sConfigSpec"]["files"][1]["contentFrom"]["secretRef"]["name"] == name2
    # Nothing but the hash prefix: neither the password nor its base64 is in the name.
    for password in ("first-S3cret", "second-S3cret"):
        assert password not in name1 + name2
    assert secret_hash(_config("x")) == hashlib.sha256(_config("x").encode()).hexdigest()[:8]


def test_given_secret_name_gets_the_suffix_unless_opted_out():
    cfg = _config("pw")
    objs = _by_kind(build_objects(defaults(control_plane_registry_secret_name="my-creds", **CREDS),
                                  dockerconfigjson=cfg))
    assert objs["Secret"]["metadata"]["name"] == "my-creds-" + secret_hash(cfg)
    objs = _by_kind(build_objects(defaults(control_plane_registry_secret_name="my-creds",
                                           control_plane_registry_secret_hash_suffix=False, **CREDS),
                                  dockerconfigjson=cfg))
    assert objs["Secret"]["metadata"]["name"] == "my-creds"
    # A Secret the user manages (no credentials given): referenced as named, never suffixed.
    objs = _by_kind(build_objects(defaults(control_plane_registry_secret_name="their-creds")))
    assert "Secret" not in objs
    assert objs["K0sControlPlane"]["spec"]["k0sConfigSpec"]["files"][1]["contentFrom"]["secretRef"]["name"] == \
        "their-creds"


def test_secret_labels_and_selector():
    settings = defaults(**CREDS)
    secret = build_objects(settings, dockerconfigjson=_config("pw"))[0]
    selector = registry_secret_selector(settings)
    assert selector == {"apiVersion": "v1", "kind": "Secret", "metadata": {"namespace": "default"},
                        "label_selectors": ["app.kubernetes.io/managed-by=k0smotron.oci",
                                            "cluster.x-k8s.io/cluster-name=aws-test"]}
    for item in selector["label_selectors"]:
        key, value = item.split("=")
        assert secret["metadata"]["labels"][key] == value
    # The hashed Secret is not among the names deleted one by one (its name depends on the content).
    kinds = [o["kind"] for o in object_names(settings)]
    assert kinds == ["AWSMachineTemplate", "AWSCluster", "K0sControlPlane", "Cluster"]
    assert object_names(defaults(control_plane_registry_secret_hash_suffix=False, **CREDS))[0]["metadata"]["name"] == \
        "aws-test-registry-credentials"


def test_secret_name_too_long_for_the_suffix():
    with pytest.raises(CapiError, match="too long for the '-<hash>' suffix"):
        check_static(defaults(control_plane_registry_secret_name="a" * 250, **CREDS))
    check_static(defaults(control_plane_registry_secret_name="a" * 250, control_plane_registry_secret_hash_suffix=False,
                          **CREDS))


# --------------------------------------------------------------------------- the nodes' config.json

@pytest.mark.parametrize("config, needle", [
    ({"auths": {"registry.example.com": {"auth": "dTpw"}}, "credsStore": "desktop"}, "holds credsStore"),
    ({"auths": {}, "credHelpers": {"registry.example.com": "ecr-login"}}, "holds credHelpers"),
    ({"credsStore": "desktop"}, "not a JSON object with 'auths'"),
    ([], "not a JSON object with 'auths'"),
])
def test_node_config_never_carries_credential_helpers(config, needle):
    with pytest.raises(CapiError, match=needle) as e:
        build_objects(defaults(**CREDS), dockerconfigjson=json.dumps(config))
    assert "dTpw" not in str(e.value)
    with pytest.raises(CapiError, match="not a JSON object"):
        build_objects(defaults(**CREDS), dockerconfigjson="{not json dTpw")


@pytest.mark.parametrize("api_version, key", [("v1beta1", "postStartCommands"), ("v1beta2", "postK0sCommands")])
def test_config_remove_post_command(api_version, key):
    settings = defaults(control_plane_api_version=api_version, control_plane_registry_config_remove=True,
                        control_plane_post_commands=["echo done"], control_plane_workers_enabled=True, **CREDS)
    objs = _by_kind(build_objects(settings, dockerconfigjson=_config("pw")))
    for spec in (objs["K0sControlPlane"]["spec"]["k0sConfigSpec"],
                 objs["K0sWorkerConfigTemplate"]["spec"]["template"]["spec"]):
        assert spec[key] == ["rm -f /root/.docker/config.json", "echo done"]
        assert [f["path"] for f in spec["files"]][1] == "/root/.docker/config.json"
    # Off by default; without a registry Secret there is nothing to remove.
    spec = _by_kind(build_objects(defaults(control_plane_api_version=api_version, **CREDS)))["K0sControlPlane"]
    assert key not in spec["spec"]["k0sConfigSpec"]
    spec = _by_kind(build_objects(defaults(control_plane_api_version=api_version,
                                           control_plane_registry_config_remove=True)))["K0sControlPlane"]
    assert key not in spec["spec"]["k0sConfigSpec"]


# --------------------------------------------------------------------------- private CA / plain HTTP on the nodes

PEM = "-----BEGIN CERTIFICATE-----\nTUlJQ0FE\nQUFB\n-----END CERTIFICATE-----\n"


def test_registry_ca_file_and_wrapper_flags():
    settings = defaults(control_plane_registry_ca=PEM + PEM.rstrip("\n"), **CREDS)
    kcp = _by_kind(build_objects(settings, dockerconfigjson=_config("pw")))["K0sControlPlane"]
    files = kcp["spec"]["k0sConfigSpec"]["files"]
    assert files[0] == {"path": "/usr/local/lib/k0smotron-oci/registry-ca.pem", "permissions": "0644",
                        "content": PEM + PEM}
    script = files[1]["content"]
    assert "\nregistry=registry.example.com\nca_file=/usr/local/lib/k0smotron-oci/registry-ca.pem\nplain_http=0\n" \
        in script
    # control_plane_registry_host names the registry when set; plain HTTP alone.
    settings = defaults(control_plane_registry_host="mirror.example.com:5000",
                        control_plane_registry_node_plain_http=True)
    script = _by_kind(build_objects(settings))["K0sControlPlane"]["spec"]["k0sConfigSpec"]["files"][0]["content"]
    assert "\nregistry=mirror.example.com:5000\nca_file=''\nplain_http=1\n" in script
    # Neither: the wrapper is the plain HOME wrapper.
    script = _by_kind(build_objects(defaults()))["K0sControlPlane"]["spec"]["k0sConfigSpec"]["files"][0]["content"]
    assert "\nregistry=''\nca_file=''\nplain_http=0\n" in script


@pytest.mark.parametrize("pem", [
    "/etc/ssl/my-ca.pem",
    "-----BEGIN PRIVATE KEY-----\nTUlJ\n-----END PRIVATE KEY-----\n",
    "-----BEGIN CERTIFICATE-----\nTUlJ\n",
    "-----BEGIN CERTIFICATE-----\nTU{{lJ\n-----END CERTIFICATE-----\n",
    PEM + "extra text\n",
])
def test_registry_ca_must_be_pem_certificates(pem):
    with pytest.raises(CapiError, match="control_plane_registry_ca must be PEM text"):
        check_static(defaults(control_plane_registry_ca=pem))


def test_node_tls_needs_the_oras_wrapper():
    for extra in ({"control_plane_registry_ca": PEM}, {"control_plane_registry_node_plain_http": True}):
        with pytest.raises(CapiError, match="need control_plane_oras_install: true"):
            check_static(defaults(control_plane_oras_install=False, **extra))
    # Preflight (names only) with an artifact reference still to resolve: no URL yet, no error.
    check_static(defaults(control_plane_download_url="", control_plane_registry_node_plain_http=True))


# --------------------------------------------------------------------------- ORAS from the registry

DIGESTS = {"amd64": "sha256:" + "a" * 64, "arm64": "sha256:" + "b" * 64}
PUBLISHED = dict((arch, {"file_name": "oras_1.3.0_linux_%s.tar.gz" % arch, "digest": d, "size": 1 + (arch == "arm64"),
                         "registry": "reg.example.com:5000", "repository": "k0smotron/oras",
                         "reference": "reg.example.com:5000/k0smotron/oras@" + d,
                         "download_url": "oci://reg.example.com:5000/k0smotron/oras@" + d})
                 for arch, d in DIGESTS.items())


def _script(**overrides):
    objs = _by_kind(build_objects(defaults(**overrides)))
    (script,) = [f["content"] for f in objs["K0sControlPlane"]["spec"]["k0sConfigSpec"]["files"]
                 if f["path"].endswith("/install-oras.sh")]
    return script


@pytest.mark.parametrize("artifact, sizes", [
    ({"repository": "reg.example.com:5000/k0smotron/oras", "digests": DIGESTS}, "''"),
    ({"repository": "reg.example.com:5000/k0smotron/oras", "digests": DIGESTS, "sizes": {"amd64": 7}}, "amd64=7"),
    (PUBLISHED, "'amd64=1\narm64=2'"),
])
def test_oras_registry_source(artifact, sizes):
    script = _script(control_plane_oras_source="registry", control_plane_oras_artifact=artifact,
                     control_plane_oras_checksums={}, control_plane_registry_ca=PEM)
    assert "oras_registry=reg.example.com:5000\noras_repository=k0smotron/oras\n" in script
    assert "\ndigests='amd64=sha256:%s\narm64=sha256:%s'\n" % ("a" * 64, "b" * 64) in script
    # The layer sizes bound the fetch (oras_publish_result gives them).
    assert "\nsizes=%s\n" % sizes in script
    assert "oci_blob_fetch() {" in script or "oci_blob_fetch()" in script
    assert "\nca_file=/usr/local/lib/k0smotron-oci/registry-ca.pem\n" in script
    assert "\nsource=registry\n" in script and "\nsums=" not in script
    # The release source is unchanged.
    assert "oci_blob_fetch() {" not in _script() and "\nsource=release\n" in _script()


@pytest.mark.parametrize("artifact, needle", [
    ({}, "control_plane_oras_artifact must be"),
    ({"repository": "no-registry", "digests": DIGESTS}, "control_plane_oras_artifact must be"),
    ({"repository": "reg.example.com/x", "digests": {"amd64": "sha256:abc"}}, "control_plane_oras_artifact \\(amd64\\)"),
    ({"repository": "reg.example.com/x", "digests": {"x86_64": DIGESTS["amd64"]}}, "not an ORAS release arch"),
    ({"repository": "reg.example.com/X;id", "digests": DIGESTS}, "control_plane_oras_artifact \\(amd64\\)"),
    (dict(PUBLISHED, arm64=dict(PUBLISHED["arm64"], repository="other/oras")), "different registries or repositories"),
])
def test_oras_registry_source_refused(artifact, needle):
    with pytest.raises(CapiError, match=needle):
        check_static(defaults(control_plane_oras_source="registry", control_plane_oras_artifact=artifact))


@pytest.mark.parametrize("entry, ok", [
    ({"auth": base64.b64encode(b"user:pw").decode()}, True),
    ({"identitytoken": "refresh-token-x"}, False),
    ({"username": "user", "password": "pw"}, False),  # node_dockerconfigjson adds "auth" to such entries
])
def test_registry_source_needs_an_auth_entry_the_node_fetcher_can_send(entry, ok):
    """The nodes' curl fetcher sends only "auth": an identity token alone would leave every node with a 401."""
    settings = defaults(control_plane_oras_source="registry", control_plane_oras_checksums={},
                        control_plane_oras_artifact={"repository": "reg.example.com:5000/k0smotron/oras",
                                                     "digests": DIGESTS}, **CREDS)
    config = json.dumps({"auths": {"reg.example.com:5000": entry}})
    if ok:
        build_objects(settings, dockerconfigjson=config)
        return
    with pytest.raises(CapiError, match="control_plane_oras_source: the nodes fetch the ORAS tarball from "
                                        "reg.example.com:5000 with curl") as info:
        build_objects(settings, dockerconfigjson=config)
    assert "refresh-token-x" not in str(info.value) and "pw" not in str(info.value)
    # Release source: the fetcher is not used, oras reads the identity token itself.
    settings.update(control_plane_oras_source="release", control_plane_oras_checksums={"amd64": "0" * 64})
    build_objects(settings, dockerconfigjson=config)
