# -*- coding: utf-8 -*-
"""Filters of the control_plane role: the readable YAML dumper, the object and file builders, docker configs."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.k0smotron.oci.plugins.filter.control_plane_files import control_plane_files
from ansible_collections.k0smotron.oci.plugins.filter.control_plane_object_names import control_plane_object_names
from ansible_collections.k0smotron.oci.plugins.filter.control_plane_objects import control_plane_objects
from ansible_collections.k0smotron.oci.plugins.filter.control_plane_registry_secrets import control_plane_registry_secrets
from ansible_collections.k0smotron.oci.plugins.filter.merge_docker_config import merge_docker_config
from ansible_collections.k0smotron.oci.plugins.filter.node_dockerconfigjson import node_dockerconfigjson
from ansible_collections.k0smotron.oci.plugins.filter.to_k8s_yaml import to_k8s_yaml

SCRIPT = "#!/bin/sh\nset -eu\necho \"it's $HOME\"\n"


class TaggedStr(str):
    """Ansible hands filters str subclasses (tagged or unsafe strings)."""


class UnsafeStr(str):
    """Like ansible-core < 2.19's AnsibleUnsafeText (the keys and values of a fact): str() returns it unchanged."""

    def __str__(self):  # pylint: disable=invalid-str-returned
        return self


# --------------------------------------------------------------------------- to_k8s_yaml

def test_multi_line_strings_are_literal_blocks():
    text = to_k8s_yaml({"files": [{"path": "/x.sh", "content": TaggedStr(SCRIPT)}], "one": "line"})
    assert text == ("files:\n- path: /x.sh\n  content: |\n    #!/bin/sh\n    set -eu\n    echo \"it's $HOME\"\n"
                    "one: line\n")
    assert yaml.safe_load(text)["files"][0]["content"] == SCRIPT


def test_unsafe_strings_written_as_plain_strings():
    assert to_k8s_yaml({UnsafeStr("apiVersion"): UnsafeStr("v1"), "data": [UnsafeStr("a\nb\n")]}) == (
        "apiVersion: v1\ndata:\n- |\n  a\n  b\n")


@pytest.mark.parametrize("value", [
    "rocket \U0001F680 and snowman \u2603\n",   # outside the BMP
    "\U0001F680",
    "no trailing newline\nsecond",
    "trailing spaces   \nnext\n",          # a block cannot hold this exactly: PyYAML quotes it, still lossless
    "",
    "0600",
    "true",
    "- not a list\n",
])
def test_round_trip(value):
    text = to_k8s_yaml({"v": value})
    assert yaml.safe_load(text) == {"v": value}
    assert "\\U" not in text and "\\ud83d" not in text.lower()


def test_emoji_written_as_is():
    assert to_k8s_yaml({"v": "\U0001F680"}) == "v: \U0001F680\n"


def test_key_order_kept_and_no_aliases():
    shared = {"a": 1}
    text = to_k8s_yaml({"z": shared, "a": shared})
    assert text == "z:\n  a: 1\na:\n  a: 1\n"


def test_multi_document():
    assert to_k8s_yaml([{"a": 1}, {"b": 2}], multi_document=True) == "---\na: 1\n---\nb: 2\n"
    with pytest.raises(AnsibleFilterError, match="needs a list"):
        to_k8s_yaml({"a": 1}, multi_document=True)


def test_unknown_type_refused():
    with pytest.raises(AnsibleFilterError, match="cannot write a object as YAML"):
        to_k8s_yaml({"a": object()})


# --------------------------------------------------------------------------- control_plane_objects / _files

def _objects():
    from ansible_collections.k0smotron.oci.tests.unit.plugins.module_utils.test__capi import DOCKER_CONFIG, defaults
    settings = defaults(control_plane_registry_username="u")
    return control_plane_objects(settings, dockerconfigjson=DOCKER_CONFIG), settings


def test_objects_filter_errors_name_the_variable():
    dummy, settings = _objects()
    settings["control_plane_oras_version"] = "1.3.0;touch /tmp/PWNED"
    with pytest.raises(AnsibleFilterError, match="control_plane_objects: control_plane_oras_version must be"):
        control_plane_objects(settings)
    with pytest.raises(AnsibleFilterError, match="the input must be a dict"):
        control_plane_objects("x")


def test_each_mode_of_control_plane_objects_has_its_own_filter():
    from ansible_collections.k0smotron.oci.tests.unit.plugins.module_utils.test__capi import defaults
    settings = defaults(control_plane_registry_username="u", control_plane_workers_enabled=True)
    names = control_plane_object_names(settings)
    assert names == control_plane_objects(settings, names_only=True)
    assert [n["kind"] for n in names] == ["AWSMachineTemplate", "AWSMachineTemplate", "AWSCluster", "K0sControlPlane",
                                          "K0sWorkerConfigTemplate", "MachineDeployment", "Cluster"]
    selector = control_plane_registry_secrets(settings)
    assert selector == control_plane_objects(settings, registry_secrets=True)
    assert selector["label_selectors"] == ["app.kubernetes.io/managed-by=k0smotron.oci",
                                           "cluster.x-k8s.io/cluster-name=aws-test"]
    settings["control_plane_oras_version"] = "1.3.0;id"
    with pytest.raises(AnsibleFilterError, match="control_plane_object_names: control_plane_oras_version must be"):
        control_plane_object_names(settings)
    with pytest.raises(AnsibleFilterError, match="control_plane_registry_secrets: the input must be a dict"):
        control_plane_registry_secrets(["x"])


