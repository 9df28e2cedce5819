# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
#
# This module util is PRIVATE to the collection. It can change at any time without notice.
"""What ``artifact_push`` does, outside the module (as kubernetes.core keeps its runner in module_utils):
read what the tag holds -> plan the layers -> upload the missing blobs -> write the manifest.

``push(module)`` takes the module only for its ``params``, ``check_mode``, ``_diff`` and ``warn``; it talks to
the registry through the client (``_registry``) and raises the errors of ``_errors.EXPECTED_ERRORS``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
from collections import namedtuple

from ansible_collections.k0smotron.oci.plugins.module_utils._errors import ModuleInputError
from ansible_collections.k0smotron.oci.plugins.module_utils._files import DigestCache
from ansible_collections.k0smotron.oci.plugins.module_utils._oras import (
    CONFIG_KEY,
    CREATED,
    EMPTY_DATA,
    EMPTY_DIGEST,
    MANIFEST_KEY,
    TITLE,
    build_manifest,
    descriptor,
    digest_of,
)
from ansible_collections.k0smotron.oci.plugins.module_utils._reference import Reference, validate_digest
from ansible_collections.k0smotron.oci.plugins.module_utils._media_types import OCI_MANIFEST
from ansible_collections.k0smotron.oci.plugins.module_utils._registry import client_from_params
from ansible_collections.k0smotron.oci.plugins.module_utils._registry_errors import (
    RegistryNotFoundError,
    RegistryStreamRefused,
)

# What the tag holds now: {(layer title, size)}, the manifest bytes and digest, its created annotation.
Previous = namedtuple("Previous", "layers data digest created")
NOTHING = Previous(frozenset(), None, None, None)
# One file to push: ``digest`` is known in advance (option digests, or the cache in stream mode) or None.
Layer = namedtuple("Layer", "title path size annotations digest promised")
# What happened to a layer: its descriptor, its result entry, and the bytes sent.
Pushed = namedtuple("Pushed", "descriptor result sent")


def _string_map(value, where):
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ModuleInputError("%s must map annotation names to strings, e.g. {\"arch\": \"amd64\"}" % where)
    return dict(value)


def load_annotations(params, titles):
    """oras' annotation-file shape, from the file then the option; unknown targets are an error."""
    merged = {}
    sources = []
    if params.get("annotation_file"):
        path = params["annotation_file"]
        try:
            with open(path) as f:
                sources.append(("option annotation_file (%s)" % path, json.load(f)))
        except (IOError, OSError) as e:
            raise ModuleInputError("option annotation_file: cannot read %s: %s" % (path, e.strerror or e))
        except (ValueError, RecursionError) as e:
            raise ModuleInputError("option annotation_file: %s is not valid JSON: %s" % (path, e))
    if params.get("annotations"):
        sources.append(("option annotations", params["annotations"]))
    for where, data in sources:
        if not isinstance(data, dict):
            raise ModuleInputError("%s must be a JSON object of file name (or $manifest/$config) to annotations" % where)
        for key, value in data.items():
            if key not in titles and key not in (MANIFEST_KEY, CONFIG_KEY):
                raise ModuleInputError("%s: %r is neither a pushed file's base name (%s) nor $manifest/$config"
                                       % (where, key, ", ".join(sorted(titles))))
            merged.setdefault(key, {}).update(_string_map(value, "%s[%s]" % (where, key)))
    return merged


def check_files(paths):
    titles = {}
    for path in paths:
        if not os.path.exists(path):
            raise ModuleInputError("option files: %s does not exist" % path)
        if os.path.isdir(path):
            raise ModuleInputError("option files: %s is a directory; list the files to push (one layer each)" % path)
        if not os.access(path, os.R_OK):
            raise ModuleInputError("option files: %s is not readable by this user" % path)
        title = os.path.basename(path)
        if title in titles:
            raise ModuleInputError("option files: %s and %s have the same base name %r, which is the layer title; "
                                   "rename one" % (titles[title], path, title))
        titles[title] = path
    return titles


def check_known_digests(known, titles):
    for title, digest in known.items():
        if title not in titles:
            raise ModuleInputError("option digests: %r is not the base name of a pushed file (%s)"
                                   % (title, ", ".join(sorted(titles))))
        validate_digest(digest, "option digests[%s]" % title)
    return known


def read_previous(client, ref):
    """What the tag holds now (NOTHING when the tag does not exist)."""
    try:
        doc, media_type, digest, data = client.get_manifest_json(ref.tag)
    except RegistryNotFoundError:
        return NOTHING
    if media_type != OCI_MANIFEST:
        return Previous(frozenset(), data, digest, None)
    layers = [layer for layer in doc.get("layers") or [] if isinstance(layer, dict)]
    seen = frozenset(((layer.get("annotations") or {}).get(TITLE), layer.get("size")) for layer in layers)
    return Previous(seen, data, digest, (doc.get("annotations") or {}).get(CREATED))


def plan_layers(params, annotations, known, cache, stream):
    """One Layer per file, in order, with the digest already known where possible (no hashing here)."""
    layers = []
    for path in params["files"]:
        title = os.path.basename(path)
        layer_annotations = dict(annotations.get(title, {}))
        layer_annotations[TITLE] = title
        digest = known.get(title) or (cache.cached(path) if stream else None)
        layers.append(Layer(title, path, os.path.getsize(path), layer_annotations, digest, title in known))
    return layers


