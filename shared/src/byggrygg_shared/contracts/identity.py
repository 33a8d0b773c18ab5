"""Integration events of the identity service (R1, R2, R3, R6, R7, R15).

Two topics: ``identity.organisation.v1`` (key = organisation id) and ``identity.user.v1``
(key = user id; licence events ride on the user's topic so they stay in order with it).

Every field listed in a contract's ``personal_fields`` is a key-ring token
(``enc:v1:<key id>:<base64>``), encrypted with the data key of the field's subject:

- a person's fields (users, contact persons, administrators) under that person's
  ``subject_ref``;
- an organisation's contact details (phone, e-mail, postal address) under its
  ``data_key_ref``, and its payment information under its ``billing_key_ref``. Two keys, so
  that at contract end the contact details can be destroyed while the invoicing data is kept
  for the bookkeeping period (R2). These refs name key-ring scopes, not persons.

Organisation name and organisation number are public register data and travel in plain text.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.contracts.registry import register

__all__ = [
    "AdminAdded",
    "ContactPersonAdded",
    "ContractEnded",
    "LicenceGranted",
    "LicenceRevoked",
    "OrganisationDataErased",
    "OrganisationRegistered",
    "RetentionClaim",
    "RetentionClaimSettled",
    "SubscriptionCancelled",
    "UserCreated",
    "UserErased",
    "UserProfileCorrected",
]

_PREFIX = "no.byggrygg.identity."
ORGANISATION_TOPIC = "identity.organisation.v1"
USER_TOPIC = "identity.user.v1"

RoleName = Literal["learner", "org_admin", "contact_person", "platform_staff"]
RetentionReasonName = Literal["bookkeeping", "outstanding_debt", "legal_dispute"]
OrganisationDataName = Literal["contact_details", "payment_information"]
ProfileFieldName = Literal["name", "email", "phone", "gender", "language"]


class _OrganisationEvent(IntegrationEvent):
    source_service: ClassVar[str] = "identity"
    topic: ClassVar[str] = ORGANISATION_TOPIC


class _UserEvent(IntegrationEvent):
    source_service: ClassVar[str] = "identity"
    topic: ClassVar[str] = USER_TOPIC


@register
class OrganisationRegistered(_OrganisationEvent):
    """A customer signed the cooperation agreement (R1)."""

    event_type: ClassVar[str] = _PREFIX + "OrganisationRegistered"
    personal_fields: ClassVar[frozenset[str]] = frozenset(
        {
            "phone",
            "email",
            "street_address",
            "postal_code",
            "city",
            "invoice_email",
            "billing_reference",
        }
    )

    organisation_id: UUID
    name: str
    organisation_number: str
    data_key_ref: str
    billing_key_ref: str
    phone: str
    email: str
    street_address: str
    postal_code: str
    city: str
    country: str
    invoice_email: str
    billing_reference: str | None
    contract_starts_on: date
    contract_ends_on: date | None
    registered_by: str


class _ListedPerson(_OrganisationEvent):
    personal_fields: ClassVar[frozenset[str]] = frozenset({"name", "email", "phone"})

    organisation_id: UUID
    subject_ref: str
    name: str
    email: str
    phone: str | None
    listed_by: str


@register
class ContactPersonAdded(_ListedPerson):
    """A contact person of the customer was recorded (R1); they are invited to log in."""

    event_type: ClassVar[str] = _PREFIX + "ContactPersonAdded"


@register
class AdminAdded(_ListedPerson):
    """An administrator of the customer was recorded (R1); they are invited to log in."""

    event_type: ClassVar[str] = _PREFIX + "AdminAdded"


class RetentionClaim(BaseModel):
    """A reason to keep data after the contract ends, with its own clock (R2).

    ``keep_until`` is null for reasons that last until an event ends them (debt settled,
    dispute resolved).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: RetentionReasonName
    keep_until: date | None


