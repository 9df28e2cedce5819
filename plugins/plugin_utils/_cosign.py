# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
#
# This plugin util is PRIVATE to the collection. It can change at any time without notice.
"""cosign-compatible keys and signatures, offline (no transparency log, no Fulcio).

What cosign does, and so what this file must match (checked against the real ``cosign`` 2.5 CLI in
``tests/functional/test_cosign_interop.py``):

- ``cosign verify-blob --key`` and ``verify --key`` accept ECDSA keys on any curve with SHA-256,
  RSA with PKCS#1 v1.5 and SHA-256, and Ed25519 over the whole message. A signature is base64 text.
- ``cosign generate-key-pair`` writes ``ENCRYPTED SIGSTORE PRIVATE KEY`` (older releases:
  ``ENCRYPTED COSIGN PRIVATE KEY``): base64 JSON of scrypt parameters and a NaCl secretbox that holds
  the PKCS#8 DER key. NaCl is not in ``cryptography``, so secretbox (XSalsa20-Poly1305) is here, in a
  few lines of pure Python: it only ever opens a few hundred bytes.
- Image signatures in the legacy scheme are a manifest at tag ``sha256-<hex>.sig`` whose layers are
  Simple Signing payloads; the base64 signature is the layer annotation
  ``dev.cosignproject.cosign/signature`` (sigstore/cosign ``specs/SIGNATURE_SPEC.md``).

``cryptography`` is imported when a key is first used: it is on every Ansible controller, and a module
that never signs or verifies does not need it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import hashlib
import hmac
import json
import struct

SIMPLE_SIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
SIMPLE_SIGNING_TYPE = "cosign container image signature"
ENCRYPTED_KEY_LABELS = ("ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY")
# Large enough for cosign's scrypt N=65536, r=8 (64 MiB), and no larger: a key file cannot make us
# allocate more than this.
_SCRYPT_MAXMEM = 160 * 1024 * 1024


class CosignError(ValueError):
    """A key or a signature is unusable or does not verify; the message says which and why (no secrets)."""


def _crypto():
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils
    except ImportError:
        raise CosignError("signing and signature checks need the Python package 'cryptography' where the "
                          "task runs (pip install cryptography)")
    return dict(InvalidSignature=InvalidSignature, hashes=hashes, serialization=serialization, ec=ec,
                ed25519=ed25519, padding=padding, rsa=rsa, utils=utils)


# --------------------------------------------------------------------------- public keys
class PublicKey:
    """A verification key with a stable name: ``sha256:<hex>`` of its DER SubjectPublicKeyInfo."""

    def __init__(self, key, fingerprint, kind):
        self.key = key
        self.fingerprint = fingerprint
        self.kind = kind

    def verify(self, signature, data=None, sha256=None):
        """True if ``signature`` (raw bytes) signs ``data``; ECDSA and RSA may take the message's
        ``sha256`` digest instead (large files are hashed once, streamed). Ed25519 needs ``data``."""
        c = _crypto()
        try:
            if self.kind == "ed25519":
                if data is None:
                    raise CosignError("an Ed25519 signature covers the whole message; it was not given")
                self.key.verify(signature, data)
                return True
            if data is not None:
                sha256 = hashlib.sha256(data).digest()
            prehashed = c["utils"].Prehashed(c["hashes"].SHA256())
            if self.kind == "ecdsa":
                self.key.verify(signature, sha256, c["ec"].ECDSA(prehashed))
            else:
                self.key.verify(signature, sha256, c["padding"].PKCS1v15(), prehashed)
            return True
        except c["InvalidSignature"]:
            return False


def _key_kind(key):
    c = _crypto()
    if isinstance(key, c["ec"].EllipticCurvePublicKey):
        return "ecdsa"
    if isinstance(key, c["rsa"].RSAPublicKey):
        if key.key_size < 2048:
            raise CosignError("RSA keys shorter than 2048 bits are refused (this one has %d)" % key.key_size)
        return "rsa"
    if isinstance(key, c["ed25519"].Ed25519PublicKey):
        return "ed25519"
    raise CosignError("key type %s is not one cosign verifies with --key (ECDSA, RSA, Ed25519)"
                      % type(key).__name__.lstrip("_"))


def public_key(key):
    c = _crypto()
    der = key.public_bytes(c["serialization"].Encoding.DER, c["serialization"].PublicFormat.SubjectPublicKeyInfo)
    return PublicKey(key, "sha256:" + hashlib.sha256(der).hexdigest(), _key_kind(key))


def load_public_key(pem, name="the public key"):
    """One PEM ``PUBLIC KEY`` (as ``cosign.pub``); ``name`` says in errors where it came from."""
    c = _crypto()
    data = pem.encode("utf-8") if not isinstance(pem, bytes) else pem
    try:
        key = c["serialization"].load_pem_public_key(data.strip() + b"\n")
    except (ValueError, TypeError) as e:
        raise CosignError("%s is not a PEM public key (%s)" % (name, str(e).split("\n", 1)[0]))
    try:
        return public_key(key)
    except CosignError as e:
        raise CosignError("%s: %s" % (name, e))


def pem_or_file(entry, option):
    """``(PEM bytes, name for errors)`` of a key entry: PEM text, or the path of a PEM file on the controller."""
    if entry.lstrip().startswith("-----BEGIN"):
        return entry.encode("utf-8"), "%s (PEM text)" % option
    try:
        with open(entry, "rb") as f:
            return f.read(), "%s %s" % (option, entry)
    except (IOError, OSError) as e:
        raise CosignError("%s: %s is neither PEM text nor a readable file on the controller (%s)"
                          % (option, entry, e.strerror or e))


def trusted_keys_from(entries, option):
    """The public keys of ``entries`` (PEM text or files), duplicates dropped; at least one."""
    keys, seen = [], set()
    for entry in entries:
        pem, name = pem_or_file(entry, option)
        key = load_public_key(pem, name)
        if key.fingerprint not in seen:
            seen.add(key.fingerprint)
            keys.append(key)
    if not keys:
        raise CosignError("%s: empty; give at least one PEM public key (text or file)" % option)
    return keys


def decode_signature(text, name="the signature"):
    """A cosign signature is base64 text (``<asset>.sig``, or the layer annotation)."""
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    try:
        raw = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if not raw:
        raise CosignError("%s is not base64 signature text" % name)
    return raw


def verify_with_any(keys, signature, data=None, sha256=None):
    """The first of ``keys`` that verifies ``signature``, or None."""
    for key in keys:
        if key.verify(signature, data=data, sha256=sha256):
            return key
    return None


# --------------------------------------------------------------------------- private keys
class PrivateKey:
    def __init__(self, key):
        self.key = key
        self.public = public_key(key.public_key())

    def sign(self, data):
        """Base64 signature text of ``data``, in the form cosign writes and verifies."""
        c = _crypto()
        if self.public.kind == "ed25519":
            raw = self.key.sign(data)
        elif self.public.kind == "ecdsa":
            raw = self.key.sign(data, c["ec"].ECDSA(c["hashes"].SHA256()))
        else:
            raw = self.key.sign(data, c["padding"].PKCS1v15(), c["hashes"].SHA256())
        return base64.b64encode(raw).decode("ascii")


def _pem_body(text, label):
    begin, end = "-----BEGIN %s-----" % label, "-----END %s-----" % label
    start = text.find(begin)
    stop = text.find(end, start)
    if start < 0 or stop < 0:
        return None
    return text[start + len(begin):stop]


def load_private_key(pem, password=None, name="the signing key"):
    """A private key as ``cosign generate-key-pair`` writes it (encrypted with ``password``), or plain
    PEM (PKCS#8, SEC1, PKCS#1; encrypted PKCS#8 with ``password``). Errors never quote the key."""
    text = pem.decode("utf-8", "replace") if isinstance(pem, bytes) else pem
    pw = password.encode("utf-8") if isinstance(password, str) else (password or b"")
    for label in ENCRYPTED_KEY_LABELS:
        body = _pem_body(text, label)
        if body is not None:
            der = _open_cosign_key(body, pw, name)
            return _private_from(lambda c: c["serialization"].load_der_private_key(der, None), name)
    return _private_from(
        lambda c: c["serialization"].load_pem_private_key(text.strip().encode("utf-8") + b"\n", pw or None), name)


def _private_from(loader, name):
    c = _crypto()
    try:
        key = loader(c)
    except TypeError:
        raise CosignError("%s is encrypted: give its password" % name)
    except ValueError:
        raise CosignError("%s could not be read: not a PEM private key, or a wrong password" % name)
    try:
        return PrivateKey(key)
    except CosignError as e:
        raise CosignError("%s: %s" % (name, e))


def _open_cosign_key(body, password, name):
    try:
        doc = json.loads(base64.b64decode("".join(body.split()), validate=True))
        kdf, cipher = doc["kdf"], doc["cipher"]
        params = kdf["params"]
        salt = base64.b64decode(kdf["salt"])
        nonce = base64.b64decode(cipher["nonce"])
        box = base64.b64decode(doc["ciphertext"])
        n, r, p = int(params["N"]), int(params["r"]), int(params["p"])
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise CosignError("%s is not a cosign encrypted key (its JSON is not readable)" % name)
    if kdf.get("name") != "scrypt" or cipher.get("name") != "nacl/secretbox" or len(nonce) != 24:
        raise CosignError("%s uses %s/%s; only scrypt with nacl/secretbox is known"
                          % (name, kdf.get("name"), cipher.get("name")))
    if n < 2 or n & (n - 1) or 128 * r * n > _SCRYPT_MAXMEM // 2:
        raise CosignError("%s asks for scrypt parameters beyond what cosign writes (N=%d, r=%d)" % (name, n, r))
    key = hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=_SCRYPT_MAXMEM, dklen=32)
    plain = secretbox_open(box, nonce, key)
    if plain is None:
        raise CosignError("%s could not be decrypted: wrong password" % name)
    return plain


