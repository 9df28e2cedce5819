# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
#
# This module util is PRIVATE to the collection. It can change at any time without notice.
"""Reference -> manifest (through an index, by platform) -> layer -> blob digest and download URL.

Shared by the artifact_info module and the download_url lookup.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.k0smotron.oci.plugins.module_utils._oras import (
    TITLE,
    format_platform,
    parse_platform,
    platform_matches,
)
from ansible_collections.k0smotron.oci.plugins.module_utils._reference import Reference, ReferenceError
from ansible_collections.k0smotron.oci.plugins.module_utils._media_types import INDEX_TYPES
from ansible_collections.k0smotron.oci.plugins.module_utils._registry import RegistryError, check_digest, client_from_params


def descriptors(doc, key, where):
    """The descriptors under ``key`` of a manifest or index, each a dict with a valid digest and size;
    RegistryError naming ``where`` for anything else (a registry's answer is not trusted)."""
    items = doc.get(key) or []
    if not isinstance(items, list):
        raise RegistryError("%s: %r is not a list" % (where, key))
    for i, item in enumerate(items):
        what = "%s: %s[%d]" % (where, key, i)
        if not isinstance(item, dict):
            raise RegistryError("%s is not a descriptor object" % what)
        check_digest(item.get("digest"), what)
        size = item.get("size")
        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
            raise RegistryError("%s has an invalid size %r" % (what, size))
        if not isinstance(item.get("annotations") or {}, dict) or not isinstance(item.get("platform") or {}, dict):
            raise RegistryError("%s has annotations or a platform that is not an object" % what)
    return items


def select_layer(layers, title, where):
    titles = [(layer.get("annotations") or {}).get(TITLE) for layer in layers]
    if title:
        for layer, t in zip(layers, titles):
            if t == title:
                return layer
        raise RegistryError("no layer titled %r in %s; layers: %s" % (title, where, ", ".join(repr(t) for t in titles)
                                                                      or "none"))
    if len(layers) == 1:
        return layers[0]
    if not layers:
        raise RegistryError("%s has no layers" % where)
    raise RegistryError("%s has %d layers, so option title must say which one: %s"
                        % (where, len(layers), ", ".join(repr(t) for t in titles)))


def resolve(params):
    """The artifact_info result for params (reference, platform, title + registry options)."""
    ref = Reference.parse(params["reference"])
    if not (ref.tag or ref.digest):
        raise ReferenceError("option reference: %r names neither a tag nor a digest; add :TAG or @sha256:<hex>"
                             % params["reference"])
    wanted = parse_platform(params["platform"]) if params.get("platform") else None
    client = client_from_params(params, ref)
    result = {"registry": ref.registry, "repository": ref.repository}
    try:
        doc, media_type, digest, _data = client.get_manifest_json(ref.digest or ref.tag)
        if media_type in INDEX_TYPES or "manifests" in doc:
            entries = descriptors(doc, "manifests", "index %s" % ref)
            platforms = [format_platform(e.get("platform") or {}) for e in entries if e.get("platform")]
            result["index_digest"] = digest
            result["platforms"] = platforms
            if wanted:
                chosen = [e for e in entries if platform_matches(wanted, e.get("platform"))]
                if not chosen:
                    raise RegistryError("index %s has no entry for platform %s; it has: %s"
                                        % (ref, params["platform"], ", ".join(platforms) or "none"))
            elif len(entries) == 1:
                chosen = entries
            else:
                raise RegistryError("%s is an index of %d manifests; set option platform to one of: %s"
                                    % (ref, len(entries), ", ".join(platforms)))
            doc, media_type, digest, _data = client.get_manifest_json(chosen[0]["digest"])
        result["authenticated"] = client.auth.used_credentials
    finally:
        client.close()
    layers = descriptors(doc, "layers", "manifest %s of %s" % (digest, ref))
    chosen_layer = select_layer(layers, params.get("title"), "manifest %s of %s" % (digest, ref))
    out_layers = []
    for layer in layers:
        annotations = layer.get("annotations") or {}
        out_layers.append({
            "title": annotations.get(TITLE),
            "digest": layer.get("digest"),
            "size": layer.get("size"),
            "media_type": layer.get("mediaType"),
            "annotations": annotations,
            "download_url": ref.download_url(layer.get("digest")),
        })
    result.update(
        manifest=doc,
        manifest_digest=digest,
        media_type=media_type,
        artifact_type=doc.get("artifactType") or (doc.get("config") or {}).get("mediaType"),
        layers=out_layers,
        title=(chosen_layer.get("annotations") or {}).get(TITLE),
        blob_digest=chosen_layer["digest"],
        size=chosen_layer.get("size"),
        download_url=ref.download_url(chosen_layer["digest"]),
        download_urls=dict((layer["title"], layer["download_url"]) for layer in out_layers if layer["title"]),
    )
    return result
