# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
#
# This module util is PRIVATE to the collection. It can change at any time without notice.
"""Build manifests and indexes byte-for-byte the way ``oras push`` (oras-go, Go's encoding/json) does."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import time

from ansible_collections.k0smotron.oci.plugins.module_utils._reference import ReferenceError
from ansible_collections.k0smotron.oci.plugins.module_utils._media_types import OCI_INDEX, OCI_MANIFEST

EMPTY_MEDIA_TYPE = "application/vnd.oci.empty.v1+json"
EMPTY_DATA = b"{}"
EMPTY_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
DEFAULT_ARTIFACT_TYPE = "application/vnd.unknown.artifact.v1"
LAYER_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar"
TITLE = "org.opencontainers.image.title"
CREATED = "org.opencontainers.image.created"
MANIFEST_KEY = "$manifest"
CONFIG_KEY = "$config"


def go_json(obj):
    """Go's json.Marshal: compact, map keys sorted by the caller, HTML-sensitive runes escaped."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    for char, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text.encode("utf-8")


def digest_of(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def rfc3339_now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _sorted(mapping):
    return dict((k, mapping[k]) for k in sorted(mapping))


def descriptor(media_type, digest, size, annotations=None, data=None, platform=None, artifact_type=None):
    """A descriptor with oras-go's field order: mediaType, digest, size, annotations, data, platform, artifactType."""
    d = {"mediaType": media_type, "digest": digest, "size": size}
    if annotations:
        d["annotations"] = _sorted(annotations)
    if data is not None:
        d["data"] = data
    if platform:
        d["platform"] = platform
    if artifact_type:
        d["artifactType"] = artifact_type
    return d


def empty_config(annotations=None):
    return descriptor(EMPTY_MEDIA_TYPE, EMPTY_DIGEST, len(EMPTY_DATA), annotations, data="e30=")


def build_manifest(layers, artifact_type=None, annotations=None, config_annotations=None, created=None):
    """(bytes, dict) of an OCI 1.1 artifact manifest as ``oras push`` writes it.

    ``layers``: list of descriptors (see ``descriptor``). ``created`` keeps a previous push's
    timestamp so that an unchanged push yields the same manifest digest.
    """
    manifest_annotations = dict(annotations or {})
    manifest_annotations.setdefault(CREATED, created or rfc3339_now())
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type or DEFAULT_ARTIFACT_TYPE,
        "config": empty_config(config_annotations),
        "layers": list(layers),
        "annotations": _sorted(manifest_annotations),
    }
    return go_json(manifest), manifest


def build_index(manifests, annotations=None, artifact_type=None):
    """(bytes, dict) of an OCI image index; ``manifests`` are descriptors carrying ``platform``."""
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX}
    if artifact_type:
        index["artifactType"] = artifact_type
    index["manifests"] = list(manifests)
    if annotations:
        index["annotations"] = _sorted(annotations)
    return go_json(index), index


def parse_platform(text, option="platform"):
    """``os/arch[/variant]`` -> OCI platform dict (Go field order: architecture, os, variant)."""
    parts = (text or "").split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise ReferenceError("option %s: %r is not os/arch[/variant], e.g. linux/arm64 or linux/arm/v7" % (option, text))
    platform = {"architecture": parts[1], "os": parts[0]}
    if len(parts) == 3:
        platform["variant"] = parts[2]
    return platform


def platform_matches(wanted, candidate):
    if not candidate:
        return False
    for key in ("os", "architecture"):
        if wanted.get(key) != candidate.get(key):
            return False
    return not wanted.get("variant") or wanted.get("variant") == candidate.get("variant")


def format_platform(platform):
    text = "%s/%s" % (platform.get("os"), platform.get("architecture"))
    return text + ("/" + platform["variant"] if platform.get("variant") else "")
