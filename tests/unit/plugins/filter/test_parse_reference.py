# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.k0smotron.oci.plugins.filter.parse_reference import FilterModule

parse_reference = FilterModule().filters()["parse_reference"]
HEX = "c" * 64


@pytest.mark.parametrize("text, kwargs, expected", [
    ("registry.example.com/my-repo/k0s", {},
     {"registry": "registry.example.com", "repository": "my-repo/k0s", "name": "registry.example.com/my-repo/k0s",
      "tag": None, "digest": None, "reference": "registry.example.com/my-repo/k0s"}),
    ("127.0.0.1:5000/k0s:v1.34.1-k0s.0", {"require_tag": True},
     {"registry": "127.0.0.1:5000", "repository": "k0s", "name": "127.0.0.1:5000/k0s",
      "tag": "v1.34.1-k0s.0", "digest": None, "reference": "127.0.0.1:5000/k0s:v1.34.1-k0s.0"}),
    ("localhost/a/b@sha256:" + HEX, {"require_tag": True},
     {"registry": "localhost", "repository": "a/b", "name": "localhost/a/b",
      "tag": None, "digest": "sha256:" + HEX, "reference": "localhost/a/b@sha256:" + HEX}),
    (" reg.example.com/k0s:v1 ", {},
     {"registry": "reg.example.com", "repository": "k0s", "name": "reg.example.com/k0s",
      "tag": "v1", "digest": None, "reference": "reg.example.com/k0s:v1"}),
])
def test_parse_reference(text, kwargs, expected):
    assert parse_reference(text, **kwargs) == expected


@pytest.mark.parametrize("text, kwargs, needle", [
    ("", {}, "empty reference"),
    ("k0s", {}, "no registry host"),
    ("oci://reg.example.com/k0s:v1", {}, "starts with oci://"),
    ("https://reg.example.com/k0s:v1", {}, "https:// scheme"),
    ("reg.example.com/K0s:v1", {}, "must be lowercase"),
    ("reg.example.com/k0s:v1.34.1+k0s.0", {}, "contains '\\+'"),
    ("reg.example.com/k0s@sha256:abc", {}, "expected 64"),
    ("reg.example.com/k0s", {"require_tag": True}, "has no tag"),
    ("reg.example.com/k0s", {"require_tag": True, "option": "my_var"}, "option my_var:"),
])
def test_parse_reference_errors(text, kwargs, needle):
    with pytest.raises(AnsibleFilterError, match="k0smotron.oci.parse_reference: .*" + needle):
        parse_reference(text, **kwargs)
