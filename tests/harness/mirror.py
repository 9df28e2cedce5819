"""A loopback HTTP mirror laid out like the upstream release pages (ORAS, k0s)."""
import functools
import hashlib
import http.server
import io
import os
import shutil
import tarfile

from .servers import ThreadedServer


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class Mirror(ThreadedServer):
    """Serves ``root`` on 127.0.0.1 from a thread. ``url`` is the base URL."""

    def __init__(self, root):
        self.root = root
        os.makedirs(root, exist_ok=True)
        ThreadedServer.__init__(self, functools.partial(_QuietHandler, directory=root))


def _tar_gz(dest, members):
    """members: list of (name, bytes or path, mode)."""
    with tarfile.open(dest, "w:gz") as tar:
        for name, content, mode in members:
            if isinstance(content, bytes):
                info = tarfile.TarInfo(name)
                info.size = len(content)
                info.mode = mode
                tar.addfile(info, io.BytesIO(content))
            else:
                info = tar.gettarinfo(content, arcname=name)
                info.mode = mode
                with open(content, "rb") as f:
                    tar.addfile(info, f)


def build_oras_mirror(root, oras_binary, version, arches=("amd64", "arm64", "armv7"), tamper=None):
    """Lay out ``v<ver>/oras_<ver>_linux_<arch>.tar.gz`` and ``v<ver>/oras_<ver>_checksums.txt``.

    Every arch gets the real (host) oras binary: the mirror tests the download, not the CPU.
    ``tamper``: an arch whose tarball is replaced *after* the checksums are written by a valid
    tarball holding a different program, so only a checksum check can catch it.
    """
    d = os.path.join(root, "v%s" % version)
    os.makedirs(d, exist_ok=True)
    lines = []
    for arch in arches:
        name = "oras_%s_linux_%s.tar.gz" % (version, arch)
        path = os.path.join(d, name)
        _tar_gz(path, [("oras", oras_binary, 0o755), ("LICENSE", b"Apache-2.0\n", 0o644)])
        lines.append("%s  %s" % (sha256_file(path), name))
    with open(os.path.join(d, "oras_%s_checksums.txt" % version), "w") as f:
        f.write("\n".join(lines) + "\n")
    if tamper:
        name = "oras_%s_linux_%s.tar.gz" % (version, tamper)
        _tar_gz(os.path.join(d, name), [("oras", b"#!/bin/sh\necho pwned\n", 0o755),
                                        ("LICENSE", b"Apache-2.0\n", 0o644)])
    return d


def stand_in_k0s(path, version="v1.34.1+k0s.0", pad_bytes=0):
    """A small executable stand-in for k0s that prints its version (clearly labelled)."""
    body = "#!/bin/sh\n# k0smotron.oci test stand-in for k0s (NOT a real k0s binary)\necho %s\n" % version
    with open(path, "wb") as f:
        f.write(body.encode())
        if pad_bytes:
            f.write(b"#" + os.urandom(pad_bytes // 2).hex().encode()[: pad_bytes - 1])
    os.chmod(path, 0o755)
    return path


class ReleaseKey:
    """A signing key like the one a k0s release ships as cosign.pub (ECDSA P-256, cosign's default), for
    fake releases: ``sign(path)`` writes ``<path>.sig`` as ``cosign sign-blob`` does (base64 DER, SHA-256)."""

    def __init__(self):
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives import serialization
        self._key = ec.generate_private_key(ec.SECP256R1())
        self.public_pem = self._key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def sign(self, path):
        import base64
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        with open(path, "rb") as f:
            signature = self._key.sign(f.read(), ec.ECDSA(hashes.SHA256()))
        with open(path + ".sig", "w") as f:
            f.write(base64.b64encode(signature).decode())
        return path + ".sig"


RELEASE_KEY = ReleaseKey()


def build_k0s_mirror(root, version, files, key=RELEASE_KEY, bundles=None):
    """Lay out ``<version>/k0s-<version>-<arch>`` plus ``sha256sums.txt`` (``<hex> *<asset>``), and, as k0s does
    since v1.29.1, ``<asset>.sig`` for each binary and ``cosign.pub`` (``key``; None for an unsigned release).
    The source files get their ``.sig`` next to them too, as k0s_publish_files expects.

    files: dict arch -> local path of the binary to publish.
    bundles: dict arch -> local path of an airgap bundle, laid out as ``k0s-airgap-bundle-<version>-linux-<arch>.tar``
    and listed in ``sha256sums.txt``; unsigned, as upstream's are.
    """
    d = os.path.join(root, version)
    os.makedirs(d, exist_ok=True)
    lines = []
    for arch, src in sorted(files.items()):
        asset = "k0s-%s-%s" % (version, arch)
        shutil.copyfile(src, os.path.join(d, asset))
        lines.append("%s *%s" % (sha256_file(src), asset))
        if key is not None:
            key.sign(os.path.join(d, asset))
            key.sign(src)
    for arch, src in sorted((bundles or {}).items()):
        asset = "k0s-airgap-bundle-%s-linux-%s.tar" % (version, arch)
        shutil.copyfile(src, os.path.join(d, asset))
        lines.append("%s *%s" % (sha256_file(src), asset))
    if key is not None:
        with open(os.path.join(d, "cosign.pub"), "w") as f:
            f.write(key.public_pem)
    with open(os.path.join(d, "sha256sums.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return d
