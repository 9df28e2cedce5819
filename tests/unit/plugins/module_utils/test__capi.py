# -*- coding: utf-8 -*-
"""The control_plane objects built as data: golden files for every variant, and the input checks.

Golden files: tests/unit/plugins/module_utils/golden/capi/<variant>.golden, written with the role's dumper
(multi-document YAML; not named .yaml, because sanity's yamllint wants one document per YAML file).
After an intended change, regenerate them with K0SMOTRON_OCI_UPDATE_GOLDEN=1 and review the diff.
The shipped node scripts (plugins/plugin_utils/_node_sh/*.sh) appear there as one line naming the file (only a
verbatim copy is replaced): the goldens pin the values rendered around them, and a shell edit changes no golden;
the scripts are tested once, on their own (test__node_scripts.py, test__node_fetch.py, tests/functional).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
import subprocess

import pytest
import yaml

from ansible_collections.k0smotron.oci.plugins.plugin_utils import _node_fetch, _node_scripts
from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_names import file_name, object_names
from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_objects import build_objects, check_static
from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_settings import CapiError
from ansible_collections.k0smotron.oci.plugins.plugin_utils._k8s_yaml import dump_all
from ansible_collections.k0smotron.oci.plugins.plugin_utils._node_scripts import NodeScriptError, install_oras_script

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "golden", "capi")
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
URL = "oci://registry.example.com/k0s/k0s@sha256:" + "ab" * 32
SUMS = {"amd64": "1" * 64, "arm64": "2" * 64, "armv7": "3" * 64}
DOCKER_CONFIG = json.dumps({"auths": {"registry.example.com": {"auth": "dXNlcjpub3QtYS1zZWNyZXQ="}}}, sort_keys=True)


def defaults(**overrides):
    """The role's defaults (the filter's input in the role), with the test's values."""
    with open(os.path.join(ROOT, "roles", "control_plane", "defaults", "main.yml")) as f:
        settings = yaml.safe_load(f)
    settings.pop("control_plane_registry_password")
    settings.update({"control_plane_download_url": URL, "control_plane_oras_checksums": SUMS,
                     "control_plane_aws_ssh_key_name": "my-key"})
    settings.update(overrides)
    return settings


CREDS = {"control_plane_registry_username": "user"}
BUNDLE = {"amd64": "oci://registry.example.com/k0s/images@sha256:" + "c1" * 32,
          "arm64": "oci://registry.example.com/k0s/images@sha256:" + "c2" * 32}
REFS = {
    "control_plane_infrastructure": "none",
    "control_plane_cluster_infrastructure_ref": {"apiVersion": "infrastructure.cluster.x-k8s.io/v1beta1",
                                                 "kind": "DockerCluster", "name": "c1"},
    "control_plane_machine_infrastructure_ref": {"apiVersion": "infrastructure.cluster.x-k8s.io/v1beta1",
                                                 "kind": "DockerMachineTemplate", "name": "c1-cp"},
    "control_plane_workers_infrastructure_ref": {"apiVersion": "infrastructure.cluster.x-k8s.io/v1beta1",
                                                 "kind": "DockerMachineTemplate", "name": "c1-md"},
}

