"""Identity's data inventory (GDPR art. 30, DESIGN §4): every table column and event field that
holds personal data, why it is kept, on what basis, for how long, and what erasure does.

The privacy orchestrator plans data-subject requests from this declaration, and
`tests/unit/test_inventory.py` fails when a table or an event gains a personal field that is
not declared here (see `byggrygg_shared.inventory`).

How erasure works in identity:
- projection rows (plaintext) are deleted;
- event fields are key-ring tokens: destroying the subject's key makes every copy unreadable
  (crypto-shredding), in the event store and on Kafka alike;
- an organisation's invoicing data is kept after the contract ends only while a retention
  claim runs (R2: bookkeeping until its date, a debt or a dispute until settled); its contact
  details go at contract end. They are encrypted under two different key scopes so each can
  be destroyed on its own clock (``service_layer/organisation_retention.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from byggrygg_shared.contracts import identity as contracts
from byggrygg_shared.contracts import privacy as privacy_contracts
from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.inventory import (
    DataCategory,
    DataInventory,
    Erasure,
    EventField,
    LawfulBasis,
    Location,
    NonPersonalField,
    PersonalDataField,
    TableColumn,
)

USER_RETENTION: Final = (
    "while the organisation is a customer and the user's licence and subscription last (R6)"
)
LISTED_RETENTION: Final = "the contract period (R1); erased when the contract ends (R2)"
BOOKKEEPING_KEEP: Final = (
    "statutory bookkeeping, outstanding debt, legal dispute (R2): kept while a retention claim "
    "of the contract end is in force (bookkeeping until its keep_until = contract end + "
    "BYGGRYGG_BOOKKEEPING_YEARS; a debt or dispute until staff settle it), deleted at contract "
    "end without one"
)

_CATEGORY_OF: Final = {
    "name": DataCategory.IDENTITY,
    "email": DataCategory.CONTACT,
    "phone": DataCategory.CONTACT,
    "street_address": DataCategory.CONTACT,
    "postal_code": DataCategory.CONTACT,
    "city": DataCategory.CONTACT,
    "gender": DataCategory.PROFILE,
    "language": DataCategory.PROFILE,
    "invoice_email": DataCategory.PAYMENT,
    "billing_reference": DataCategory.PAYMENT,
    "password_hash": DataCategory.AUTHENTICATION,
}


def _declare(
    locations: Iterable[Location],
    *,
    subject: str,
    purpose: str,
    basis: LawfulBasis,
    retention: str,
    erasure: Erasure,
    keep_basis: str | None = None,
) -> list[PersonalDataField]:
    def field_name(location: Location) -> str:
        return location.column if isinstance(location, TableColumn) else location.field

    return [
        PersonalDataField(
            location=location,
            subject=subject,
            category=_CATEGORY_OF[field_name(location)],
            purpose=purpose,
            lawful_basis=basis,
            retention=retention,
            erasure=erasure,
            keep_basis=keep_basis,
        )
        for location in locations
    ]


def _columns(table: str, *columns: str) -> list[Location]:
    return [TableColumn(table, column) for column in columns]


def _fields(contract: type[IntegrationEvent], *fields: str) -> list[Location]:
    return [EventField(contract.event_type, field) for field in fields]


_PROFILE = ("name", "email", "phone", "gender", "language")
_ORG_CONTACT = ("phone", "email", "street_address", "postal_code", "city")
_ORG_PAYMENT = ("invoice_email", "billing_reference")
_PERSON = ("name", "email", "phone")

PERSONAL: Final[tuple[PersonalDataField, ...]] = (
    # Users (R3): processed for the customer, which is the controller (R7).
    *_declare(
        _columns("users", "name", "phone", "gender", "language"),
        subject="user",
        purpose="run the user's portal account (R3)",
        basis=LawfulBasis.CONTROLLER_INSTRUCTION,
        retention=USER_RETENTION,
        erasure=Erasure.DELETE,
    ),
    *_declare(
        [
            *_fields(contracts.UserCreated, *_PROFILE),
            *_fields(contracts.UserProfileCorrected, *_PROFILE),
        ],
        subject="user",
        purpose="tell other services who the user is (R3) and that it was corrected (R15)",
        basis=LawfulBasis.CONTROLLER_INSTRUCTION,
        retention=USER_RETENTION,
        erasure=Erasure.CRYPTO_SHRED,
    ),
    # Log-in: users, staff and invited persons.
    *_declare(
        _columns("login_emails", "email"),
        subject="user, invited person or staff member",
        purpose="log-in name and one account per address; where an invitation is sent",
        basis=LawfulBasis.CONTROLLER_INSTRUCTION,
        retention=USER_RETENTION + "; an invitation's until it is accepted or its contract ends",
        erasure=Erasure.DELETE,
    ),
    *_declare(
        _columns("credentials", "password_hash"),
        subject="user or staff member",
        purpose="authenticate the person (argon2id hash, never the password)",
        basis=LawfulBasis.CONTROLLER_INSTRUCTION,
        retention="as long as the account",
        erasure=Erasure.DELETE,
    ),
    # Contact persons and administrators (R1): the platform's own customer relationship.
    *_declare(
        _columns("organisation_people", *_PERSON),
        subject="contact person or administrator",
        purpose="reach the customer's contact persons and administrators (R1)",
        basis=LawfulBasis.LEGITIMATE_INTEREST,
        retention=LISTED_RETENTION,
        erasure=Erasure.DELETE,
    ),
    *_declare(
        [
            *_fields(contracts.ContactPersonAdded, *_PERSON),
            *_fields(contracts.AdminAdded, *_PERSON),
        ],
        subject="contact person or administrator",
        purpose="record who the customer's contact persons and administrators are (R1)",
        basis=LawfulBasis.LEGITIMATE_INTEREST,
        retention=LISTED_RETENTION,
        erasure=Erasure.CRYPTO_SHRED,
    ),
    # The organisation's own contact details: personal data when the customer is a sole
    # proprietorship or the address names a person, so treated as such.
    *_declare(
        _columns("organisations", *_ORG_CONTACT),
        subject="organisation",
        purpose="contact the customer during the contract (R1)",
        basis=LawfulBasis.CONTRACT,
        retention=LISTED_RETENTION,
        erasure=Erasure.DELETE,
    ),
    *_declare(
        _fields(contracts.OrganisationRegistered, *_ORG_CONTACT),
        subject="organisation (key scope data_key_ref)",
        purpose="record the customer's contact details (R1)",
        basis=LawfulBasis.CONTRACT,
        retention=LISTED_RETENTION,
        erasure=Erasure.CRYPTO_SHRED,
    ),
    *_declare(
        _columns("organisations", *_ORG_PAYMENT),
        subject="organisation",
        purpose="invoice the customer (R1)",
        basis=LawfulBasis.LEGAL_OBLIGATION,
        retention="the contract period, then the bookkeeping period (R2)",
        erasure=Erasure.KEEP_WITH_BASIS,
        keep_basis=BOOKKEEPING_KEEP,
    ),
    *_declare(
        _fields(contracts.OrganisationRegistered, *_ORG_PAYMENT),
        subject="organisation (key scope billing_key_ref)",
        purpose="record how the customer is invoiced (R1)",
        basis=LawfulBasis.LEGAL_OBLIGATION,
        retention="the contract period, then the bookkeeping period (R2)",
        erasure=Erasure.KEEP_WITH_BASIS,
        keep_basis=BOOKKEEPING_KEEP + "; then its key scope is destroyed",
    ),
    # identity's part of an access export (R14), sealed under the subject's key in its reply
    # to the privacy orchestrator (byggrygg_shared.participant).
    PersonalDataField(
        location=EventField(privacy_contracts.ParticipantReplied.event_type, "export"),
        subject="user, contact person or administrator",
        category=DataCategory.IDENTITY,
        purpose="hand the person's data to the privacy orchestrator for an access export (R14)",
        lawful_basis=LawfulBasis.LEGAL_OBLIGATION,
        retention="the privacy topics' retention (30 days)",
        erasure=Erasure.CRYPTO_SHRED,
    ),
)

ORGANISATION_NAME_REASON: Final = (
    "the name of a legal entity, public in the Brønnøysund register (not a person's name)"
)
KEY_REF_REASON: Final = "an opaque key-ring scope id, not derived from any person or data"

NON_PERSONAL: Final[tuple[NonPersonalField, ...]] = (
    NonPersonalField(TableColumn("organisations", "name"), ORGANISATION_NAME_REASON),
    NonPersonalField(
        EventField(contracts.OrganisationRegistered.event_type, "name"), ORGANISATION_NAME_REASON
    ),
    NonPersonalField(TableColumn("organisations", "billing_key_ref"), KEY_REF_REASON),
    NonPersonalField(
        TableColumn("organisations", "payment_information_erased_on"),
        "the date R2 erased the invoicing data: no payment information itself",
    ),
    NonPersonalField(
        EventField(contracts.OrganisationRegistered.event_type, "billing_key_ref"), KEY_REF_REASON
    ),
)

INVENTORY: Final = DataInventory(service="identity", personal=PERSONAL, non_personal=NON_PERSONAL)

# The contracts this service emits: the inventory covers exactly these.
EMITTED_CONTRACTS: Final[tuple[type[IntegrationEvent], ...]] = (
    contracts.OrganisationRegistered,
    contracts.ContactPersonAdded,
    contracts.AdminAdded,
    contracts.ContractEnded,
    contracts.RetentionClaimSettled,
    contracts.OrganisationDataErased,
    contracts.UserCreated,
    contracts.UserProfileCorrected,
    contracts.LicenceGranted,
    contracts.LicenceRevoked,
    contracts.SubscriptionCancelled,
    contracts.UserErased,
    privacy_contracts.ParticipantReplied,
)
