"""The export file of completion records, and its offline verification (R19).

The file is one RFC 8785 canonical JSON document::

    {"format": "byggrygg.completion-records-export.v1",
     "manifest": {"first_sequence", "last_sequence", "chain_head": {"sequence", "hash"},
                  "exported_at", "public_key_fingerprint"},
     "manifest_signature": <Ed25519 over SHA-256 of the manifest's canonical JSON>,
     "records": [{"sequence", "prev_hash", "hash", "signature", "record"}, ...]}

The records prove themselves (hash chain, signatures). The signed manifest adds what the
records alone cannot show: which range the file claims to hold, so a file cut short after its
last record fails too, and the chain head the database had at export time, so a deleted last
record shows. The file must be byte for byte canonical, so not even whitespace changes unseen.

`verify_export` reads nothing but the file's bytes and the public key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from privacy_orchestrator.domain.canonical import canonical_json, is_hash, sha256_hex
from privacy_orchestrator.domain.chain import SealedRecord, verify_chain, verify_entry
from privacy_orchestrator.domain.errors import RecordVerificationFailed
from privacy_orchestrator.domain.records import utc_timestamp
from privacy_orchestrator.domain.signing import RecordSigner, fingerprint, signature_valid

EXPORT_FORMAT: Final = "byggrygg.completion-records-export.v1"


@dataclass(frozen=True)
class ChainHead:
    """The last record's sequence number and hash (0 and the genesis hash for no record)."""

    sequence: int
    hash: str


def build_export(
    records: list[SealedRecord],
    *,
    first_sequence: int,
    last_sequence: int,
    head: ChainHead,
    signer: RecordSigner,
    exported_at: datetime,
) -> bytes:
    """The export file's bytes: `records` (meant to be `first_sequence`..`last_sequence`)."""
    manifest = {
        "first_sequence": first_sequence,
        "last_sequence": last_sequence,
        "chain_head": {"sequence": head.sequence, "hash": head.hash},
        "exported_at": utc_timestamp(exported_at, "exported_at"),
        "public_key_fingerprint": signer.fingerprint,
    }
    document = {
        "format": EXPORT_FORMAT,
        "manifest": manifest,
        "manifest_signature": signer.sign(sha256_hex(canonical_json(manifest))),
        "records": [record.entry() for record in records],
    }
    return canonical_json(document)


@dataclass(frozen=True)
class Verified:
    """What a successful verification covered."""

    count: int
    first_sequence: int
    last_sequence: int


def _file_problem(problem: str) -> RecordVerificationFailed:
    return RecordVerificationFailed("file", problem)


def _parse(data: bytes) -> dict[str, Any]:
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _file_problem("is not valid UTF-8 JSON (truncated or damaged)") from None
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        raise _file_problem(f"is not a completion record export ({EXPORT_FORMAT})")
    if set(document) != {"format", "manifest", "manifest_signature", "records"}:
        raise _file_problem("does not have exactly format, manifest, manifest_signature, records")
    if not isinstance(document["records"], list):
        raise _file_problem("its records are not a list")
    return document


def _manifest(document: dict[str, Any], key: Ed25519PublicKey) -> tuple[int, int, int, str]:
    manifest = document["manifest"]
    where = "manifest"
    if not isinstance(manifest, dict):
        raise RecordVerificationFailed(where, "is not a JSON object")
    if manifest.get("public_key_fingerprint") != fingerprint(key):
        raise RecordVerificationFailed(
            where,
            f"the file was signed with key {manifest.get('public_key_fingerprint')}, "
            f"not with the given key {fingerprint(key)}",
        )
    try:
        digest = sha256_hex(canonical_json(manifest))
    except ValueError:
        raise RecordVerificationFailed(where, "cannot be canonicalised") from None
    if not signature_valid(key, digest, document["manifest_signature"]):
        raise RecordVerificationFailed(where, "signature is not valid for this public key")
    first, last, head = (
        manifest.get("first_sequence"),
        manifest.get("last_sequence"),
        manifest.get("chain_head"),
    )
    if type(first) is not int or type(last) is not int or not isinstance(head, dict):
        raise RecordVerificationFailed(where, "has no valid range or chain head")
    head_sequence, head_hash = head.get("sequence"), head.get("hash")
    if type(head_sequence) is not int or not is_hash(head_hash):
        raise RecordVerificationFailed(where, "has no valid chain head")
    return first, last, head_sequence, str(head_hash)


def verify_export(data: bytes, key: Ed25519PublicKey, *, sequence: int | None = None) -> Verified:
    """Verify the export file `data` with `key`: every record, or only record `sequence`.

    Raises `RecordVerificationFailed` naming the first bad record (or the file or manifest).
    """
    document = _parse(data)
    first, last, head_sequence, head_hash = _manifest(document, key)
    records: list[Any] = document["records"]
    if sequence is not None:
        if not first <= sequence <= last:
            raise RecordVerificationFailed(
                f"record {sequence}", f"is not in this file (it holds {first}..{last})"
            )
        matching = [
            entry
            for entry in records
            if isinstance(entry, dict) and entry.get("sequence") == sequence
        ]
        if len(matching) != 1:
            raise RecordVerificationFailed(
                f"record {sequence}", "is missing from the file (deleted?) or appears twice"
            )
        verify_entry(matching[0], key, position=f"record {sequence}")
        verified = Verified(1, sequence, sequence)
    else:
        count = verify_chain(records, key, first_sequence=first)
        end = first - 1 if count == 0 else records[-1]["sequence"]
        if end != last:
            raise RecordVerificationFailed(
                "file",
                f"the manifest says records {first}..{last} but the file ends at record {end} "
                "(records removed at the end?)",
            )
        if last == head_sequence and count and records[-1]["hash"] != head_hash:
            raise RecordVerificationFailed(
                f"record {last}", "hash differs from the chain head recorded at export"
            )
        if last > head_sequence:
            raise RecordVerificationFailed(
                "manifest", f"range ends at {last}, after the chain head {head_sequence}"
            )
        verified = Verified(count, first, last)
    if canonical_json(document) != data:
        raise _file_problem("is not in canonical form (changed after export)")
    return verified
