"""HTTP models of the newsletter (R8)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import EmailStr, Field

from consent.schemas._base import Name, Sha256Hex, ShortText, _Request, _Response


class SubscriptionBase(_Request):
    name: Name
    email: EmailStr
    role: ShortText = Field(description="The subscriber's role, e.g. 'daglig leder'.")


class SubscriptionCreate(SubscriptionBase):
    wording_sha256: Sha256Hex = Field(
        description="The sha256 of the wording shown (GET /newsletter/wording)."
    )


class SignupAccepted(_Response):
    status: Literal["confirmation_sent"] = "confirmation_sent"
    detail: str = (
        "If the address is not already subscribed, a confirmation link is on its way. "
        "The subscription starts when the link is followed."
    )


class ConfirmationRead(_Response):
    subscription_id: UUID
    status: Literal["confirmed"] = "confirmed"


class WithdrawalRead(_Response):
    status: Literal["withdrawn"] = "withdrawn"
    changed: bool = Field(description="false: it had already been withdrawn.")


class SubscriptionRead(_Response):
    """A subscription and the evidence of its consent (staff)."""

    subscription_id: UUID
    subject_ref: str
    status: str = Field(description="pending, confirmed, withdrawn or expired (never confirmed).")
    name: str | None
    email: str | None
    role: str | None
    policy_version: str
    wording_sha256: str
    method: str | None
    requested_at: datetime
    confirmed_at: datetime | None
    withdrawn_at: datetime | None
    expired_at: datetime | None = Field(
        default=None, description="When a never-confirmed sign-up was forgotten (R8)."
    )


class RecipientRead(_Response):
    subscription_id: UUID
    name: str
    email: str
    role: str
    confirmed_at: datetime
    policy_version: str
    withdrawal_url: str = Field(description="The one-click withdrawal link to put in the mail.")