# --------------------------------------------------------------------------- NaCl secretbox
_MASK = 0xFFFFFFFF
_SIGMA = struct.unpack("<4I", b"expand 32-byte k")
_QUARTER_ROUNDS = ((0, 4, 8, 12), (5, 9, 13, 1), (10, 14, 2, 6), (15, 3, 7, 11),
                   (0, 1, 2, 3), (5, 6, 7, 4), (10, 11, 8, 9), (15, 12, 13, 14))


def _salsa20_rounds(state):
    x = list(state)
    for _double_round in range(10):
        for a, b, c, d in _QUARTER_ROUNDS:
            for dst, s1, s2, shift in ((b, a, d, 7), (c, b, a, 9), (d, c, b, 13), (a, d, c, 18)):
                v = (x[s1] + x[s2]) & _MASK
                x[dst] ^= ((v << shift) & _MASK) | (v >> (32 - shift))
    return x


def _state(key, middle):
    k = struct.unpack("<8I", key)
    return [_SIGMA[0], k[0], k[1], k[2], k[3], _SIGMA[1]] + list(middle) + [_SIGMA[2], k[4], k[5], k[6], k[7], _SIGMA[3]]


def _xsalsa20_stream(key, nonce, length):
    x = _salsa20_rounds(_state(key, struct.unpack("<4I", nonce[:16])))
    subkey = struct.pack("<8I", x[0], x[5], x[10], x[15], x[6], x[7], x[8], x[9])
    n = struct.unpack("<2I", nonce[16:24])
    out = bytearray()
    counter = 0
    while len(out) < length:
        start = _state(subkey, (n[0], n[1], counter & _MASK, counter >> 32))
        out += struct.pack("<16I", *[(a + b) & _MASK for a, b in zip(_salsa20_rounds(start), start)])
        counter += 1
    return bytes(out[:length])