@register
class ContractEnded(_OrganisationEvent):
    """The customer's contract ended (R2, R6): its users' data is to be erased, and only what
    a recorded retention reason requires is kept."""

    event_type: ClassVar[str] = _PREFIX + "ContractEnded"

    organisation_id: UUID
    ended_on: date
    retention: list[RetentionClaim]
    ended_by: str


@register
class RetentionClaimSettled(_OrganisationEvent):
    """Staff recorded that an outstanding debt was settled or a legal dispute resolved (R2):
    that claim no longer keeps the organisation's payment information."""

    event_type: ClassVar[str] = _PREFIX + "RetentionClaimSettled"

    organisation_id: UUID
    reason: RetentionReasonName
    settled_on: date
    settled_by: str


@register
class OrganisationDataErased(_OrganisationEvent):
    """Part of an ended customer's data was erased on its R2 clock: ``contact_details`` once
    the contract ended, ``payment_information`` once no retention claim keeps it. Its key
    scope (``data_key_ref`` / ``billing_key_ref``) is destroyed, so those fields of
    ``OrganisationRegistered`` read as erased everywhere."""

    event_type: ClassVar[str] = _PREFIX + "OrganisationDataErased"

    organisation_id: UUID
    part: OrganisationDataName
    erased_on: date


@register
class UserCreated(_UserEvent):
    """An invited person accepted the terms: from now on the user exists (R3)."""

    event_type: ClassVar[str] = _PREFIX + "UserCreated"
    personal_fields: ClassVar[frozenset[str]] = frozenset(
        {"name", "email", "phone", "gender", "language"}
    )

    user_id: UUID
    subject_ref: str
    organisation_id: UUID
    roles: list[RoleName]
    name: str
    email: str
    phone: str | None
    gender: str | None
    language: str
    terms_version: str
    terms_accepted_at: datetime


@register
class UserProfileCorrected(_UserEvent):
    """The user's profile was rectified (R15). Only the fields in ``corrected_fields`` changed;
    the others are null. A corrected optional field (phone, gender) that is null was cleared."""

    event_type: ClassVar[str] = _PREFIX + "UserProfileCorrected"
    personal_fields: ClassVar[frozenset[str]] = frozenset(
        {"name", "email", "phone", "gender", "language"}
    )

    user_id: UUID
    subject_ref: str
    organisation_id: UUID
    corrected_fields: list[ProfileFieldName]
    name: str | None
    email: str | None
    phone: str | None
    gender: str | None
    language: str | None
    corrected_by: str


@register
class LicenceGranted(_UserEvent):
    """The organisation gave the user a licence (R7)."""

    event_type: ClassVar[str] = _PREFIX + "LicenceGranted"

    user_id: UUID
    subject_ref: str
    organisation_id: UUID
    licence_id: UUID
    granted_by: str


@register
class LicenceRevoked(_UserEvent):
    """The organisation ended the user's licence: the user's data is to be erased (R6)."""

    event_type: ClassVar[str] = _PREFIX + "LicenceRevoked"

    user_id: UUID
    subject_ref: str
    organisation_id: UUID
    licence_id: UUID
    revoked_by: str


@register
class SubscriptionCancelled(_UserEvent):
    """The user ended their own subscription: their data is to be erased (R6)."""

    event_type: ClassVar[str] = _PREFIX + "SubscriptionCancelled"

    user_id: UUID
    subject_ref: str
    organisation_id: UUID


@register
class UserErased(_UserEvent):
    """The user's personal data was erased on a privacy request (R6, R16): identity's rows are
    gone (or, under a hold, only the held categories are left) and the user can no longer log
    in. Other services' consumers learn it here; the event carries no personal data."""

    event_type: ClassVar[str] = _PREFIX + "UserErased"

    user_id: UUID
    subject_ref: str
    organisation_id: UUID
    request_id: UUID
    kept_categories: list[str]
