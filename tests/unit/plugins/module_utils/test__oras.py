# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.k0smotron.oci.plugins.module_utils import _oras as o
from ansible_collections.k0smotron.oci.plugins.module_utils._reference import ReferenceError

# What oras 1.2 wrote for `oras push REG/k0s:v1 k0s --annotation-file a.json` with {"k0s": {"arch": "amd64"}}
# (copied from `oras manifest fetch`; the layer digest is the file's sha256).
ORAS_BYTES = (
    b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'
    b'"artifactType":"application/vnd.unknown.artifact.v1","config":{"mediaType":"application/vnd.oci.empty.v1+json",'
    b'"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2,"data":"e30="},'
    b'"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar",'
    b'"digest":"sha256:4a2826f1780d3e4ba55f058db0d2f21e26289376cf0487f7b78d21a1d781ac36","size":3000000,'
    b'"annotations":{"arch":"amd64","org.opencontainers.image.title":"k0s"}}],'
    b'"annotations":{"org.opencontainers.image.created":"2026-11-28T08:56:17Z"}}'
)


def test_manifest_bytes_match_oras():
    layer = o.descriptor(o.LAYER_MEDIA_TYPE, "sha256:4a2826f1780d3e4ba55f058db0d2f21e26289376cf0487f7b78d21a1d781ac36",
                         3000000, {"org.opencontainers.image.title": "k0s", "arch": "amd64"})
    body, manifest = o.build_manifest([layer], created="2026-11-28T08:56:17Z")
    assert body == ORAS_BYTES
    assert manifest["config"]["digest"] == o.EMPTY_DIGEST == o.digest_of(o.EMPTY_DATA)


def test_go_json_escapes_like_go():
    assert o.go_json({"a": "<&>\u2028é"}) == b'{"a":"\\u003c\\u0026\\u003e\\u2028\xc3\xa9"}'


def test_created_is_generated_and_kept():
    body1, m1 = o.build_manifest([], created=None)
    assert m1["annotations"][o.CREATED].endswith("Z")
    body2, _m2 = o.build_manifest([], created=m1["annotations"][o.CREATED])
    assert body1 == body2


@pytest.mark.parametrize("text,platform", [
    ("linux/amd64", {"architecture": "amd64", "os": "linux"}),
    ("linux/arm/v7", {"architecture": "arm", "os": "linux", "variant": "v7"}),
])
def test_platforms(text, platform):
    assert o.parse_platform(text) == platform
    assert o.format_platform(platform) == text
    assert o.platform_matches(platform, dict(platform))


@pytest.mark.parametrize("bad", ["linux", "linux/", "a/b/c/d", ""])
def test_bad_platform(bad):
    with pytest.raises(ReferenceError, match="option platform"):
        o.parse_platform(bad)


def test_index_layout():
    entry = o.descriptor(o.OCI_MANIFEST, "sha256:" + "1" * 64, 10, platform={"architecture": "arm64", "os": "linux"})
    body, index = o.build_index([entry])
    assert body.startswith(b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[')
    assert index["manifests"][0]["platform"]["architecture"] == "arm64"