VARIANTS = {
    "v1beta1-cloudinit": dict(CREDS),
    "v1beta2-cloudinit": dict(CREDS, control_plane_api_version="v1beta2"),
    "v1beta1-ignition-workers": dict(CREDS, control_plane_provisioner="ignition", control_plane_workers_enabled=True,
                                     control_plane_ignition_additional_config="variant: flatcar\nversion: 1.1.0\n"),
    "v1beta2-ignition-workers": dict(CREDS, control_plane_api_version="v1beta2", control_plane_provisioner="ignition",
                                     control_plane_workers_enabled=True, control_plane_ignition_variant="fcos",
                                     control_plane_ignition_version="1.5.0",
                                     control_plane_workers_aws_instance_type="t3.small",
                                     control_plane_workers_args=["--labels=a=b"]),
    "v1beta1-cloudinit-workers": dict(control_plane_workers_enabled=True, control_plane_workers_name="wk",
                                      control_plane_workers_replicas=5, control_plane_workers_aws_ami_id="ami-123"),
    "v1beta2-installdir": dict(CREDS, control_plane_api_version="v1beta2", control_plane_k0s_install_dir="/opt/bin",
                               control_plane_provisioner="ignition"),
    "v1beta1-installdir": dict(control_plane_k0s_install_dir="/opt/bin", control_plane_oras_install=False),
    "custom-infra-mixed": dict(REFS, control_plane_cluster_api_version="v1beta2", control_plane_workers_enabled=True,
                               control_plane_registry_secret_name="my-pull-secret",
                               control_plane_oras_checksums={"amd64": "0" * 64}),
    "v1beta1-secret-name-no-hash": dict(CREDS, control_plane_registry_secret_name="my-creds",
                                        control_plane_registry_secret_hash_suffix=False),
    "v1beta2-ignition-registry-ca": dict(CREDS, control_plane_api_version="v1beta2",
                                         control_plane_provisioner="ignition",
                                         control_plane_registry_ca="-----BEGIN CERTIFICATE-----\nTUlJQ0FE\n"
                                                                   "-----END CERTIFICATE-----\n",
                                         control_plane_registry_node_plain_http=True),
    # control_plane_images (issue 21): the nodes that run a worker get the bundle or containerd's registry setup.
    "v1beta2-cloudinit-images-bundle": dict(CREDS, control_plane_api_version="v1beta2", control_plane_workers_enabled=True,
                                            control_plane_images="bundle", control_plane_images_bundle=BUNDLE),
    "v1beta2-ignition-images-bundle": dict(CREDS, control_plane_api_version="v1beta2",
                                           control_plane_provisioner="ignition", control_plane_workers_enabled=True,
                                           control_plane_args=[], control_plane_images="bundle",
                                           control_plane_images_bundle=BUNDLE),
    "v1beta2-cloudinit-images-mirror": dict(CREDS, control_plane_api_version="v1beta2",
                                            control_plane_workers_enabled=True, control_plane_images="mirror",
                                            control_plane_images_repository="registry.example.com/mirror",
                                            control_plane_registry_ca="-----BEGIN CERTIFICATE-----\nTUlJQ0FE\n"
                                                                      "-----END CERTIFICATE-----\n"),
    "v1beta2-ignition-images-mirror": dict(CREDS, control_plane_api_version="v1beta2",
                                           control_plane_provisioner="ignition", control_plane_workers_enabled=True,
                                           control_plane_k0s_version="v1.36.0+k0s.0", control_plane_images="mirror",
                                           control_plane_images_repository="registry.example.com",
                                           control_plane_registry_node_plain_http=True),
    "v1beta2-images-mirror-anonymous": dict(control_plane_api_version="v1beta2", control_plane_images="mirror",
                                            control_plane_images_repository="registry.example.com"),
    "custom-infra-v1beta2": dict(REFS, control_plane_api_version="v1beta2", control_plane_cluster_name="c2",
                                 control_plane_namespace="ns1"),
    "extras": dict(control_plane_extra_files=[
        {"path": "/etc/x.conf", "permissions": "0644", "content": "a: 1\nb: \U0001F680\n"},
        {"path": "/etc/y", "permissions": "0600", "contentFrom": {"configMapRef": {"name": "cm", "key": "y"}}}],
        control_plane_pre_commands=["echo pre"], control_plane_post_commands=["echo post"],
        control_plane_k0s_config={}, control_plane_cluster_network={}, control_plane_aws_ami_id="",
        control_plane_aws_iam_instance_profile="", control_plane_aws_control_plane_load_balancer={},
        control_plane_aws_additional_control_plane_ingress_rules=[], control_plane_args=[],
        control_plane_replicas="1", control_plane_oras_install_prefix="/opt/o", control_plane_oras_download_retries=3),
}


SHIPPED_SCRIPTS = ("oci-blob-fetch.sh", "install-oras.sh", "oras-wrapper.sh", "fetch-images-bundle.sh")


