"""Sealing a record into the chain, and verifying a chain offline (R19).

Each record's document carries its sequence number (1, 2, 3, ...) and the previous record's
hash (`GENESIS_HASH` for the first). Its hash is SHA-256 over its RFC 8785 canonical JSON, and
its signature is the orchestrator's Ed25519 signature over that hash. So:

- changing anything in a record changes its hash (no longer the stored one) and the stored
  hash can only be replaced together with a new signature, which needs the private key;
- removing or reordering records breaks the sequence and the next record's ``prev_hash``.

`verify_chain` needs nothing but the records and the public key: no database, no network.
It raises `RecordVerificationFailed` naming the first bad record and what is wrong with it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from privacy_orchestrator.domain.canonical import (
    GENESIS_HASH,
    canonical_json,
    is_hash,
    sha256_hex,
)
from privacy_orchestrator.domain.errors import RecordVerificationFailed
from privacy_orchestrator.domain.records import RecordContent, completion_document
from privacy_orchestrator.domain.signing import RecordSigner, signature_valid


@dataclass(frozen=True)
class SealedRecord:
    """A record in the chain: its document, hash, previous hash and signature."""

    sequence: int
    prev_hash: str
    hash: str
    signature: str
    document: dict[str, Any]

    @property
    def canonical(self) -> str:
        """The document's canonical JSON text (what the store keeps)."""
        return canonical_json(self.document).decode("utf-8")

    def entry(self) -> dict[str, Any]:
        """The record as it appears in an export and in the API."""
        return {
            "sequence": self.sequence,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
            "signature": self.signature,
            "record": self.document,
        }

    @classmethod
    def from_stored(
        cls, *, sequence: int, prev_hash: str, hash_: str, signature: str, record: str
    ) -> SealedRecord:
        return cls(sequence, prev_hash, hash_, signature, json.loads(record))


def seal(
    content: RecordContent, *, sequence: int, prev_hash: str, signer: RecordSigner
) -> SealedRecord:
    """`content` as record number `sequence` after the record whose hash is `prev_hash`."""
    document = completion_document(content, sequence=sequence, prev_hash=prev_hash)
    digest = sha256_hex(canonical_json(document))
    return SealedRecord(sequence, prev_hash, digest, signer.sign(digest), document)


def _fail(sequence: object, problem: str) -> RecordVerificationFailed:
    return RecordVerificationFailed(f"record {sequence}", problem)


def verify_entry(entry: Any, key: Ed25519PublicKey, *, position: str) -> int:
    """Check one exported record on its own (shape, hash, signature); its sequence number."""
    if not isinstance(entry, dict):
        raise RecordVerificationFailed(position, "is not a JSON object")
    missing = {"sequence", "prev_hash", "hash", "signature", "record"} - entry.keys()
    if missing or len(entry) != 5:
        raise RecordVerificationFailed(
            position,
            "does not have exactly the fields sequence, prev_hash, hash, signature, record",
        )
    sequence = entry["sequence"]
    if type(sequence) is not int or sequence < 1:
        raise RecordVerificationFailed(position, "has no valid sequence number")
    document = entry["record"]
    if not isinstance(document, dict):
        raise _fail(sequence, "its record is not a JSON object")
    if document.get("sequence") != sequence:
        raise _fail(sequence, "the sequence number inside the record differs from the entry's")
    if document.get("prev_hash") != entry["prev_hash"]:
        raise _fail(sequence, "the prev_hash inside the record differs from the entry's")
    if not is_hash(entry["hash"]) or not is_hash(entry["prev_hash"]):
        raise _fail(sequence, "hash or prev_hash is not 64 lowercase hex digits")
    try:
        computed = sha256_hex(canonical_json(document))
    except ValueError:  # rfc8785 refuses values it cannot canonicalise (huge ints, NaN)
        raise _fail(sequence, "its record cannot be canonicalised") from None
    if computed != entry["hash"]:
        raise _fail(sequence, "hash does not match the record's content (the record was changed)")
    if not signature_valid(key, entry["hash"], entry["signature"]):
        raise _fail(sequence, "signature is not valid for this public key")
    return sequence


def verify_chain(entries: Sequence[Any], key: Ed25519PublicKey, *, first_sequence: int = 1) -> int:
    """Verify consecutive records starting at `first_sequence`; how many were verified.

    Every record: hash, signature, and (from the second in the list on, or from the genesis
    when the list starts at 1) the link to the record before it and a contiguous sequence.
    """
    previous_hash = GENESIS_HASH if first_sequence == 1 else None
    expected = first_sequence
    for index, entry in enumerate(entries):
        sequence = verify_entry(entry, key, position=f"entry {index} of the file")
        if sequence != expected:
            if sequence > expected:
                gap = (
                    f"record {expected} is"
                    if sequence == expected + 1
                    else f"records {expected}..{sequence - 1} are"
                )
                problem = f"expected record {expected} here: {gap} missing (deleted?)"
            else:
                problem = f"expected record {expected} here (records reordered or duplicated)"
            raise _fail(sequence, problem)
        if previous_hash is not None and entry["prev_hash"] != previous_hash:
            what = "the genesis hash" if expected == 1 else f"the hash of record {expected - 1}"
            raise _fail(
                sequence,
                f"prev_hash does not match {what} (a record before it was changed or replaced)",
            )
        previous_hash = entry["hash"]
        expected += 1
    return len(entries)
