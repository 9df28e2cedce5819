# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.k0smotron.oci.plugins.filter.dockerconfigjson import dockerconfigjson
from ansible_collections.k0smotron.oci.plugins.filter.k0s_tag import FilterModule as K0sTag
from ansible_collections.k0smotron.oci.plugins.filter.oci_download_url import oci_download_url
from ansible_collections.k0smotron.oci.plugins.filter.parse_download_url import FilterModule as ParseUrl

HEX = "b" * 64


def test_k0s_tag_filter():
    assert K0sTag().filters()["k0s_tag"]("v1.34.1+k0s.0") == "v1.34.1-k0s.0"
    with pytest.raises(AnsibleFilterError, match="k0smotron.oci.k0s_tag"):
        K0sTag().filters()["k0s_tag"]("")


@pytest.mark.parametrize("repo", ["example.com/my-repo/k0s", "oci://example.com/my-repo/k0s", "example.com/my-repo/k0s:v1"])
def test_oci_download_url(repo):
    assert oci_download_url(repo, "sha256:" + HEX) == "oci://example.com/my-repo/k0s@sha256:" + HEX


@pytest.mark.parametrize("repo,digest,needle", [
    ("example.com/k0s", "sha256:abcdefg123456789", "expected 64"),
    ("example.com/k0s@sha256:" + HEX, "sha256:" + HEX, "already carries a digest"),
    ("k0s", "sha256:" + HEX, "no registry host"),
])
def test_oci_download_url_errors(repo, digest, needle):
    with pytest.raises(AnsibleFilterError, match=needle):
        oci_download_url(repo, digest)


def test_parse_download_url_filter():
    parse = ParseUrl().filters()["parse_download_url"]
    assert parse("oci://127.0.0.1:5000/k0s@sha256:" + HEX) == {
        "registry": "127.0.0.1:5000", "repository": "k0s", "digest": "sha256:" + HEX,
        "reference": "127.0.0.1:5000/k0s@sha256:" + HEX}
    with pytest.raises(AnsibleFilterError, match="names no digest"):
        parse("oci://127.0.0.1:5000/k0s:v1")


def test_dockerconfigjson():
    doc = json.loads(dockerconfigjson("reg.example.com:5000", "user", "p@ss:word"))
    assert base64.b64decode(doc["auths"]["reg.example.com:5000"]["auth"]).decode() == "user:p@ss:word"


@pytest.mark.parametrize("args,needle", [
    (("https://reg.example.com", "u", "p"), "without scheme"),
    (("reg.example.com", "", "p"), "username is empty"),
    (("reg.example.com", "u", ""), "password is empty"),
])
def test_dockerconfigjson_errors(args, needle):
    with pytest.raises(AnsibleFilterError) as e:
        dockerconfigjson(*args)
    assert needle in str(e.value)