def refer_to_shipped_scripts(value):
    """``value`` (objects) with the text of every shipped node script replaced by a line with its name."""
    if isinstance(value, dict):
        return dict((k, refer_to_shipped_scripts(v)) for k, v in value.items())
    if isinstance(value, list):
        return [refer_to_shipped_scripts(v) for v in value]
    if isinstance(value, str):
        for name in SHIPPED_SCRIPTS:
            text = _node_fetch.node_script(name)
            value = value.replace(text, "# k0smotron.oci shipped node script %s\n" % name)
    return value


def _golden(name, text):
    path = os.path.join(GOLDEN, name + ".golden")
    if os.environ.get("K0SMOTRON_OCI_UPDATE_GOLDEN"):
        with open(path, "w") as f:
            f.write(text)
    with open(path) as f:
        return f.read()


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_golden(variant):
    settings = defaults(**VARIANTS[variant])
    objects = refer_to_shipped_scripts(build_objects(settings, dockerconfigjson=DOCKER_CONFIG))
    text = dump_all(objects)
    assert text == _golden(variant, text)
    # The golden text reads back as the same objects (the dumper loses nothing).
    assert list(yaml.safe_load_all(text)) == objects


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_names_only_match_the_objects(variant):
    """state=absent needs only names: same kinds, names and order as the full build, without a download URL."""
    settings = defaults(**VARIANTS[variant])
    full = build_objects(settings, dockerconfigjson=DOCKER_CONFIG)
    settings.update(control_plane_download_url="", control_plane_oras_checksums={})
    names = object_names(settings)
    # A Secret with a content hash in its name is deleted by its labels (registry_secret_selector), not by name.
    hashed = settings["control_plane_registry_secret_hash_suffix"]
    assert [(o["apiVersion"], o["kind"], o["metadata"]) for o in names] == \
        [(o["apiVersion"], o["kind"], {"name": o["metadata"]["name"], "namespace": o["metadata"]["namespace"]})
         for o in full if not (o["kind"] == "Secret" and hashed)]


def test_absent_names_golden():
    text = dump_all(object_names(defaults(control_plane_workers_enabled=True, control_plane_download_url="",
                                          **CREDS)))
    assert text == _golden("absent-names", text)


def test_secret_left_out_without_docker_config():
    objs = build_objects(defaults(**CREDS))
    assert [o["kind"] for o in objs] == ["AWSMachineTemplate", "AWSCluster", "K0sControlPlane", "Cluster"]
    ks = objs[2]["spec"]["k0sConfigSpec"]
    assert ks["files"][1]["contentFrom"]["secretRef"]["name"] == "aws-test-registry-credentials"
    secret = build_objects(defaults(**CREDS), dockerconfigjson=DOCKER_CONFIG)[0]
    assert secret["metadata"]["name"] == "aws-test-registry-credentials-4a260a4f"
    assert json.loads(base64.b64decode(secret["data"][".dockerconfigjson"])) == json.loads(DOCKER_CONFIG)


def test_file_names():
    objs = build_objects(defaults(control_plane_workers_enabled=True, **CREDS), dockerconfigjson=DOCKER_CONFIG)
    assert [file_name(o) for o in objs] == [
        "00-secret-aws-test-registry-credentials-4a260a4f.yaml", "10-awsmachinetemplate-aws-test.yaml",
        "10-awsmachinetemplate-aws-test-md-0.yaml", "20-awscluster-aws-test.yaml", "30-k0scontrolplane-aws-test.yaml",
        "40-k0sworkerconfigtemplate-aws-test-md-0.yaml", "50-machinedeployment-aws-test-md-0.yaml",
        "60-cluster-aws-test.yaml"]


