"""The HTTP API's models, as a Base/Create/Update/Read ladder per resource.

Request models forbid unknown fields (a typo is a 422, not silently ignored). Values are checked
here for shape; the domain checks the rules (e.g. the organisation number's check digit, which
is run here too so that a bad number is reported as a field error).
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from typing import Annotated, Final, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, field_validator

from identity.domain.errors import InvalidOrganisationNumber
from identity.domain.orgnumber import OrganisationNumber
from identity.domain.values import Gender, Language, RetentionReason, Role

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 ]{5,18}[0-9]$")
]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Password = Annotated[str, StringConstraints(min_length=12, max_length=256)]


# Dates a request may carry. The bound keeps date arithmetic (contract end + the bookkeeping
# period) inside what `datetime.date` can represent, so a far-future date is a 422, not a 500.
EARLIEST_DATE: Final = date(1900, 1, 1)
LATEST_DATE: Final = date(2999, 12, 31)


class _Request(BaseModel):
    """Every request model: unknown fields, control characters and absurd dates are refused.

    Control characters (NUL above all, which PostgreSQL cannot store) have no place in names,
    addresses or passwords; refusing them here, for every field at once, keeps them from ever
    reaching the database as a 500.
    """

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _plain_text_and_sane_dates(cls, value: object) -> object:
        if isinstance(value, str) and any(unicodedata.category(ch) == "Cc" for ch in value):
            raise ValueError("must not contain control characters")
        if type(value) is date and not EARLIEST_DATE <= value <= LATEST_DATE:
            raise ValueError(f"must be between {EARLIEST_DATE} and {LATEST_DATE}")
        return value


class _Response(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- organisations ------------------------------------------------------------------------


class PostalAddressBase(_Request):
    street: ShortText
    postal_code: Annotated[
        str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9A-Za-z -]{3,10}$")
    ]
    city: ShortText
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = Field(
        default="NO", description="ISO 3166-1 alpha-2 country code."
    )


class PaymentBase(_Request):
    """How the customer is invoiced; no card or bank-account numbers are ever stored."""

    invoice_email: EmailStr
    billing_reference: ShortText | None = Field(
        default=None, description="The reference the customer wants on its invoices."
    )


class OrganisationBase(_Request):
    name: Name
    phone: Phone
    email: EmailStr
    postal_address: PostalAddressBase
    payment: PaymentBase
    contract_starts_on: date
    contract_ends_on: date | None = Field(
        default=None, description="Planned end of a fixed-term contract, if any."
    )


class OrganisationCreate(OrganisationBase):
    organisation_number: str = Field(
        description="Nine digits with a valid MOD11 check digit; spaces are allowed.",
        examples=["992 797 010"],
        max_length=20,
    )

    @field_validator("organisation_number")
    @classmethod
    def _valid_number(cls, value: str) -> str:
        try:
            return OrganisationNumber.parse(value).value
        except InvalidOrganisationNumber as error:
            raise ValueError(str(error)) from None


class ListedPersonBase(_Request):
    name: Name
    email: EmailStr
    phone: Phone | None = None


class ListedPersonCreate(ListedPersonBase):
    pass


class ListedPersonRead(_Response):
    subject_ref: str
    role: Role
    name: str
    email: str
    phone: str | None
    listed_at: datetime


class RetentionRead(_Response):
    reason: RetentionReason
    keep_until: date | None = Field(description="null: kept until the reason is resolved.")
    settled_on: date | None = Field(
        description="When staff recorded the debt settled or the dispute resolved (R2)."
    )


class PostalAddressRead(_Response):
    street: str
    postal_code: str
    city: str
    country: str


class PaymentRead(_Response):
    invoice_email: str
    billing_reference: str | None


class OrganisationRead(_Response):
    organisation_id: UUID
    name: str
    organisation_number: str
    phone: str
    email: str
    postal_address: PostalAddressRead
    payment: PaymentRead
    contract_starts_on: date
    contract_ends_on: date | None
    ended_on: date | None
    status: str
    version: int
    registered_at: datetime
    contact_persons: list[ListedPersonRead]
    admins: list[ListedPersonRead]
    retention: list[RetentionRead]
    contact_details_erased_on: date | None = Field(
        description="When R2 erased the phone, e-mail and postal address (they then read "
        '"[erased]"): once the contract has ended.'
    )
    payment_information_erased_on: date | None = Field(
        description="When R2 erased the invoice e-mail and billing reference: once no "
        "retention claim keeps them."
    )


class ContractEnd(_Request):
    ended_on: date
    retention_reasons: list[RetentionReason] = Field(
        default_factory=list,
        description="Why data must be kept after the end (R2). bookkeeping keeps invoicing "
        "data for the statutory period; outstanding_debt and legal_dispute until resolved.",
    )


# --- invitations --------------------------------------------------------------------------


class InvitationCreate(_Request):
    email: EmailStr


class InvitationRead(_Response):
    invitation_id: UUID
    organisation_id: UUID
    email: str
    roles: list[Role]
    expires_at: datetime
    token: str = Field(
        description="One-time token to deliver to the invitee. Shown only in this response."
    )


class ListedPersonCreated(_Response):
    person: ListedPersonRead
    invitation: InvitationRead


class InvitationAccept(_Request):
    token: Annotated[str, StringConstraints(min_length=16, max_length=200)]
    accept_terms: bool = Field(description="Must be true: the person accepts the terms (R3).")
    terms_version: ShortText = Field(description="The terms version shown to the person.")
    name: Name
    phone: Phone | None = None
    gender: Gender | None = None
    language: Language
    password: Password

    @field_validator("accept_terms")
    @classmethod
    def _must_accept(cls, value: bool) -> bool:
        if not value:
            raise ValueError("a user exists only once the terms are accepted")
        return value


# --- users --------------------------------------------------------------------------------


class UserBase(_Response):
    name: str
    email: str
    phone: str | None
    gender: Gender | None
    language: Language


class UserUpdate(_Request):
    """A correction (R15): only the fields given change. phone and gender may be null
    (cleared); name, e-mail and language may not."""

    name: Name | None = None
    email: EmailStr | None = None
    phone: Phone | None = None
    gender: Gender | None = None
    language: Language | None = None

    @field_validator("name", "email", "language")
    @classmethod
    def _required_if_given(cls, value: object) -> object:
        if value is None:
            raise ValueError("may be left out but not cleared")
        return value


class LicenceRead(_Response):
    licence_id: UUID
    granted_at: datetime
    granted_by: str
    revoked_at: datetime | None
    active: bool


class LicenceCreated(_Response):
    licence_id: UUID


class UserRead(UserBase):
    user_id: UUID
    subject_ref: str
    organisation_id: UUID
    roles: list[Role]
    terms_version: str
    terms_accepted_at: datetime
    status: str
    version: int = Field(description="Also sent as the ETag; send it back in If-Match.")
    licences: list[LicenceRead]


class MeRead(_Response):
    user_id: UUID
    subject_ref: str
    organisation_id: UUID | None
    roles: list[Role]
    user: UserRead | None = Field(description="The profile; null for platform staff.")


# --- login --------------------------------------------------------------------------------


class TokenRequest(_Request):
    email: EmailStr
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class TokenRead(_Response):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int = Field(description="Seconds until the token expires.")
