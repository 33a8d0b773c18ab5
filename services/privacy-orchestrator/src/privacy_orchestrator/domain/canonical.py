"""The exact bytes a completion record's hash covers: RFC 8785 canonical JSON, and its SHA-256.

RFC 8785 (JSON Canonicalization Scheme): keys sorted by their UTF-16 code units, no
insignificant whitespace, UTF-8, numbers in ECMAScript form. The `rfc8785` package implements
it; records keep to strings, integers, booleans, null, lists and objects (no floats), so the
canonical form is unambiguous in every language a verifier might be written in.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final

import rfc8785

GENESIS_HASH: Final = "0" * 64  # the "previous hash" of the first record of the chain
HASH_LENGTH: Final = 64  # SHA-256, lowercase hex


def canonical_json(value: Any) -> bytes:
    """`value` as RFC 8785 canonical JSON (UTF-8 bytes)."""
    return rfc8785.dumps(value)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def is_hash(text: object) -> bool:
    """A SHA-256 digest in its one accepted spelling: 64 lowercase hex digits."""
    return (
        isinstance(text, str)
        and len(text) == HASH_LENGTH
        and all(c in "0123456789abcdef" for c in text)
    )
