"""Value objects of the identity domain: contact details, addresses, payment, roles, retention."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Role(StrEnum):
    """Roles a person can hold (DESIGN §7).

    The same four values as `byggrygg_shared.auth.Role`; repeated here so the domain imports no
    web framework. The entrypoints translate between the two.
    """

    LEARNER = "learner"
    ORG_ADMIN = "org_admin"
    CONTACT_PERSON = "contact_person"
    PLATFORM_STAFF = "platform_staff"


class Gender(StrEnum):
    """Gender as a person chooses to state it (R3); giving it is optional."""

    FEMALE = "female"
    MALE = "male"
    OTHER = "other"


class Language(StrEnum):
    """Language settings the portal offers (R3)."""

    BOKMAL = "nb"
    NYNORSK = "nn"
    ENGLISH = "en"


class RetentionReason(StrEnum):
    """Why data about an organisation outlives its contract (R2); each runs its own clock."""

    BOOKKEEPING = "bookkeeping"
    OUTSTANDING_DEBT = "outstanding_debt"
    LEGAL_DISPUTE = "legal_dispute"


@dataclass(frozen=True)
class RetentionClaim:
    """One recorded reason to keep data after the contract ends.

    `keep_until` is a date for clocks with a known end (bookkeeping) and None for reasons that
    last until an event closes them (a debt is settled, a dispute resolved).
    """

    reason: RetentionReason
    keep_until: date | None


@dataclass(frozen=True)
class PostalAddress:
    """An organisation's postal address (R1)."""

    street: str
    postal_code: str
    city: str
    country: str = "NO"


@dataclass(frozen=True)
class PaymentInformation:
    """How the customer is invoiced (R1).

    We invoice the customer, so we keep where the invoice goes and the reference the customer
    wants on it; we never store card or bank-account numbers.
    """

    invoice_email: str
    billing_reference: str | None = None


@dataclass(frozen=True)
class PersonContact:
    """Name, e-mail and phone of a contact person or administrator (R1)."""

    name: str
    email: str
    phone: str | None = None


def normalise_email(email: str) -> str:
    """E-mail as stored and compared: trimmed, lower case (uniqueness and login use this)."""
    return email.strip().lower()
