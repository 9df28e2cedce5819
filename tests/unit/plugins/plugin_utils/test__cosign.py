"""cosign key and payload formats: the NaCl secretbox against a PyNaCl known answer, the payload cosign signs,
and the key types cosign verifies with --key. Interop with the real CLI: tests/functional/test_supply_chain.py."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa, x25519

from ansible_collections.k0smotron.oci.plugins.plugin_utils import _cosign as c

# PyNaCl 1.5 SecretBox(bytes(range(32))).encrypt(MESSAGE, bytes(range(100, 124))).ciphertext
KEY, NONCE = bytes(range(32)), bytes(range(100, 124))
MESSAGE = b"k0smotron.oci secretbox known answer: " + bytes(range(70))
BOX = binascii.unhexlify(
    "1d79468f9a6ee7d15f18c5e52a6512df6989eaa455c2bc86ded34cf75ea4d07d5dd85dd386c9333bcd622de364aba8e6db18916a75179be5f7"
    "1513670614d56ccb9ba2151c89294e11f24711cda5867d59905070d62368ab9bac3bd766e4c5ba7ebca12a89d04b33a0a8bd124ed1ddffc0f2"
    "d546d1e67a8641383bce")


def test_secretbox_opens_a_pynacl_box():
    assert c.secretbox_open(BOX, NONCE, KEY) == MESSAGE


@pytest.mark.parametrize("where", [0, 15, 16, len(BOX) - 1])
def test_secretbox_refuses_any_flipped_byte(where):
    box = bytearray(BOX)
    box[where] ^= 0x80
    assert c.secretbox_open(bytes(box), NONCE, KEY) is None


def test_secretbox_refuses_the_wrong_key_and_a_short_box():
    assert c.secretbox_open(BOX, NONCE, bytes(32)) is None
    assert c.secretbox_open(BOX[:15], NONCE, KEY) is None


def test_payload_is_what_cosign_signs():
    payload = c.simple_signing_payload("127.0.0.1:5000/k0s/k0s", "sha256:" + "a" * 64)
    assert payload == (b'{"critical":{"identity":{"docker-reference":"127.0.0.1:5000/k0s/k0s"},"image":'
                       b'{"docker-manifest-digest":"sha256:' + b"a" * 64 + b'"},"type":"cosign container image '
                       b'signature"},"optional":null}')
    assert c.read_simple_signing_payload(payload) == ("127.0.0.1:5000/k0s/k0s", "sha256:" + "a" * 64)
    assert c.signature_tag("sha256:" + "b" * 64) == "sha256-" + "b" * 64 + ".sig"


@pytest.mark.parametrize("payload", [b"", b"[]", b'{"critical": 1}', b"\xff", b"[" * 100000])
def test_unreadable_payload_is_one_clear_error(payload):
    with pytest.raises(c.CosignError, match="not a cosign Simple Signing payload"):
        c.read_simple_signing_payload(payload)


def _pem(private):
    return private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()).decode()


@pytest.mark.parametrize("make", [lambda: ec.generate_private_key(ec.SECP256R1()),
                                  lambda: ec.generate_private_key(ec.SECP521R1()),
                                  lambda: rsa.generate_private_key(65537, 3072),
                                  ed25519.Ed25519PrivateKey.generate],
                         ids=["p256", "p521", "rsa3072", "ed25519"])
def test_sign_then_verify_each_key_type_and_the_fingerprint_matches(make):
    key = c.load_private_key(_pem(make()))
    signature = c.decode_signature(key.sign(b"payload"))
    public = c.load_public_key(key.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    assert public.fingerprint == key.public.fingerprint
    assert public.verify(signature, data=b"payload")
    assert not public.verify(signature, data=b"payload!")
    assert c.verify_with_any([public], signature, data=b"other") is None


def test_short_rsa_and_non_signing_keys_are_refused():
    small = rsa.generate_private_key(65537, 1024).public_key()
    with pytest.raises(c.CosignError, match="shorter than 2048"):
        c.public_key(small)
    pem = x25519.X25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(c.CosignError, match="not one cosign verifies"):
        c.load_public_key(pem, "trusted_keys[0]")


def test_encrypted_pkcs8_needs_its_password_and_errors_do_not_quote_the_key():
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.BestAvailableEncryption(b"pw-123")).decode()
    with pytest.raises(c.CosignError, match="is encrypted: give its password") as e:
        c.load_private_key(pem)
    assert "BEGIN" not in str(e.value)
    with pytest.raises(c.CosignError, match="wrong password"):
        c.load_private_key(pem, "nope")
    assert c.load_private_key(pem, "pw-123").public.kind == "ecdsa"


def test_cosign_key_with_oversized_scrypt_parameters_is_refused_before_deriving():
    doc = {"kdf": {"name": "scrypt", "params": {"N": 1 << 24, "r": 8, "p": 1}, "salt": base64.b64encode(b"s").decode()},
           "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(bytes(24)).decode()},
           "ciphertext": base64.b64encode(bytes(40)).decode()}
    pem = "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n%s\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n" % (
        base64.b64encode(json.dumps(doc).encode()).decode())
    with pytest.raises(c.CosignError, match="scrypt parameters beyond"):
        c.load_private_key(pem, "pw")


@pytest.mark.parametrize("text", ["", "   ", "<html>", "not base64!"])
def test_signature_text_must_be_base64(text):
    with pytest.raises(c.CosignError, match="not base64"):
        c.decode_signature(text)