def test_release_checksums_picked_per_arch():
    listed = {"oras_1.3.0_linux_arm64.tar.gz": "4" * 64, "oras_1.3.0_darwin_amd64.tar.gz": "5" * 64}
    objs = build_objects(defaults(control_plane_oras_checksums={}), oras_release_checksums=listed)
    script = objs[2]["spec"]["k0sConfigSpec"]["files"][0]["content"]
    assert "\nsums=arm64=%s\n" % ("4" * 64) in script
    with pytest.raises(CapiError, match="list none of oras_1.3.0_linux_<arch>.tar.gz"):
        build_objects(defaults(control_plane_oras_checksums={}), oras_release_checksums={})


# --------------------------------------------------------------------------- input checks (issue 12 items 10, 11)

@pytest.mark.parametrize("overrides, needle", [
    # Item 11: full match - a trailing newline is no longer accepted, and every name is a DNS-1123 name.
    ({"control_plane_cluster_name": "aws-test\n"}, "control_plane_cluster_name must be a DNS-1123 label"),
    ({"control_plane_cluster_name": "a" * 64}, "control_plane_cluster_name must be a DNS-1123 label"),
    ({"control_plane_namespace": "Default"}, "control_plane_namespace must be a DNS-1123 label"),
    ({"control_plane_namespace": "default\n"}, "control_plane_namespace must be a DNS-1123 label"),
    ({"control_plane_registry_secret_name": "creds\n---\nkind: x"}, "control_plane_registry_secret_name must be a DNS-1123 subdomain"),
    ({"control_plane_registry_secret_name": "Creds"}, "control_plane_registry_secret_name must be a DNS-1123 subdomain"),
    ({"control_plane_workers_enabled": True, "control_plane_workers_name": "md\n---"}, "control_plane_workers_name must be a DNS-1123 label"),
    ({"control_plane_workers_enabled": True, "control_plane_workers_name": "md.0"}, "control_plane_workers_name must be a DNS-1123 label"),
    ({"control_plane_workers_enabled": True, "control_plane_cluster_name": "a" * 60}, "control_plane_cluster_name \\(\\+ '-md-0'"),
    (dict(REFS, control_plane_cluster_infrastructure_ref={"apiVersion": "infrastructure.cluster.x-k8s.io/v1beta1",
                                                          "kind": "DockerCluster", "name": "C_1"}),
     "control_plane_cluster_infrastructure_ref.name must be a DNS-1123 subdomain"),
    (dict(REFS, control_plane_machine_infrastructure_ref={"kind": "DockerMachineTemplate", "name": "c1"}),
     "control_plane_machine_infrastructure_ref must be a reference"),
    (dict(REFS, control_plane_workers_enabled=True, control_plane_workers_infrastructure_ref={}),
     "control_plane_workers_infrastructure_ref must be a reference"),
    # Item 10: values that go into the root script on the nodes.
    ({"control_plane_oras_version": "1.3.0;touch /tmp/PWNED"}, "control_plane_oras_version must be an ORAS release version"),
    ({"control_plane_oras_version": "1.3.0\n"}, "control_plane_oras_version must be an ORAS release version"),
    ({"control_plane_oras_base_url": "https://example.com/$(touch /tmp/PWNED)"}, "control_plane_oras_base_url must be an http"),
    ({"control_plane_oras_base_url": "https://example.com/a b"}, "control_plane_oras_base_url must be an http"),
    ({"control_plane_oras_base_url": "https://example.com/a'b"}, "control_plane_oras_base_url must be an http"),
    ({"control_plane_oras_base_url": "ftp://example.com/oras"}, "control_plane_oras_base_url must be an http"),
    ({"control_plane_oras_base_url": "https://example.com/o\n"}, "control_plane_oras_base_url must be an http"),
    ({"control_plane_oras_checksums_url": "https://example.com/sums.txt;id"}, "control_plane_oras_checksums_url must be an http"),
    ({"control_plane_oras_checksums": {"amd64": "1" * 63}}, "control_plane_oras_checksums must map arches"),
    ({"control_plane_oras_checksums": {"x86_64": "1" * 64}}, "control_plane_oras_checksums must map arches"),
    ({"control_plane_oras_download_retries": 0}, "control_plane_oras_download_retries must be a whole number"),
    ({"control_plane_oras_install_prefix": "/usr/local\n"}, "control_plane_oras_install_prefix must be an absolute path"),
    ({"control_plane_oras_install_prefix": "/usr/../x"}, "control_plane_oras_install_prefix must be an absolute path"),
    ({"control_plane_k0s_install_dir": "/opt/bin;id"}, "control_plane_k0s_install_dir must be an absolute path"),
    # Node content under cloud-init (Jinja) and Ignition (ExecStart, permissions).
    ({"control_plane_pre_commands": ['echo "${HOME}"']}, "not plain lines"),
    ({"control_plane_post_commands": ["echo 50%"]}, "not plain lines"),
    ({"control_plane_extra_files": [{"path": "/x", "content": "y"}]}, "control_plane_extra_files entry /x needs"),
    ({"control_plane_extra_files": [{"path": "/x", "permissions": "0644\n", "content": "y"}]}, "entry /x needs"),
    ({"control_plane_extra_files": [{"path": "/x", "permissions": "0644", "content": "${#a}"}]},
     "control_plane_extra_files holds a Jinja opening delimiter at \\[0\\].content"),
    ({"control_plane_k0s_config": {"spec": {"x": "{% x"}}}, "control_plane_k0s_config holds a Jinja opening delimiter"),
    ({"control_plane_args": ["--labels={{x}}"]}, "control_plane_args holds a Jinja"),
    ({"control_plane_k0s_config": {"spec": {"api": {"extraArgs": {"x": None}}}}},
     "control_plane_k0s_config holds a null value at spec.api.extraArgs.x"),
    ({"control_plane_replicas": "three"}, "control_plane_replicas must be a whole number"),
    ({"control_plane_api_version": "v1"}, "control_plane_api_version must be one of v1beta1, v1beta2"),
])
def test_bad_inputs_are_refused(overrides, needle):
    settings = defaults(**overrides)
    with pytest.raises(CapiError, match=needle):
        check_static(settings)
    with pytest.raises(CapiError, match=needle):
        build_objects(settings)


