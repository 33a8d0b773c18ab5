"""The orchestrator's data inventory (GDPR art. 30, DESIGN §4): what its tables hold.

The completion records hold **no personal data** (R19, `domain.records` says why and how):
a request id, the request's kind, roles and organisation ids of who asked and approved,
participants' evidence as table and field names with counts, bases and dates, sub-processors
(companies) and times. No subject ref, no account id, no free text; `completion_document`
refuses a record in which a subject ref or an e-mail address turns up. The chain head holds a
sequence number and a hash.

The privacy commands it sends (``byggrygg_shared.contracts.privacy``) name the subject by
``subject_ref`` only; the one personal field among them is ``RectifySubject.corrections``,
key-ring tokens under the subject's key (crypto-shredded with it).

The request workflow (next migrations) will add the request aggregate, which links a request
to its subject's ``subject_ref`` and is declared here when its tables exist.
"""

from __future__ import annotations

from typing import Final

from byggrygg_shared.contracts import privacy as contracts
from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.inventory import (
    DataCategory,
    DataInventory,
    Erasure,
    EventField,
    LawfulBasis,
    NonPersonalField,
    PersonalDataField,
    TableColumn,
)

NO_PERSONAL_DATA: Final = (
    "a completion record: request id, kind, roles and organisation ids, participants' evidence "
    "as table and field names, counts, bases and dates, sub-processors and times; never a "
    "subject ref, account id, contact detail or free text (checked when a record is made)"
)

PERSONAL: Final[tuple[PersonalDataField, ...]] = (
    PersonalDataField(
        location=EventField(contracts.RectifySubject.event_type, "corrections"),
        subject="data_subject",
        category=DataCategory.IDENTITY,
        purpose="carry a person's corrections of their name, contact details, gender or "
        "language to every service that holds a copy (R15)",
        lawful_basis=LawfulBasis.CONTROLLER_INSTRUCTION,
        retention="as long as the person's key lives; unreadable once it is destroyed",
        erasure=Erasure.CRYPTO_SHRED,
    ),
)

INVENTORY: Final = DataInventory(
    service="privacy-orchestrator",
    personal=PERSONAL,
    non_personal=(NonPersonalField(TableColumn("completion_records", "record"), NO_PERSONAL_DATA),),
)

# The contracts this service emits: the inventory covers exactly these.
EMITTED_CONTRACTS: Final[tuple[type[IntegrationEvent], ...]] = (
    contracts.EraseSubject,
    contracts.AnonymiseSubject,
    contracts.ExportSubject,
    contracts.RectifySubject,
)
