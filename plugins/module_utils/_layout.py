# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
#
# This module util is PRIVATE to the collection. It can change at any time without notice.
"""An OCI image layout (a directory, or a tar read in place) and how its images map onto a registry.

A k0s airgap bundle is such a tar: ``oci-layout``, ``index.json`` whose entries carry
``org.opencontainers.image.ref.name`` with the full image name (``quay.io/k0sproject/pause:3.10.1``), and
``blobs/sha256/<hex>``. Nothing is unpacked: a blob is a byte range of the tar (``offset``, ``size``), sent with
``sendfile`` like any file. Manifests and indexes are read small (capped) and checked against their digests;
layers are checked by the registry against the ``?digest=`` of the upload.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import re
import tarfile
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.k0smotron.oci.plugins.module_utils._media_types import INDEX_TYPES
from ansible_collections.k0smotron.oci.plugins.module_utils._reference import is_registry_host, validate_digest

REF_NAME = "org.opencontainers.image.ref.name"
MAX_DOCUMENT = 4 << 20  # index.json, manifests and indexes; what registries and oras accept for manifests
IMAGE_CONFIG_TYPES = ("application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


class LayoutError(ValueError):
    """The layout is unusable; the message names the file and what is wrong."""


class Blob:
    """Where a blob's bytes are: ``path`` from ``offset``, ``size`` bytes."""

    def __init__(self, path, offset, size):
        self.path = path
        self.offset = offset
        self.size = size


class Layout:
    def __init__(self, path):
        self.path = path
        self._members = None
        if os.path.isdir(path):
            return
        try:
            with tarfile.open(path, "r:") as tar:  # "r:" refuses compression: offsets must be offsets of the file
                self._members = dict((m.name[2:] if m.name.startswith("./") else m.name, m) for m in tar.getmembers())
        except tarfile.ReadError as e:
            raise LayoutError("%s is neither a directory nor an uncompressed tar of an OCI image layout (%s)"
                              % (path, e))
        if self._members.get("oci-layout") is None:
            raise LayoutError("%s has no oci-layout file: not an OCI image layout" % path)

    def _locate(self, name):
        if self._members is None:
            full = os.path.join(self.path, name)
            if not os.path.isfile(full):
                return None
            return Blob(full, 0, os.path.getsize(full))
        member = self._members.get(name)
        if member is None:
            return None
        if not member.isfile():
            raise LayoutError("%s: %s is not a regular file in the tar" % (self.path, name))
        return Blob(self.path, member.offset_data, member.size)

    def _read(self, name, what):
        where = self._locate(name)
        if where is None:
            raise LayoutError("%s has no %s (%s)" % (self.path, what, name))
        if where.size > MAX_DOCUMENT:
            raise LayoutError("%s: %s is larger than %d MiB; refused" % (self.path, what, MAX_DOCUMENT >> 20))
        with open(where.path, "rb") as f:
            f.seek(where.offset)
            return f.read(where.size)

    def blob(self, digest):
        validate_digest(digest, "blob digest in %s" % self.path)
        algorithm, hexpart = digest.split(":", 1)
        where = self._locate("blobs/%s/%s" % (algorithm, hexpart))
        if where is None:
            raise LayoutError("%s does not hold blob %s that its manifests name" % (self.path, digest))
        return where

    def document(self, digest):
        """A manifest or index by digest: (bytes, parsed object); the bytes must hash to the digest."""
        validate_digest(digest, "digest in %s" % self.path)
        algorithm, hexpart = digest.split(":", 1)
        data = self._read("blobs/%s/%s" % (algorithm, hexpart), "manifest %s" % digest)
        if hashlib.new(algorithm, data).hexdigest() != hexpart:
            raise LayoutError("%s: manifest %s does not match its digest" % (self.path, digest))
        return data, _json_object(data, "manifest %s in %s" % (digest, self.path))

    def index(self):
        layout = _json_object(self._read("oci-layout", "oci-layout file"), "oci-layout of %s" % self.path)
        if layout.get("imageLayoutVersion") != "1.0.0":
            raise LayoutError("%s: imageLayoutVersion %r; 1.0.0 is known" % (self.path, layout.get("imageLayoutVersion")))
        return _json_object(self._read("index.json", "index.json"), "index.json of %s" % self.path)


