"""A small k0s airgap bundle made here: an OCI image layout (directory or tar) whose images are named exactly
as k0s v1.34.1+k0s.0 names its default image list (pkg/airgap/images.go GetImageURIs with the constants of
pkg/constant/constant.go at that tag), each a tiny multi-platform image (linux/amd64 + linux/arm64).

Every image shares one base layer, so a push mounts it across repositories instead of sending it again.
Deterministic: the same arguments give the same bytes, so digests can be compared between runs and tools.
"""
import gzip
import hashlib
import io
import json
import os
import tarfile

K0S_VERSION = "v1.34.1+k0s.0"
# `k0s airgap list-images` of v1.34.1+k0s.0 with the default configuration.
K0S_IMAGES = (
    "quay.io/k0sproject/calico-cni:v3.29.6-0",
    "quay.io/k0sproject/calico-kube-controllers:v3.29.6-0",
    "quay.io/k0sproject/calico-node:v3.29.6-0",
    "quay.io/k0sproject/coredns:1.13.1",
    "quay.io/k0sproject/apiserver-network-proxy-agent:v0.33.0",
    "quay.io/k0sproject/kube-proxy:v1.34.1",
    "quay.io/k0sproject/kube-router:v2.6.1-iptables1.8.11-0",
    "quay.io/k0sproject/cni-node:1.8.0-k0s.0",
    "quay.io/k0sproject/metrics-server:v0.7.2-0",
    "quay.io/k0sproject/pause:3.10.1",
)
PLATFORMS = (("linux", "amd64"), ("linux", "arm64"))
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def _json(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def _digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _layer(files):
    """(gzipped tar bytes, diff_id) of a tar holding ``files`` {name: bytes}."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o755
            tar.addfile(info, io.BytesIO(data))
    plain = raw.getvalue()
    gz = io.BytesIO()
    with gzip.GzipFile(fileobj=gz, mode="wb", mtime=0) as f:
        f.write(plain)
    return gz.getvalue(), _digest(plain)


class Bundle:
    """blobs {digest: bytes} and the index.json entries, for ``images``; ``pad`` incompressible bytes make the
    layers bigger (for the benchmark), spread over the images' own layers. ``platforms``: one for a bundle of one
    architecture as k0s ships them; ``flat``: index.json names each image's manifest itself, not an index over it."""

    def __init__(self, images=K0S_IMAGES, pad=0, platforms=PLATFORMS, flat=False):
        self.blobs = {}
        self.entries = []
        self.platform_manifests = {}  # (ref.name, "os/arch") -> digest of that platform's manifest
        base, base_diff = _layer({"etc/os-release": b"NAME=k0smotron.oci test base\n"})
        self._add(base)
        for name in images:
            manifests = []
            for os_name, arch in platforms:
                seed = ("%s %s/%s" % (name, os_name, arch)).encode()
                filler = hashlib.shake_256(seed).digest(pad // (len(images) * len(platforms))) if pad else b""
                own, own_diff = _layer({"bin/" + name.rsplit("/", 1)[1].split(":")[0]:
                                        b"#!/bin/sh\necho " + seed + b"\n" + filler})
                config = _json({"architecture": arch, "os": os_name, "config": {},
                                "rootfs": {"type": "layers", "diff_ids": [base_diff, own_diff]}})
                manifest = _json({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                                  "config": self._descriptor(OCI_CONFIG, config),
                                  "layers": [self._descriptor(OCI_LAYER, base), self._descriptor(OCI_LAYER, own)]})
                manifests.append(dict(self._descriptor(OCI_MANIFEST, manifest),
                                      platform={"architecture": arch, "os": os_name}))
                self.platform_manifests[(name, "%s/%s" % (os_name, arch))] = manifests[-1]["digest"]
            if flat:
                entries = [dict((k, v) for k, v in m.items() if k != "platform") for m in manifests]
            else:
                entries = [self._descriptor(OCI_INDEX, _json({"schemaVersion": 2, "mediaType": OCI_INDEX,
                                                              "manifests": manifests}))]
            self.entries.extend(dict(e, annotations={"org.opencontainers.image.ref.name": name}) for e in entries)

    def _add(self, data):
        self.blobs[_digest(data)] = data
        return _digest(data)

    def _descriptor(self, media_type, data):
        return {"mediaType": media_type, "digest": self._add(data), "size": len(data)}

    def files(self):
        """{path in the layout: bytes}."""
        out = {"oci-layout": _json({"imageLayoutVersion": "1.0.0"}),
               "index.json": _json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": self.entries})}
        for digest, data in self.blobs.items():
            out["blobs/sha256/" + digest.split(":")[1]] = data
        return out

    def digests(self):
        """{ref.name: digest of its index}."""
        return dict((e["annotations"]["org.opencontainers.image.ref.name"], e["digest"]) for e in self.entries)

    def write_dir(self, path):
        for name, data in self.files().items():
            full = os.path.join(path, name)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "wb") as f:
                f.write(data)
        return path

    def write_tar(self, path):
        with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
            for name, data in sorted(self.files().items()):
                info = tarfile.TarInfo(name)
                info.size, info.mtime, info.mode = len(data), 0, 0o644
                tar.addfile(info, io.BytesIO(data))
        return path
