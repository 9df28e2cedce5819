# -*- coding: utf-8 -*-
"""resolve() (artifact_info, download_url lookup) against hostile manifests from the fake registry."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.k0smotron.oci.plugins.module_utils._media_types import OCI_INDEX, OCI_MANIFEST
from ansible_collections.k0smotron.oci.plugins.module_utils._registry import RegistryError
from ansible_collections.k0smotron.oci.plugins.module_utils._resolve import resolve
from ansible_collections.k0smotron.oci.tests.harness.fakeregistry import FakeRegistry, reply

LAYER = {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": "sha256:" + "b" * 64, "size": 3,
         "annotations": {"org.opencontainers.image.title": "k0s"}}


@pytest.fixture()
def fake(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    with FakeRegistry() as srv:
        yield srv


def params(srv, **kw):
    out = dict(reference="%s/k0s/k0s:v1" % srv.host, plain_http=True, retries=0, timeout=5, platform=None, title=None)
    out.update(kw)
    return out


def serve(srv, doc, media_type):
    srv.on("GET", "/manifests/v1", reply(200, {"Content-Type": media_type}, json.dumps(doc)))


@pytest.mark.parametrize("entry,needle", [
    ({"mediaType": OCI_MANIFEST, "digest": "../../../v2/other/manifests/latest", "size": 2}, "not a valid digest"),
    ({"mediaType": OCI_MANIFEST, "size": 2, "platform": {"os": "linux", "architecture": "amd64"}}, "not a valid digest"),
    ("sha256:" + "a" * 64, "not a descriptor"),
])
def test_index_entries_are_validated_before_use(fake, entry, needle):
    serve(fake, {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry]}, OCI_INDEX)
    with pytest.raises(RegistryError, match=needle):
        resolve(params(fake))
    assert fake.count("GET") == 1, "nothing else may be requested"


@pytest.mark.parametrize("layers,needle", [
    (["sha256:" + "a" * 64], "not a descriptor"),
    ([dict(LAYER, digest="sha256:" + "A" * 64)], "not a valid digest"),
    ([dict(LAYER, size="3")], "invalid size"),
    ({"a": 1}, "not a list"),
])
def test_malformed_layers_are_refused_by_name(fake, layers, needle):
    serve(fake, {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": layers}, OCI_MANIFEST)
    with pytest.raises(RegistryError, match=needle):
        resolve(params(fake))


def test_valid_manifest_resolves(fake):
    serve(fake, {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": [LAYER]}, OCI_MANIFEST)
    result = resolve(params(fake))
    assert result["blob_digest"] == LAYER["digest"] and result["size"] == 3