def layer_result(media_type, layer, digest, uploaded, sent):
    """The one place a layer's descriptor and its entry in the result are built."""
    desc = descriptor(media_type, digest, layer.size, layer.annotations)
    entry = {"title": layer.title, "digest": digest, "size": layer.size, "media_type": media_type,
             "annotations": desc["annotations"], "uploaded": uploaded}
    return Pushed(desc, entry, sent)


def stream_layer(module, client, cache, layer):
    """One pass (hash while the registry receives it); None when the registry refuses a streamed PATCH."""
    try:
        before = os.stat(layer.path)
        digest = client.upload_blob_stream(layer.path, layer.size)
    except RegistryStreamRefused as e:
        module.warn("%s; fell back to upload_mode=monolithic for %s (set upload_mode: monolithic for this registry)"
                    % (e, layer.title))
        return None
    cache.remember(layer.path, digest, before)
    return digest


def push_layer(module, client, cache, layer, ref):
    """HEAD the blob, check a promised digest, upload when missing: (digest, missing, bytes sent)."""
    digest = layer.digest or cache.digest(layer.path)
    missing = client.blob_size(digest) is None
    if layer.promised and (not missing or module.check_mode):
        # No upload for the registry to verify, so check the file against the promised digest here.
        actual = cache.digest(layer.path)
        if actual != digest:
            raise ModuleInputError("option digests[%s]: %s does not match the given digest %s (it hashes to %s); "
                                   "nothing was pushed to %s" % (layer.title, layer.path, digest, actual, ref.name))
    if missing and not module.check_mode:
        # The registry verifies ?digest= against what it receives, so a wrong promised digest fails the
        # upload; the kernel sends the file (sendfile), no second read here.
        client.upload_file(digest, layer.path, layer.size)
        return digest, True, layer.size
    return digest, missing, 0


def upload_layers(module, client, cache, layers, previous, ref, stream):
    media_type = module.params["layer_media_type"]
    pushed = []
    for layer in layers:
        # New content as far as the tag knows, in stream mode: one pass, hashing while uploading.
        if stream and layer.digest is None and (layer.title, layer.size) not in previous.layers:
            digest = stream_layer(module, client, cache, layer)
            if digest is not None:
                pushed.append(layer_result(media_type, layer, digest, True, layer.size))
                continue
        digest, missing, sent = push_layer(module, client, cache, layer, ref)
        pushed.append(layer_result(media_type, layer, digest, missing, sent))
    return pushed


def ensure_config(module, client):
    """The empty config blob must exist too; True when it was (or would be) uploaded."""
    missing = client.blob_size(EMPTY_DIGEST) is None
    if missing and not module.check_mode:
        client.upload_bytes(EMPTY_DIGEST, EMPTY_DATA)
    return missing


def write_manifest(module, client, ref, descriptors, annotations, previous):
    """Build the manifest, keeping the previous ``created`` when nothing else changed; PUT it if it differs."""
    manifest_annotations = annotations.get(MANIFEST_KEY)
    config_annotations = annotations.get(CONFIG_KEY)
    artifact_type = module.params["artifact_type"]
    body, manifest = build_manifest(descriptors, artifact_type, manifest_annotations, config_annotations,
                                    created=previous.created)
    changed = previous.data != body
    if changed and previous.created and not (manifest_annotations or {}).get(CREATED):
        body, manifest = build_manifest(descriptors, artifact_type, manifest_annotations, config_annotations)
    if changed and not module.check_mode:
        client.put_manifest(ref.tag, body, OCI_MANIFEST)
    return changed, body, manifest


def parse_inputs(params):
    """(reference, files by title, annotations, known digests), all validated before any network call."""
    ref = Reference.parse(params["reference"], require_tag=True)
    if ref.digest:
        raise ModuleInputError("option reference: %r carries a digest; push to a tag (REGISTRY/REPOSITORY:TAG)"
                               % params["reference"])
    if not params["files"]:
        raise ModuleInputError("option files: give at least one file to push")
    titles = check_files(params["files"])
    return ref, load_annotations(params, titles), check_known_digests(params.get("digests") or {}, titles)


def push(module):
    p = module.params
    ref, annotations, known = parse_inputs(p)
    cache = DigestCache(enabled=p["digest_cache"])
    client = client_from_params(p, ref, push=not module.check_mode)
    stream = p.get("upload_mode") == "stream" and not module.check_mode
    try:
        previous = read_previous(client, ref)
        layers = plan_layers(p, annotations, known, cache, stream)
        pushed = upload_layers(module, client, cache, layers, previous, ref, stream)
        cache.save()
        config_missing = ensure_config(module, client)
        changed, body, manifest = write_manifest(module, client, ref, [x.descriptor for x in pushed], annotations,
                                                 previous)
    finally:
        client.close()
    return push_result(module, ref, pushed, manifest, digest_of(body), previous,
                       changed or config_missing or any(x.result["uploaded"] for x in pushed))


def push_result(module, ref, pushed, manifest, manifest_digest, previous, changed):
    results = [x.result for x in pushed]
    result = dict(
        changed=changed,
        manifest_digest=manifest_digest,
        manifest=manifest,
        layers=results,
        download_url=ref.download_url(results[0]["digest"]),
        download_urls=dict((r["title"], ref.download_url(r["digest"])) for r in results),
        registry=ref.registry,
        repository=ref.repository,
        tag=ref.tag,
        uploaded_bytes=sum(x.sent for x in pushed),
    )
    if module._diff:
        result["diff"] = {
            "before": {"tag": ref.tag, "manifest_digest": previous.digest},
            "after": {"tag": ref.tag, "manifest_digest": manifest_digest},
        }
    return result
