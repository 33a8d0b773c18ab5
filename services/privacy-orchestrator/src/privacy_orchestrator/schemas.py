"""The shapes of the orchestrator's HTTP answers."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Annotated, Any, Literal, Self
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from privacy_orchestrator.domain.errors import PersonalDataInRecord
from privacy_orchestrator.domain.records import assert_no_personal_data


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
# One address, no spaces, control characters or header syntax (it goes into a To header).
NOTIFY_EMAIL_PATTERN = r"^[^\s@<>,;:\"()\[\]\\]+@[^\s@<>,;:\"()\[\]\\]+\.[^\s@<>,;:\"()\[\]\\]+$"

# The profile fields' rules as identity applies them to a correction (identity.schemas).
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 ]{5,18}[0-9]$")
]


class Corrections(BaseModel):
    """A rectification's new values (R15), each checked as identity checks its profile fields.
    A correction sets a value; clearing one (phone, gender) is a change of profile, not a
    rectification through the orchestrator."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    email: EmailStr | None = None
    phone: Phone | None = None
    gender: Literal["female", "male", "other"] | None = None
    language: Literal["nb", "nn", "en"] | None = None

    @field_validator("*", mode="after")
    @classmethod
    def _plain_text(cls, value: object) -> object:
        if isinstance(value, str) and any(unicodedata.category(ch) == "Cc" for ch in value):
            raise ValueError("must not contain control characters")
        return value

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not self.values():
            raise ValueError("name at least one field to correct")
        return self

    def values(self) -> dict[str, str]:
        """The given fields (e-mail as identity stores it: trimmed, lower case)."""
        given = {k: v for k, v in self.model_dump(exclude_none=True).items()}
        if "email" in given:
            given["email"] = given["email"].strip().lower()
        return {name: str(value) for name, value in given.items()}


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
        default=None,
        description="Staff only: the organisation the subject belongs to (anyone else: 403).",
    )
    corrections: Corrections | None = Field(
        default=None,
        description="Rectification only, and required for it: field -> the correct value.",
    )
    notify_email: str | None = Field(
        default=None,
        min_length=3,
        max_length=254,
        pattern=NOTIFY_EMAIL_PATTERN,
        description="Where to tell the person, by e-mail, if data is kept when the request "
        "ends, and why (R10). Kept sealed until then, then deleted; never in the record.",
    )

    @model_validator(mode="after")
    def _corrections_for_rectification(self) -> Self:
        if (self.kind == "rectification") != (self.corrections is not None):
            raise ValueError("a rectification, and only a rectification, has corrections")
        return self


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
    # The participant time-out (R13): last sent, how often sent again, escalated.
    sent_at: datetime | None = None
    resends: int = 0
    escalated: bool = Field(
        default=False,
        description="No reply after every re-send of its command: an operator must look; "
        "the request does not complete without the reply.",
    )


class SubProcessorProgress(BaseModel):
    """Where the signed request to one sub-processor stands (R13)."""

    subprocessor_id: UUID
    name: str
    organisation_number: str
    action: str
    state: Literal["pending", "delivered", "confirmed", "escalated", "closed"]
    attempts: int
    requested_at: datetime
    delivered_at: datetime | None
    confirmed_at: datetime | None
    escalated_at: datetime | None
    escalation_reason: str | None
    closed_at: datetime | None = None
    close_reason: str | None = Field(
        default=None, description="closed: the operator's written reason (R13)."
    )


class DeadlineExtensionRead(BaseModel):
    months: int
    reason: str
    at: datetime
    by_role: str


class DeadlineExtend(BaseModel):
    """Staff extend an open request's deadline once, by one or two months (art. 12(3))."""

    model_config = ConfigDict(extra="forbid")

    months: int = Field(ge=1, le=2)
    reason: Literal["complexity", "number_of_requests"]


class RequestHoldRead(BaseModel):
    """Why and since when staff hold a request."""

    since: datetime
    reason: str
    by_role: str


class RequestExportRead(BaseModel):
    """An access request's export while it can be downloaded (R14)."""

    url: str = Field(
        description="The download (one JSON file), behind the subject's login; `.html` after "
        "it for the readable view."
    )
    expires_at: datetime = Field(description="After this it is deleted and gone (410).")
    downloads: int


class RequestRead(BaseModel):
    """A data-subject request as its readers see it."""

    request_id: UUID
    kind: str
    state: str
    subject_ref: str
    organisation_id: UUID | None
    requested_by_role: str
    trigger: str | None = Field(
        description="An automatic request's trigger (licence_revoked, subscription_cancelled, "
        "contract_ended, or a follow-up's complaint_resolved, hold_released, "
        "legal_claim_resolved); null otherwise."
    )
    received_at: datetime
    deadline: date
    overdue: bool = Field(description="Past its one-month deadline (art. 12(3)) and not ended.")
    participants: dict[str, ParticipantProgress]
    sub_processors: list[SubProcessorProgress] = Field(
        description="Each sub-processor asked (R13); the request completes only when all "
        "are confirmed. escalated: an operator must act."
    )
    deadline_extension: DeadlineExtensionRead | None
    reason: str | None
    completed_at: datetime | None
    notice: Literal["no_address", "waiting", "queued", "sent", "not_needed"] = Field(
        description="The kept-data notice (R10): no_address (none given), waiting (until the "
        "request ends), queued / sent (data was kept: the mail), not_needed (nothing kept)."
    )
    on_hold: RequestHoldRead | None = Field(
        default=None,
        description="Held by staff (state on_hold): since when, why. The deadline does NOT "
        "move while held (art. 12(3)); only a filed deadline extension moves it.",
    )
    export: RequestExportRead | None = Field(
        default=None,
        description="An access request's export once assembled (R14): where to download it "
        "and until when; null before, after it expired or was deleted, and for other kinds.",
    )


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


# --- operator actions on a request (R13, DESIGN §5) ---

# A phone number in a reason (the records refuse subject refs and e-mail addresses too).
_PHONE_LIKE = re.compile(r"\+?\d[\d \-]{6,}\d")


class OperatorReason(BaseModel):
    """A written reason of platform staff (a hold, a closed sub-processor request). It goes
    into the request's history and, for a closed sub-processor request, into the completion
    record (R19): describe the case, never the person (no names, addresses, numbers)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)

    @field_validator("reason")
    @classmethod
    def _no_personal_data(cls, value: str) -> str:
        text = " ".join(value.split())
        if not text:
            raise ValueError("a reason is required")
        try:
            assert_no_personal_data(text)
        except PersonalDataInRecord:
            raise ValueError("the reason must not hold personal data") from None
        if _PHONE_LIKE.search(text):
            raise ValueError("the reason must not hold personal data")
        return text
