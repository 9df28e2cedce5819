# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
#
# This plugin util is PRIVATE to the collection. It can change at any time without notice.
"""cosign image signatures in a registry (legacy ``sha256-<hex>.sig`` tag scheme), controller side.

Signing appends one Simple Signing layer to the signature manifest, as ``cosign sign`` does, unless a
layer for the same payload already verifies with the signing key (then nothing changes: ECDSA
signatures differ on every run, so "same signature bytes" would never match). Verification walks from
a tag or digest (index -> per-platform manifests) to the manifest that has the blob as a layer, then
checks that manifest's signatures against the trusted keys and the payload's digest and repository.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import hashlib
import io
import json

from ansible_collections.k0smotron.oci.plugins.module_utils._media_types import INDEX_TYPES, OCI_MANIFEST
from ansible_collections.k0smotron.oci.plugins.module_utils._oras import digest_of
from ansible_collections.k0smotron.oci.plugins.module_utils._registry_errors import RegistryNotFoundError
from ansible_collections.k0smotron.oci.plugins.module_utils._resolve import descriptors
from ansible_collections.k0smotron.oci.plugins.plugin_utils._cosign import (
    SIGNATURE_ANNOTATION,
    SIMPLE_SIGNING_MEDIA_TYPE,
    CosignError,
    decode_signature,
    load_public_key,
    read_simple_signing_payload,
    signature_tag,
    simple_signing_payload,
    verify_with_any,
)

OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MAX_PAYLOAD = 64 << 10  # a Simple Signing payload is a few hundred bytes
NO_TLOG = "not checked: verification is offline, with pinned keys only (no Rekor transparency log, no Fulcio)"


class SignatureError(ValueError):
    """Signing or verification failed; the message names the manifest, the repository and the reason."""


def _config(layers):
    """An image config naming the layers, as cosign writes it (its own tools read ``rootfs``)."""
    return json.dumps({
        "architecture": "", "config": {}, "created": "0001-01-01T00:00:00Z",
        "history": [{"created": "0001-01-01T00:00:00Z"}], "os": "",
        "rootfs": {"type": "layers", "diff_ids": [layer["digest"] for layer in layers]},
    }, separators=(",", ":")).encode("utf-8")


def _read_payload(client, layer):
    size = layer.get("size")
    if not isinstance(size, int) or size < 0 or size > MAX_PAYLOAD:
        raise SignatureError("a signature layer of %s has size %r; a Simple Signing payload is at most %d bytes"
                             % (client.where, size, MAX_PAYLOAD))
    out = io.BytesIO()
    client.download_blob(layer["digest"], out, expected_size=size)
    return out.getvalue()


def _named_by(payload):
    try:
        return read_simple_signing_payload(payload)
    except CosignError:
        return None


def signature_layers(client, manifest_digest):
    """``(tag, manifest document or None, [(layer, payload bytes, signature bytes or None)])``."""
    tag = signature_tag(manifest_digest)
    try:
        doc, _media_type, _digest, _data = client.get_manifest_json(tag)
    except RegistryNotFoundError:
        return tag, None, []
    found = []
    for layer in descriptors(doc, "layers", "signature manifest %s of %s" % (tag, client.where)):
        if layer.get("mediaType") != SIMPLE_SIGNING_MEDIA_TYPE:
            continue
        text = (layer.get("annotations") or {}).get(SIGNATURE_ANNOTATION)
        try:
            signature = decode_signature(text) if text else None
        except CosignError:
            signature = None
        found.append((layer, _read_payload(client, layer), signature))
    return tag, doc, found


def sign_manifest(client, docker_reference, manifest_digest, key, check_mode=False):
    """Sign ``manifest_digest`` of ``docker_reference`` (``REG/REPO``) with ``key`` (a _cosign.PrivateKey).
    Returns a result dict; ``changed`` is False when a signature by this key for this payload exists."""
    tag, doc, found = signature_layers(client, manifest_digest)
    payload = simple_signing_payload(docker_reference, manifest_digest)
    result = dict(manifest_digest=manifest_digest, signature_tag=tag, key_fingerprint=key.public.fingerprint)
    for _layer, existing, signature in found:
        if signature is not None and _named_by(existing) == (docker_reference, manifest_digest) \
                and key.public.verify(signature, data=existing):
            return dict(result, changed=False)
    if check_mode:
        return dict(result, changed=True)
    layer = dict(mediaType=SIMPLE_SIGNING_MEDIA_TYPE, size=len(payload), digest=digest_of(payload),
                 annotations={SIGNATURE_ANNOTATION: key.sign(payload)})
    layers = list((doc or {}).get("layers") or []) + [layer]
    config = _config(layers)
    for data in (payload, config):
        if client.blob_size(digest_of(data)) is None:
            client.upload_bytes(digest_of(data), data)
    manifest = json.dumps(dict(schemaVersion=2, mediaType=OCI_MANIFEST,
                               config=dict(mediaType=OCI_CONFIG, size=len(config), digest=digest_of(config)),
                               layers=layers), separators=(",", ":")).encode("utf-8")
    result["signature_manifest_digest"] = client.put_manifest(tag, manifest, OCI_MANIFEST)
    return dict(result, changed=True)


def manifests_with_blob(client, reference, blob_digest):
    """Digests of the manifests reachable from ``reference`` (tag or digest; an index is walked one level)
    that have ``blob_digest`` as a layer, and the digests of every manifest that was looked at."""
    doc, media_type, digest, _data = client.get_manifest_json(reference)
    candidates = [(doc, digest)]
    if media_type in INDEX_TYPES or doc.get("mediaType") in INDEX_TYPES:
        candidates = []
        for entry in descriptors(doc, "manifests", "index %s of %s" % (digest, client.where)):
            child, _mt, child_digest, _d = client.get_manifest_json(entry["digest"])
            candidates.append((child, child_digest))
    matching = [d for child, d in candidates
                if any(layer.get("digest") == blob_digest
                       for layer in descriptors(child, "layers", "manifest %s of %s" % (d, client.where)))]
    return matching, [d for _c, d in candidates]


def verify_blob_in_artifact(client, docker_reference, reference, blob_digest, keys):
    """Find the manifest (from ``reference``) whose layer is ``blob_digest`` and verify its cosign signature
    with one of ``keys``. Returns ``{manifest_digest, signature_tag, key_fingerprint, docker_reference}``;
    raises SignatureError naming what failed."""
    matching, looked_at = manifests_with_blob(client, reference, blob_digest)
    if not matching:
        raise SignatureError(
            "blob %s is not a layer of %s in %s (manifests looked at: %s): the download URL does not belong to "
            "the signed artifact" % (blob_digest, reference, client.where, ", ".join(looked_at)))
    problems = []
    for manifest_digest in matching:
        tag, _doc, found = signature_layers(client, manifest_digest)
        if not found:
            problems.append("manifest %s has no cosign signature (no tag %s)" % (manifest_digest, tag))
            continue
        signed_by_trusted = False
        for _layer, payload, signature in found:
            key = verify_with_any(keys, signature, data=payload) if signature else None
            if key is None:
                continue
            signed_by_trusted = True
            named = _named_by(payload)
            if named is None:
                problems.append("a signature of manifest %s verifies, but its payload is not a Simple Signing "
                                "payload" % manifest_digest)
            elif named[1] != manifest_digest:
                problems.append("a signature at %s verifies with key %s but is for manifest %s, not %s"
                                % (tag, key.fingerprint, named[1], manifest_digest))
            elif named[0] != docker_reference:
                problems.append("the signature of manifest %s (key %s) was made for repository %s, not %s"
                                % (manifest_digest, key.fingerprint, named[0], docker_reference))
            else:
                return dict(manifest_digest=manifest_digest, signature_tag=tag, key_fingerprint=key.fingerprint,
                            docker_reference=docker_reference)
        if not signed_by_trusted:
            problems.append("manifest %s has %d signature(s) at %s, none by a trusted key (trusted: %s)"
                            % (manifest_digest, len(found), tag, ", ".join(k.fingerprint for k in keys)))
    raise SignatureError("blob %s in %s: no valid signature by a trusted key: %s"
                         % (blob_digest, client.where, "; ".join(problems)))


def check_release_key(path, keys, pin_with="the trusted keys"):
    """The key a release ships (``cosign.pub``) proves nothing by itself; it must be one of the pinned ``keys``."""
    with open(path, "rb") as f:
        release_key = load_public_key(f.read(), "the release's key %s" % path)
    if release_key.fingerprint not in [k.fingerprint for k in keys]:
        raise CosignError(
            "the release's key %s (fingerprint %s) is not one of the pinned keys (%s): it changed, or the download "
            "was tampered with. If you trust it, check it out of band and add its PEM text to %s"
            % (path, release_key.fingerprint, ", ".join(k.fingerprint for k in keys), pin_with))
    return release_key


def _sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.digest()


def verify_file(path, signature_path, keys, release_key_path=None):
    """Check a detached ``cosign sign-blob`` signature of a file on the controller with the pinned keys.
    A release's own ``cosign.pub`` (``release_key_path``) must be one of them: a new key is shown by its
    fingerprint, never trusted by itself."""
    if release_key_path:
        check_release_key(release_key_path, keys)
    with open(signature_path, "rb") as f:
        signature = decode_signature(f.read(), "signature %s" % signature_path)
    data = None
    if any(k.kind == "ed25519" for k in keys):  # Ed25519 signs the whole message, not a digest
        with open(path, "rb") as f:
            data = f.read()
    digest = hashlib.sha256(data).digest() if data is not None else _sha256_of(path)
    key = verify_with_any(keys, signature, data=data, sha256=digest)
    if key is None:
        pinned = ", ".join(k.fingerprint for k in keys)
        raise CosignError("%s: signature %s does not verify with any pinned key (%s): the file or the signature was "
                          "changed, or it was signed with another key" % (path, signature_path, pinned))
    return dict(path=path, sha256=binascii.hexlify(digest).decode("ascii"), key_fingerprint=key.fingerprint,
                msg="%s: signature verified with key %s" % (path, key.fingerprint))