def _json_object(data, what):
    try:
        doc = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise LayoutError("%s is not JSON" % what)
    if not isinstance(doc, dict):
        raise LayoutError("%s is not a JSON object" % what)
    return doc


def _descriptor(entry, where):
    if not isinstance(entry, dict) or not isinstance(entry.get("digest"), str) or not isinstance(entry.get("size"), int) \
            or isinstance(entry.get("size"), bool) or entry["size"] < 0:
        raise LayoutError("%s has an entry that is not a descriptor (digest, size)" % where)
    validate_digest(entry["digest"], where)
    return entry


def target_name(ref_name, prefix="", tag_suffix=""):
    """``(repository, tag)`` in the target registry for a ``ref.name``: the source registry host is dropped and
    its path kept (``quay.io/k0sproject/pause:3.10.1`` -> ``k0sproject/pause``, ``3.10.1``), as k0s'
    ``spec.images.repository`` maps them; ``prefix`` goes in front, ``tag_suffix`` after the tag."""
    name, tag = ref_name, None
    if "@" in name:
        raise LayoutError("ref.name %r carries a digest; a name with a tag is needed to push it by tag" % ref_name)
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = name.rsplit(":", 1)
    if not tag or not _TAG.fullmatch(tag) or "/" not in name:
        raise LayoutError("ref.name %r is not a full image name with a tag (REGISTRY/PATH:TAG)" % ref_name)
    if tag_suffix:
        tag += tag_suffix
        if not _TAG.fullmatch(tag):
            raise LayoutError("ref.name %r with the tag suffix %r gives %r, which is not a valid tag"
                              % (ref_name, tag_suffix, tag))
    first, rest = name.split("/", 1)
    path = rest if is_registry_host(first) else name
    return "/".join(part for part in (prefix.strip("/"), path) if part), tag


class Image:
    """One tagged entry of index.json: where it goes and every blob and manifest under it, in push order."""

    def __init__(self, ref_name, repository, tag, descriptor):
        self.ref_name = ref_name
        self.repository = repository
        self.tag = tag
        self.descriptor = descriptor
        self.blobs = []       # descriptors of configs and layers
        self.manifests = []   # (digest, media type, bytes): children before parents, the tagged one last
        self.platforms = []   # [{digest, platform "os/arch[/variant]"}] of the platform manifests under the tag


def _walk(layout, image, descriptor, depth=0):
    if depth > 2:
        raise LayoutError("%s: %s nests indexes deeper than an index of manifests" % (layout.path, image.ref_name))
    data, doc = layout.document(descriptor["digest"])
    media_type = doc.get("mediaType") or descriptor.get("mediaType")
    where = "%s in %s" % (descriptor["digest"], layout.path)
    if media_type in INDEX_TYPES or "manifests" in doc:
        for child in doc.get("manifests") or []:
            child = _descriptor(child, where)
            _walk(layout, image, child, depth + 1)
            if depth == 0 and isinstance(child.get("platform"), dict):
                image.platforms.append(dict(digest=child["digest"], platform=_platform(child["platform"])))
    else:
        if depth == 0:
            # A single-platform image: its platform is in its descriptor, else in its config.
            config = _descriptor(doc.get("config"), where)
            platform = descriptor.get("platform") or (
                layout.document(config["digest"])[1] if config.get("mediaType") in IMAGE_CONFIG_TYPES else {})
            image.platforms.append(dict(digest=descriptor["digest"], platform=_platform(platform)))
        for blob in [doc.get("config")] + list(doc.get("layers") or []):
            blob = _descriptor(blob, where)
            if blob["digest"] not in [b["digest"] for b in image.blobs]:
                image.blobs.append(blob)
    if not media_type:
        raise LayoutError("%s names no media type" % where)
    image.manifests.append((descriptor["digest"], media_type, data))


def _platform(doc):
    """``os/arch[/variant]`` of a descriptor's ``platform`` or an image config."""
    return "/".join(str(doc[k]) for k in ("os", "architecture", "variant") if doc.get(k))


