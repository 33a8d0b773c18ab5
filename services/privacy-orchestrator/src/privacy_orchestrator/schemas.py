"""The shapes of the orchestrator's HTTP answers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class RecordRead(BaseModel):
    """A completion record as stored: its document, hash, previous hash and signature."""

    sequence: int = Field(ge=1)
    prev_hash: str = Field(description="SHA-256 of the previous record (64 zeros for the first).")
    hash: str = Field(description="SHA-256 of the record's RFC 8785 canonical JSON.")
    signature: str = Field(description="Ed25519 signature of the hash's 32 bytes, hex.")
    record: dict[str, Any]


class PublicKeyRead(BaseModel):
    """The key completion records are signed with."""

    algorithm: str
    fingerprint: str = Field(description="sha256: + hex SHA-256 of the raw 32-byte public key.")
    public_key_pem: str
    jwk: dict[str, str]


# --- data-subject requests -----------------------------------------------------------------

SUBJECT_REF_PATTERN = r"^subj_[0-9a-f]{32}$"


class RequestCreate(BaseModel):
    """A new data-subject request. Without `subject_ref` it is about the caller themself."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["access", "rectification", "erasure"]
    subject_ref: str | None = Field(
        default=None,
        pattern=SUBJECT_REF_PATTERN,
        description="Whose data: staff name any subject; an organisation's contact person "
        "names the employee whose request they forward (R18). Omit for your own (R17).",
    )
    organisation_id: UUID | None = Field(
        default=None, description="Staff only: the organisation the subject belongs to."
    )


class RequestDecision(BaseModel):
    """A contact person's rejection of a forwarded request, with a reason code (R18)."""

    model_config = ConfigDict(extra="forbid")

    reason: Literal[
        "manifestly_unfounded", "excessive", "not_an_employee", "identity_not_verified", "withdrawn"
    ]


class ParticipantProgress(BaseModel):
    command: str
    replied: bool
    outcome: str | None


class RequestRead(BaseModel):
    """A data-subject request as its readers see it."""

    request_id: UUID
    kind: str
    state: str
    subject_ref: str
    organisation_id: UUID | None
    requested_by_role: str
    received_at: datetime
    deadline: date
    overdue: bool = Field(description="Past its one-month deadline (art. 12(3)) and not ended.")
    participants: dict[str, ParticipantProgress]
    reason: str | None
    completed_at: datetime | None


class HoldCreate(BaseModel):
    """A legal hold on a subject's data (R16): staff record it, and release it when it ends."""

    model_config = ConfigDict(extra="forbid")

    subject_ref: str = Field(pattern=SUBJECT_REF_PATTERN)
    basis: Literal["open_complaint", "legal_dispute", "outstanding_debt", "bookkeeping"]
    categories: list[
        Literal["identity", "contact", "profile", "authentication", "payment", "content"]
    ] = Field(min_length=1)
    keep_until: date | None = None


class HoldRead(BaseModel):
    hold_id: UUID