def _poly1305(key, message):
    r = int.from_bytes(key[:16], "little") & 0x0FFFFFFC0FFFFFFC0FFFFFFC0FFFFFFF
    s = int.from_bytes(key[16:32], "little")
    p = (1 << 130) - 5
    acc = 0
    for i in range(0, len(message), 16):
        acc = (acc + int.from_bytes(message[i:i + 16] + b"\x01", "little")) * r % p
    return ((acc + s) & ((1 << 128) - 1)).to_bytes(16, "little")


def secretbox_open(box, nonce, key):
    """NaCl ``secretbox_open`` (XSalsa20-Poly1305, tag first): the plaintext, or None if the tag is wrong."""
    if len(box) < 16:
        return None
    tag, ciphertext = box[:16], box[16:]
    stream = _xsalsa20_stream(key, nonce, 32 + len(ciphertext))
    if not hmac.compare_digest(_poly1305(stream[:32], ciphertext), tag):
        return None
    return bytes(a ^ b for a, b in zip(ciphertext, stream[32:]))


# --------------------------------------------------------------------------- image signatures
def signature_tag(manifest_digest):
    """The legacy scheme's tag for the signatures of ``manifest_digest``: ``sha256-<hex>.sig``."""
    algorithm, _colon, hexpart = manifest_digest.partition(":")
    return "%s-%s.sig" % (algorithm, hexpart)


def simple_signing_payload(docker_reference, manifest_digest):
    """The payload cosign signs for an image: compact JSON, keys in the order cosign writes them."""
    return json.dumps({
        "critical": {
            "identity": {"docker-reference": docker_reference},
            "image": {"docker-manifest-digest": manifest_digest},
            "type": SIMPLE_SIGNING_TYPE,
        },
        "optional": None,
    }, separators=(",", ":")).encode("utf-8")


def read_simple_signing_payload(payload):
    """``(docker_reference, manifest_digest)`` named by a Simple Signing payload."""
    try:
        critical = json.loads(payload.decode("utf-8"))["critical"]
        return critical["identity"]["docker-reference"], critical["image"]["docker-manifest-digest"]
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        raise CosignError("the signed payload is not a cosign Simple Signing payload")