def images(layout, prefix="", tag_suffix=""):
    """Every tagged image of the layout, walked."""
    index = layout.index()
    found = []
    for entry in index.get("manifests") or []:
        entry = _descriptor(entry, "index.json of %s" % layout.path)
        ref_name = (entry.get("annotations") or {}).get(REF_NAME)
        if not ref_name:
            raise LayoutError("index.json of %s has an entry (%s) without %s: no name to push it under"
                              % (layout.path, entry["digest"], REF_NAME))
        repository, tag = target_name(ref_name, prefix, tag_suffix)
        image = Image(ref_name, repository, tag, entry)
        _walk(layout, image, entry)
        found.append(image)
    if not found:
        raise LayoutError("index.json of %s lists no image" % layout.path)
    return found


def _send_blob(layout, client, blob):
    where = layout.blob(blob["digest"])
    if where.size != blob["size"]:
        raise LayoutError("%s: blob %s has %d bytes, its descriptor says %d"
                          % (layout.path, blob["digest"], where.size, blob["size"]))
    client.upload_file(blob["digest"], where.path, where.size, where.offset)


def _push_image(layout, image, client, holders, check_mode):
    result = dict(name=image.ref_name, repository=image.repository, tag=image.tag, digest=image.descriptor["digest"],
                  platforms=image.platforms,
                  uploaded_blobs=0, uploaded_bytes=0, mounted_blobs=0, existing_blobs=0, pushed_manifests=0)
    for blob in image.blobs:
        digest = blob["digest"]
        holder, sent_now = holders.get(digest, (None, False))
        if holder == image.repository and sent_now:
            result["uploaded_blobs"] += 1
            result["uploaded_bytes"] += blob["size"]
        elif holder == image.repository or client.blob_size(digest) is not None:
            result["existing_blobs"] += 1
        elif holder and (check_mode or client.mount_blob(digest, holder)):
            result["mounted_blobs"] += 1
        else:
            if not check_mode:
                _send_blob(layout, client, blob)
            result["uploaded_blobs"] += 1
            result["uploaded_bytes"] += blob["size"]
    for digest, media_type, data in image.manifests[:-1]:
        if not client.manifest_exists(digest):
            if not check_mode:
                client.put_manifest(digest, data, media_type)
            result["pushed_manifests"] += 1
    digest, media_type, data = image.manifests[-1]
    if client.manifest_digest(image.tag) != digest:
        if not check_mode:
            client.put_manifest(image.tag, data, media_type)
        result["pushed_manifests"] += 1
    result["changed"] = bool(result["uploaded_blobs"] or result["mounted_blobs"] or result["pushed_manifests"])
    return result


def push_images(layout, found, new_client, check_mode=False, workers=4):
    """Push every image of ``found``; ``new_client(repository)`` makes a RegistryClient for a target repository.

    A blob the repository has is skipped. A blob that several images share (a base layer) is sent once, with the
    first image that has it, and mounted into the others' repositories (``POST ?mount=``), so it is never sent
    twice. Manifests and indexes are sent as the layout has them, so every digest stays what it was; the tag is
    written last, and only when it names another digest. Images go up ``workers`` at a time (as ``oras cp`` sends
    three blobs at a time): a registry's per-request latency, not the bytes, dominates a bundle of small images.
    Returns ``(results, uploaded_bytes)``; in check mode nothing is written and the counts are what would be."""
    holders, owners = {}, {}  # shared blob -> (repository that has it, sent by this run); blob -> its images
    for image in found:
        for blob in image.blobs:
            owners.setdefault(blob["digest"], []).append(image)
    # Shared blobs first, one by one, so that every image after can mount them.
    for digest, images_with_it in owners.items():
        if len(images_with_it) > 1:
            owner = images_with_it[0]
            client = new_client(owner.repository)
            try:
                sent = client.blob_size(digest) is None
                if sent and not check_mode:
                    _send_blob(layout, client, [b for b in owner.blobs if b["digest"] == digest][0])
            finally:
                client.close()
            holders[digest] = (owner.repository, sent)

    def one(image):
        client = new_client(image.repository)
        try:
            return _push_image(layout, image, client, holders, check_mode)
        finally:
            client.close()

    pool = ThreadPoolExecutor(max_workers=max(1, min(workers, len(found))))
    try:
        results = list(pool.map(one, found))
    finally:
        pool.shutdown(wait=True)
    return results, sum(r["uploaded_bytes"] for r in results)
