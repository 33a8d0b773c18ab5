"""Anchors: chain heads of the completion records kept outside the database (R19).

What they close: a database superuser who deletes the newest records *and* rewinds
``record_chain_head`` leaves a shorter chain that verifies on its own (every record, link and
the export's manifest are as the service would have made them). An anchor is a chain head the
orchestrator signed at some moment and that someone kept elsewhere: a **checkpoint**
(``GET /records/checkpoint``, ``privacy-orchestrator checkpoint-records``), or the manifest of
an **earlier export file**. A later export must still hold that record with that hash: a
chain now shorter than an anchor, or holding another record at its number, fails.

A checkpoint file is one RFC 8785 canonical JSON document::

    {"format": "byggrygg.completion-records-checkpoint.v1",
     "checkpoint": {"chain_head": {"sequence", "hash"}, "taken_at", "public_key_fingerprint"},
     "signature": <Ed25519 over SHA-256 of the checkpoint's canonical JSON>}

It holds no personal data: a number, a hash, a time and the key's fingerprint.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from privacy_orchestrator.domain.canonical import canonical_json, is_hash, sha256_hex
from privacy_orchestrator.domain.errors import RecordVerificationFailed
from privacy_orchestrator.domain.export import EXPORT_FORMAT, ChainHead, Verified, verify_export
from privacy_orchestrator.domain.records import utc_timestamp
from privacy_orchestrator.domain.signing import RecordSigner, fingerprint, signature_valid

CHECKPOINT_FORMAT: Final = "byggrygg.completion-records-checkpoint.v1"


# Where each file that can be an anchor keeps its signed head: the signed part, its
# signature, the part's time, and what to call the file in messages.
_SIGNED_PARTS: Final = {
    CHECKPOINT_FORMAT: ("checkpoint", "signature", "taken_at", "checkpoint"),
    EXPORT_FORMAT: ("manifest", "manifest_signature", "exported_at", "export"),
}


class AnchorOutOfRange(RecordVerificationFailed):
    """The export does not reach the anchored record, so it cannot be checked against it
    (not a sign of tampering: export a range that includes it)."""


@dataclass(frozen=True)
class Anchor:
    """A signed chain head: record ``sequence`` had ``hash`` at ``taken_at``."""

    sequence: int
    hash: str
    taken_at: str
    kind: str  # "checkpoint" or "export", for messages

    def describe(self) -> str:
        return f"the {self.kind} of {self.taken_at}"


def build_checkpoint(head: ChainHead, *, signer: RecordSigner, taken_at: datetime) -> bytes:
    """The checkpoint file's bytes for the chain head ``head``."""
    checkpoint = {
        "chain_head": {"sequence": head.sequence, "hash": head.hash},
        "taken_at": utc_timestamp(taken_at, "taken_at"),
        "public_key_fingerprint": signer.fingerprint,
    }
    return canonical_json(
        {
            "format": CHECKPOINT_FORMAT,
            "checkpoint": checkpoint,
            "signature": signer.sign(sha256_hex(canonical_json(checkpoint))),
        }
    )


def _problem(where: str, problem: str) -> RecordVerificationFailed:
    return RecordVerificationFailed(where, problem)


def _signed_head(
    signed: object, signature: object, key: Ed25519PublicKey, *, where: str, at: str
) -> tuple[int, str, str]:
    """(sequence, hash, time) of a signed part (a checkpoint or an export's manifest)."""
    if not isinstance(signed, Mapping):
        raise _problem(where, "is not a JSON object")
    if signed.get("public_key_fingerprint") != fingerprint(key):
        raise _problem(where, "was not signed with the given key")
    try:
        digest = sha256_hex(canonical_json(dict(signed)))
    except ValueError:
        raise _problem(where, "cannot be canonicalised") from None
    if not isinstance(signature, str) or not signature_valid(key, digest, signature):
        raise _problem(where, "signature is not valid for this public key")
    head, taken_at = signed.get("chain_head"), signed.get(at)
    if not isinstance(head, Mapping) or not isinstance(taken_at, str):
        raise _problem(where, "has no chain head or time")
    sequence, hash_ = head.get("sequence"), head.get("hash")
    if type(sequence) is not int or sequence < 0 or not is_hash(hash_):
        raise _problem(where, "has no valid chain head")
    return sequence, str(hash_), taken_at


def read_anchor(data: bytes, key: Ed25519PublicKey, *, where: str = "anchor") -> Anchor:
    """The signed chain head in ``data``: a checkpoint file, or an export file (its
    manifest's head). Raises ``RecordVerificationFailed`` (at ``where``) for anything that is
    not one of them signed with ``key``."""
    try:
        document: Any = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _problem(where, "is not valid UTF-8 JSON") from None
    parts = _SIGNED_PARTS.get(str(document.get("format"))) if isinstance(document, dict) else None
    if parts is None:
        raise _problem(where, f"is not a checkpoint ({CHECKPOINT_FORMAT}) or an export file")
    signed_name, signature_name, at, kind = parts
    signed, signature = document.get(signed_name), document.get(signature_name)
    sequence, hash_, taken_at = _signed_head(signed, signature, key, where=where, at=at)
    return Anchor(sequence, hash_, taken_at, kind)


def verify_anchored(data: bytes, key: Ed25519PublicKey, anchors: Sequence[Anchor]) -> Verified:
    """Verify the whole export file ``data`` (``export.verify_export``), then that its chain
    still holds every anchor. Raises ``RecordVerificationFailed`` (``AnchorOutOfRange`` when
    the file does not reach an anchored record)."""
    verified = verify_export(data, key)
    document = json.loads(data)  # verified: canonical JSON of the export's shape
    _check_anchors(
        anchors,
        document["records"],
        first=verified.first_sequence,
        last=verified.last_sequence,
        head_sequence=document["manifest"]["chain_head"]["sequence"],
    )
    return verified


def _check_anchors(
    anchors: Sequence[Anchor],
    records: Sequence[Mapping[str, Any]],
    *,
    first: int,
    last: int,
    head_sequence: int,
) -> None:
    """Check a verified export (its ``records`` ``first``..``last``, its signed chain head at
    ``head_sequence``) against each anchor; raise at the first that does not hold.

    ``AnchorOutOfRange`` when the file does not reach an anchored record that the chain still
    claims to have: it can then neither confirm nor refute it."""
    hashes = {entry["sequence"]: entry["hash"] for entry in records}
    for anchor in anchors:
        if anchor.sequence > head_sequence:
            raise _problem(
                "chain",
                f"ends at record {head_sequence}, but {anchor.describe()} saw record "
                f"{anchor.sequence}: records were removed from its end (head rewound)",
            )
        if anchor.sequence == 0:
            continue  # an anchor of the empty chain: every chain extends it
        if not first <= anchor.sequence <= last:
            raise AnchorOutOfRange(
                f"record {anchor.sequence}",
                f"is anchored by {anchor.describe()} but not in this file (it holds "
                f"{first}..{last}): export a range that includes it",
            )
        if hashes.get(anchor.sequence) != anchor.hash:
            raise _problem(
                f"record {anchor.sequence}",
                f"hash differs from {anchor.describe()}: the chain was rewritten from there",
            )
