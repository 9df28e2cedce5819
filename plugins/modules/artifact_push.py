#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: artifact_push
short_description: Push files to an OCI registry as an ORAS-compatible artifact
version_added: 0.1.0
description:
  - Pushes one or more files (for example a k0s release binary) to an OCI registry as an artifact that is
    byte-compatible with what C(oras push REGISTRY/REPO:TAG FILE... --annotation-file FILE) writes
    (OCI 1.1 image manifest, C(artifactType), the empty config blob, one
    C(application/vnd.oci.image.layer.v1.tar) layer per file with an C(org.opencontainers.image.title) annotation).
  - Returns the blob digest of each file and the C(oci://REGISTRY/REPO@sha256:...) download URL that
    k0smotron's C(K0sControlPlane.spec.k0sConfigSpec.downloadURL) takes. That is the layer (blob) digest,
    not the manifest digest.
  - Idempotent. Blobs the registry already has are not uploaded (HEAD), and an unchanged push keeps
    the previous C(org.opencontainers.image.created) annotation, so the manifest digest does not move and
    the result is RV(ignore:changed=false).
  - Files are streamed and hashed in 1 MiB chunks; memory use does not grow with the file size.
author:
  - k0smotron.oci maintainers (@k0sproject)
extends_documentation_fragment:
  - k0smotron.oci.registry
  - k0smotron.oci.attributes
  - k0smotron.oci.attributes.actiongroup_registry
attributes:
  check_mode:
    support: full
    details:
      - Contacts the registry read-only (HEAD, GET) to predict RV(ignore:changed); uploads nothing.
  diff_mode:
    support: full
    details:
      - Shows the tag and manifest digest before and after.
  idempotent:
    support: full
options:
  reference:
    description:
      - Where to push, C(REGISTRY/REPOSITORY:TAG), for example C(registry.example.com/k0s/k0s:v1.34.1-k0s.0).
      - Registries reject C(+) in tags; turn a k0s version into a tag with the P(k0smotron.oci.k0s_tag#filter) filter.
      - No C(oci://) prefix here; that belongs in the download URL.
    type: str
    required: true
  files:
    description:
      - Paths of the files to push, one layer each, in this order. The layer title is the file's base name,
        so base names must be unique.
    type: list
    elements: path
    required: true
  annotations:
    description:
      - Annotations in the shape of oras' C(--annotation-file). Keys are a file's base name (layer
        annotations), C($manifest) (manifest annotations) or C($config) (config descriptor annotations);
        values are string-to-string dictionaries.
      - "The seed example's C({\"k0s\": {\"arch\": \"amd64\"}}) annotates the C(k0s) layer."
      - Merged over O(annotation_file) (keys from this option win).
    type: dict
  annotation_file:
    description:
      - A JSON file in oras' C(--annotation-file) format (see O(annotations)).
    type: path
  artifact_type:
    description:
      - The manifest's C(artifactType). oras' default is used when not set.
    type: str
    default: application/vnd.unknown.artifact.v1
  layer_media_type:
    description:
      - Media type of every file layer (oras' default for plain files).
    type: str
    default: application/vnd.oci.image.layer.v1.tar
  digests:
    description:
      - Known digests per file base name (C(sha256:<hex>)), for example from a release's C(sha256sums.txt).
      - A known digest saves the hashing pass (the file is hashed while it is uploaded), and the
        registry rejects the upload if the file does not match, which fails the task.
    type: dict
  upload_mode:
    description:
      - How a blob whose digest is not known in advance (no O(digests) entry, no digest cache hit) is uploaded.
      - V(monolithic) (portable, works with every registry) hashes the file first, asks the registry whether it
        has the blob (HEAD) and, if not, sends it in one streamed C(PUT ?digest=) (two reads of the file).
      - V(stream) reads the file once. It sends the file in one streamed C(PATCH) while hashing it, then
        finishes the upload with a C(PUT ?digest=) without a body. This can be faster for new content (the
        hashing overlaps the transfer, see C(docs/performance.md)). It cannot ask the registry first, so it is only used when the tag has no layer of
        the same title and size yet (otherwise the file is hashed first as in V(monolithic), so an unchanged
        re-push still sends nothing). Registries that cap or refuse large C(PATCH) bodies (GHCR, ECR, GAR)
        make the module fall back to V(monolithic) for that blob, with a warning.
      - A digest known in advance (O(digests), the digest cache) always gives one pass, a monolithic C(PUT) that
        the registry verifies.
    type: str
    choices: [monolithic, stream]
    default: monolithic
  digest_cache:
    description:
      - Remember file digests in C($XDG_CACHE_HOME/k0smotron.oci/digests.json) keyed by device, inode,
        size, modification and change time, so that re-pushing an unchanged large file does not read it again.
    type: bool
    default: true
notes:
  - Blobs are uploaded before the manifest, so a manifest never references a blob the registry lacks.
seealso:
  - module: k0smotron.oci.artifact_info
  - module: k0smotron.oci.blob_fetch
  - name: ORAS push
    description: The CLI command this module replaces.
    link: https://oras.land/docs/commands/oras_push
"""

EXAMPLES = r"""
- name: Push a k0s binary like the k0smotron docs do with oras push
  k0smotron.oci.artifact_push:
    reference: "registry.example.com/my-repo/k0s:{{ 'v1.34.1+k0s.0' | k0smotron.oci.k0s_tag }}"
    files:
      - /tmp/k0s
    annotations:
      k0s:
        arch: amd64
    username: "{{ registry_user }}"
    password: "{{ registry_password }}"
  register: pushed

- name: Use the blob download URL in a K0sControlPlane
  ansible.builtin.debug:
    msg: "downloadURL: {{ pushed.download_url }}"

- name: Push with a digest known from the release's sha256sums.txt, to a local test registry
  k0smotron.oci.artifact_push:
    reference: 127.0.0.1:5000/k0s:v1.34.1-k0s.0
    files: [/srv/k0s/k0s]
    digests:
      k0s: "sha256:{{ k0s_sha256 }}"
    plain_http: true
"""

RETURN = r"""
manifest_digest:
  description: Digest of the pushed (or, in check mode, predicted) manifest.
  returned: success
  type: str
  sample: sha256:3f0c3a39c4e8d6a4c6e1b3c9d9f1b0f4f7e3c8a2b1d0e9f8a7b6c5d4e3f2a1b0
manifest:
  description: The manifest as pushed.
  returned: success
  type: dict
layers:
  description: One entry per file.
  returned: success
  type: list
  elements: dict
  contains:
    title:
      description: The file's base name (C(org.opencontainers.image.title)).
      type: str
      sample: k0s
    digest:
      description: The blob digest (sha256 of the file).
      type: str
    size:
      description: Size in bytes.
      type: int
    media_type:
      description: The layer media type.
      type: str
    annotations:
      description: The layer annotations.
      type: dict
    uploaded:
      description: Whether this run uploaded (or, in check mode, would upload) the blob.
      type: bool
download_url:
  description: C(oci://REGISTRY/REPOSITORY@sha256:...) of the first layer, for k0smotron's C(downloadURL).
  returned: success
  type: str
  sample: oci://registry.example.com/my-repo/k0s@sha256:2f1d5c8e0b2a4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e
download_urls:
  description: Download URL per layer title.
  returned: success
  type: dict
registry:
  description: Registry host (and port).
  returned: success
  type: str
repository:
  description: Repository name.
  returned: success
  type: str
tag:
  description: The tag pushed.
  returned: success
  type: str
uploaded_bytes:
  description: Blob bytes sent in this run (0 for an unchanged re-push and in check mode).
  returned: success
  type: int
"""

import json
import os
from collections import namedtuple

from ansible_collections.k0smotron.oci.plugins.module_utils._common import ModuleInputError, registry_module, run
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
from ansible_collections.k0smotron.oci.plugins.module_utils._registry_http import BytesBody, FileBody

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
        client.upload_blob(digest, FileBody(layer.path, layer.size))
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
        client.upload_blob(EMPTY_DIGEST, BytesBody(EMPTY_DATA))
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


def main():
    module = registry_module(
        dict(
            reference=dict(type="str", required=True),
            files=dict(type="list", elements="path", required=True),
            annotations=dict(type="dict"),
            annotation_file=dict(type="path"),
            artifact_type=dict(type="str", default="application/vnd.unknown.artifact.v1"),
            layer_media_type=dict(type="str", default="application/vnd.oci.image.layer.v1.tar"),
            digests=dict(type="dict"),
            digest_cache=dict(type="bool", default=True),
            upload_mode=dict(type="str", default="monolithic", choices=["monolithic", "stream"]),
        )
    )
    run(module, push)


if __name__ == "__main__":
    main()