def test_missing_setting_named():
    settings = defaults()
    del settings["control_plane_namespace"]
    with pytest.raises(CapiError, match="lack control_plane_namespace"):
        build_objects(settings)


def test_injected_version_would_not_run_even_unchecked(tmp_path, monkeypatch):
    """Item 10, second line of defence: with the version check switched off, the value is still only data."""
    pwned = tmp_path / "PWNED"
    version = "1.3.0;touch %s;$(touch %s)`touch %s`\ntouch %s" % ((pwned,) * 4)
    with pytest.raises(NodeScriptError):
        _node_scripts.check_oras_version(version)
    monkeypatch.setattr(_node_scripts, "check_oras_version", lambda version, variable=None: version)
    script = install_oras_script(version, "http://127.0.0.1:9/x", str(tmp_path / "prefix"), {"amd64": "0" * 64,
                                 "arm64": "0" * 64, "armv7": "0" * 64}, 1)
    path = tmp_path / "install-oras.sh"
    path.write_text(script)
    proc = subprocess.run(["/bin/sh", str(path)], capture_output=True, text=True, cwd=str(tmp_path), check=False,
                          env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    assert proc.returncode != 0 and "nothing installed" in proc.stderr, proc.stderr
    assert not pwned.exists()


def test_node_registry_is_the_download_urls_host_as_the_reference_parser_reads_it():
    """The nodes' registry (for the oras wrapper's --plain-http) comes from the oci:// URL through _reference, which
    refuses a malformed URL with a message naming the variable instead of passing its host on."""
    url = "oci://reg.example.com:5000/k0s/k0s@sha256:" + "ab" * 32
    objs = build_objects(defaults(control_plane_download_url=url, control_plane_registry_node_plain_http=True))
    script = objs[2]["spec"]["k0sConfigSpec"]["files"][0]["content"]
    assert "\nregistry=reg.example.com:5000\n" in script
    with pytest.raises(CapiError, match="option control_plane_download_url: digest"):
        build_objects(defaults(control_plane_download_url="oci://reg.example.com/k0s/k0s@sha256:abc"))