def test_files_layout():
    objs, dummy = _objects()
    files = control_plane_files(objs, "files", header="# h\n")
    assert [(f["name"], f["mode"], f["secret"]) for f in files] == [
        ("00-secret-aws-test-registry-credentials-4a260a4f.yaml", "0600", True),
        ("10-awsmachinetemplate-aws-test.yaml", "0644", False), ("20-awscluster-aws-test.yaml", "0644", False),
        ("30-k0scontrolplane-aws-test.yaml", "0644", False), ("60-cluster-aws-test.yaml", "0644", False)]
    kcp = files[3]["content"]
    assert kcp.startswith("# h\napiVersion: ")
    assert "      content: |\n        #!/bin/sh\n" in kcp
    assert files[0]["label"] == "Secret/aws-test-registry-credentials-4a260a4f"
    assert [yaml.safe_load(f["content"]) for f in files] == objs


def test_single_layout():
    objs, dummy = _objects()
    (single,) = control_plane_files(objs, "single", "aws-test")
    assert single["name"] == "aws-test.yaml" and single["mode"] == "0600" and single["secret"]
    assert list(yaml.safe_load_all(single["content"])) == objs
    with pytest.raises(AnsibleFilterError, match="DNS-1123 label"):
        control_plane_files(objs, "single", "x\n")
    with pytest.raises(AnsibleFilterError, match="layout must be files or single"):
        control_plane_files(objs, "many")


# --------------------------------------------------------------------------- docker configs

def test_node_dockerconfigjson_copies_the_inline_entry():
    config = {"auths": {"https://reg.example.com/v1/": {"auth": "dTpw"}, "other.example.com": {"auth": "eDp5"}},
              "credsStore": "desktop", "credHelpers": {"gcr.io": "gcloud"}}
    assert json.loads(node_dockerconfigjson(json.dumps(config), "reg.example.com")) == \
        {"auths": {"reg.example.com": {"auth": "dTpw"}}}
    assert json.loads(node_dockerconfigjson(config, "other.example.com")) == {"auths": {"other.example.com": {"auth": "eDp5"}}}


@pytest.mark.parametrize("config, needle", [
    ({"credsStore": "desktop", "auths": {"reg.example.com": {}}}, "holds no inline credentials"),
    ({"credHelpers": {"reg.example.com": "ecr-login"}}, "Credential helpers \\(credsStore/credHelpers\\) cannot run"),
    ("[1]", "must hold a JSON object"),
    ("{not json", "is not valid JSON"),
])
def test_node_dockerconfigjson_errors(config, needle):
    with pytest.raises(AnsibleFilterError, match=needle) as e:
        node_dockerconfigjson(config, "reg.example.com", source="/home/me/config.json")
    assert "/home/me/config.json" in str(e.value) or "JSON" in str(e.value)


def test_merge_docker_config():
    existing = json.dumps({"auths": {"a.example.com": {"auth": "old"}, "b.example.com": {"auth": "keep"}},
                           "credsStore": "desktop"})
    new = {"auths": {"a.example.com": {"auth": "new"}}, "HttpHeaders": {"X": "1"}}
    assert merge_docker_config(existing, new) == {
        "auths": {"a.example.com": {"auth": "new"}, "b.example.com": {"auth": "keep"}},
        "credsStore": "desktop", "HttpHeaders": {"X": "1"}}
    assert merge_docker_config("", json.dumps(new)) == new
    assert merge_docker_config({}, {}) == {"auths": {}}
    with pytest.raises(AnsibleFilterError, match="existing docker config is not valid JSON"):
        merge_docker_config("{", new)


# --------------------------------------------------------------------------- issue 18 item 7: deep input
def deep_list(depth):
    value = ["leaf"]
    for dummy in range(depth):
        value = [value]
    return value


def test_deep_input_is_one_filter_error():
    dummy, settings = _objects()
    settings["control_plane_k0s_config"] = {"spec": {"x": deep_list(5000)}}
    with pytest.raises(AnsibleFilterError, match=r"control_plane_objects: nested deeper than 100 levels at "
                                                 r"control_plane_k0s_config\.spec\.x\[0\]"):
        control_plane_objects(settings)
    with pytest.raises(AnsibleFilterError, match="control_plane_files: nested deeper than 100 levels"):
        control_plane_files([{"kind": "ConfigMap", "metadata": {"name": "a"}, "data": deep_list(5000)}], "single", "a")
    with pytest.raises(AnsibleFilterError, match="to_k8s_yaml: nested deeper than 100 levels"):
        to_k8s_yaml(deep_list(5000))


def test_deep_docker_config_is_the_invalid_json_error():
    dummy, settings = _objects()
    with pytest.raises(AnsibleFilterError, match="is not a JSON object with 'auths'"):
        control_plane_objects(settings, dockerconfigjson="[" * 200000 + "]" * 200000)
    with pytest.raises(AnsibleFilterError, match="not valid JSON"):
        node_dockerconfigjson("[" * 200000 + "]" * 200000, "registry.example.com")


# --------------------------------------------------------------------------- issue 18 item 8: whitespace in the URL
@pytest.mark.parametrize("pad", [("", "\n"), (" ", ""), ("\t", " ")])
def test_download_url_with_surrounding_whitespace_is_refused(pad):
    dummy, settings = _objects()
    settings["control_plane_download_url"] = pad[0] + settings["control_plane_download_url"] + pad[1]
    with pytest.raises(AnsibleFilterError, match="control_plane_download_url .* has leading or trailing whitespace"):
        control_plane_objects(settings)
