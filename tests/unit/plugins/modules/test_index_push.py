# -*- coding: utf-8 -*-
"""index_push: the digest-or-tag rule lives in the argument spec."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json

import pytest

from ansible_collections.k0smotron.oci.plugins.module_utils._registry import OCI_MANIFEST
from ansible_collections.k0smotron.oci.plugins.modules import index_push


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


REF = "fake.example.com/k0s/k0s:multi"
MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": []}).encode()


@pytest.mark.parametrize("entry,needle", [
    (dict(platform="linux/amd64"), "one of the following is required: digest, tag"),
    (dict(platform="linux/amd64", tag="v1", digest=sha256(MANIFEST)), "mutually exclusive: digest|tag"),
])
def test_digest_or_tag_rule_is_in_the_spec(fake_client, run_main, entry, needle):
    result = run_main(index_push, dict(reference=REF, manifests=[entry]))
    assert result["failed"] and needle in result["msg"]
    assert fake_client.calls == []


def test_index_push_is_idempotent(fake_client, run_main):
    fake_client.manifests["v1"] = (MANIFEST, OCI_MANIFEST)
    args = dict(reference=REF, manifests=[dict(tag="v1", platform="linux/amd64")])
    first = run_main(index_push, args)
    assert first["changed"] is True and first["index"]["manifests"][0]["digest"] == sha256(MANIFEST)
    assert run_main(index_push, args)["changed"] is False
