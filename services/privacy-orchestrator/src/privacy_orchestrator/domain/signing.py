"""The orchestrator's Ed25519 key: signing record hashes, and the public half verifiers get.

A record's signature is Ed25519 over the 32 raw bytes of its SHA-256 hash, written as 128
lowercase hex digits (one spelling only, so no byte of a signature can change unnoticed). The
key's fingerprint, ``sha256:`` + the hex SHA-256 of the raw 32-byte public key, lets a verifier
check it holds the key the export was made with.
"""

from __future__ import annotations

import hashlib
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM: Final = "Ed25519"
SIGNATURE_LENGTH: Final = 128  # 64 bytes, lowercase hex


def raw_public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(key: Ed25519PublicKey) -> str:
    """``sha256:<hex>`` of the raw public key."""
    return "sha256:" + hashlib.sha256(raw_public_bytes(key)).hexdigest()


def public_key_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def load_public_key_pem(pem: bytes) -> Ed25519PublicKey:
    """The Ed25519 public key in `pem`; `ValueError` if it is not one."""
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def is_signature(text: object) -> bool:
    return (
        isinstance(text, str)
        and len(text) == SIGNATURE_LENGTH
        and all(c in "0123456789abcdef" for c in text)
    )


def signature_valid(key: Ed25519PublicKey, hash_hex: str, signature_hex: str) -> bool:
    """Whether `signature_hex` is `key`'s signature of the hash `hash_hex`."""
    if not is_signature(signature_hex):
        return False
    try:
        key.verify(bytes.fromhex(signature_hex), bytes.fromhex(hash_hex))
    except (InvalidSignature, ValueError):
        return False
    return True


class RecordSigner:
    """Signs record hashes with the orchestrator's private key."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key
        self.public_key = private_key.public_key()
        self.fingerprint = fingerprint(self.public_key)

    def sign(self, hash_hex: str) -> str:
        return self._private_key.sign(bytes.fromhex(hash_hex)).hex()
