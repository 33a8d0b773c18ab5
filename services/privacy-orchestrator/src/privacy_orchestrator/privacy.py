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

The request workflow links a request to its subject: ``requests.subject_ref`` and
``requests.requested_by`` (the account that filed it), the same inside the request's history
(``request_events.payload``), and ``legal_holds.subject_ref``. They are the proof of how a
person's request was handled (art. 5(2), 12) and are kept under that basis; erasing them when
that retention ends is the retention scheduler's job (not built yet).
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

_REQUEST_PROOF: Final = (
    "accountability for the handling of a data-subject request (GDPR art. 5(2), 12): kept "
    "until BYGGRYGG_PRIVACY_ORCHESTRATOR_REQUEST_PROOF_YEARS (3) after the request ended (not "
    "while a hold on the subject is in force), then deleted by the proof retention; the "
    "completion record, which holds no personal data, stays"
)

REQUEST_LINKS: Final[tuple[PersonalDataField, ...]] = tuple(
    PersonalDataField(
        location=TableColumn(table, column),
        subject=subject,
        category=DataCategory.IDENTITY,
        purpose=purpose,
        lawful_basis=LawfulBasis.LEGAL_OBLIGATION,
        retention="until the request's proof retention ends (3 years after it ended)",
        erasure=Erasure.KEEP_WITH_BASIS,
        keep_basis=_REQUEST_PROOF,
    )
    for table, column, subject, purpose in (
        ("requests", "subject_ref", "data_subject", "whose data a request is about"),
        ("requests", "requested_by", "requester", "who filed a request (may read it)"),
        (
            "request_events",
            "payload",
            "data_subject",
            "the request's history: subject ref, accounts that filed and decided it",
        ),
        ("legal_holds", "subject_ref", "data_subject", "whose data a legal hold keeps (R16)"),
    )
)

# Sub-processors (R12, R13): the register holds companies; what names a person is the subject
# ref a request to a sub-processor carries, a rectification's new values until the request is
# accepted, and the record an access request's callback returns.
SUBPROCESSOR_DATA: Final[tuple[PersonalDataField, ...]] = (
    PersonalDataField(
        location=TableColumn("subprocessor_deliveries", "subject_ref"),
        subject="data_subject",
        category=DataCategory.IDENTITY,
        purpose="name the person to the sub-processor that received their data (R13)",
        lawful_basis=LawfulBasis.LEGAL_OBLIGATION,
        retention="until the request's proof retention ends (3 years after it ended)",
        erasure=Erasure.KEEP_WITH_BASIS,
        keep_basis=_REQUEST_PROOF,
    ),
    PersonalDataField(
        location=TableColumn("subprocessor_deliveries", "changes"),
        subject="data_subject",
        category=DataCategory.CONTACT,
        purpose="carry a person's corrections to a sub-processor (R15)",
        lawful_basis=LawfulBasis.LEGAL_OBLIGATION,
        retention="until the sub-processor accepts the request",
        erasure=Erasure.DELETE,
    ),
    PersonalDataField(
        location=TableColumn("subprocessor_confirmations", "export"),
        subject="data_subject",
        category=DataCategory.CONTACT,
        purpose="a sub-processor's part of a person's access export (R14)",
        lawful_basis=LawfulBasis.LEGAL_OBLIGATION,
        retention="until the assembled export expires",
        erasure=Erasure.DELETE,
    ),
)

# Access export (R14): the parts as received and the assembled export are key-ring tokens
# under the subject's key (unreadable once it is shredded) and deleted when the export expires
# (the expiry worker; parts of a request that never completed once they are as old as that).
EXPORT_DATA: Final[tuple[PersonalDataField, ...]] = tuple(
    PersonalDataField(
        location=TableColumn(table, column),
        subject="data_subject",
        category=DataCategory.CONTENT,
        purpose=purpose,
        lawful_basis=LawfulBasis.LEGAL_OBLIGATION,
        retention="until the export expires (BYGGRYGG_PRIVACY_ORCHESTRATOR_EXPORT_TTL_HOURS, "
        "7 days by default; for a request of an organisation's export at a contract end, "
        "art. 28(3)(g), not before the export offer ends), then deleted",
        erasure=Erasure.CRYPTO_SHRED,
    )
    for table, column, purpose in (
        (
            "export_parts",
            "export_token",
            "a participant's or sub-processor's part of a person's access export (R14): a copy "
            "of what it holds about them, kept until the export is assembled",
        ),
        (
            "access_exports",
            "document",
            "the person's access export (R14, art. 15, 20): a copy of every category of their "
            "data, for them to download until it expires",
        ),
    )
)

# Automatic triggers and retention clocks (R2, R6): whose data a contract end erases. Only
# pseudonyms: a subject ref per organisation (with identity's token of the login e-mail, for
# the R10 notice), and the scheduler's place in that list while it files the erasures.
# ``automatic_erasures`` (trigger ids, request ids, codes) and ``contract_ends``' other
# columns (an organisation's dates, retention claims, counts) name no person.
TRIGGER_DATA: Final[tuple[PersonalDataField, ...]] = (
    PersonalDataField(
        location=TableColumn("organisation_subjects", "subject_ref"),
        subject="user",
        category=DataCategory.IDENTITY,
        purpose="know whose data to erase when the organisation's contract ends (R2, R6)",
        lawful_basis=LawfulBasis.CONTROLLER_INSTRUCTION,
        retention="while the person is a user of the organisation; deleted when identity "
        "reports them erased",
        erasure=Erasure.DELETE,
    ),
    PersonalDataField(
        location=TableColumn("organisation_subjects", "email_token"),
        subject="user",
        category=DataCategory.CONTACT,
        purpose="tell the person of an automatic erasure which data was kept and why (R10)",
        lawful_basis=LawfulBasis.LEGAL_OBLIGATION,
        retention="while the person is a user of the organisation; identity's key-ring token "
        "under the subject's key, unreadable once it is shredded, deleted when identity "
        "reports them erased",
        erasure=Erasure.CRYPTO_SHRED,
    ),
    PersonalDataField(
        location=TableColumn("organisation_contacts", "subject_ref"),
        subject="contact person",
        category=DataCategory.IDENTITY,
        purpose="tell the organisation's contact persons of its export offer at contract end "
        "(art. 28(3)(g))",
        lawful_basis=LawfulBasis.CONTROLLER_INSTRUCTION,
        retention="until the contract end's erasures are all filed, or the person is erased",
        erasure=Erasure.DELETE,
    ),
    PersonalDataField(
        location=TableColumn("organisation_contacts", "email_token"),
        subject="contact person",
        category=DataCategory.CONTACT,
        purpose="tell the organisation's contact persons of its export offer at contract end "
        "(art. 28(3)(g))",
        lawful_basis=LawfulBasis.CONTROLLER_INSTRUCTION,
        retention="identity's key-ring token under the person's key, unreadable once it is "
        "shredded; deleted with the row",
        erasure=Erasure.CRYPTO_SHRED,
    ),
    PersonalDataField(
        location=TableColumn("contract_ends", "cursor"),
        subject="user",
        category=DataCategory.IDENTITY,
        purpose="where the retention scheduler is in the organisation's subjects, so a restart "
        "resumes without filing anyone twice",
        lawful_basis=LawfulBasis.CONTROLLER_INSTRUCTION,
        retention="while the contract end's erasures are being filed; cleared when all are",
        erasure=Erasure.DELETE,
    ),
)

# Notices to the person (R10; service_layer.notices): the address a request asked to be told
# at, a key-ring token under the request's own key scope until the request ends (then cleared
# and the scope destroyed), and the kept-data mail in the mail outbox until it is sent (then
# the address and the body are cleared).
_NOTICE_PURPOSE: Final = "tell the person, by e-mail, which data was kept and why (R10)"
NOTICE_DATA: Final[tuple[PersonalDataField, ...]] = (
    PersonalDataField(
        location=TableColumn("request_notices", "address"),
        subject="data_subject",
        category=DataCategory.CONTACT,
        purpose=_NOTICE_PURPOSE,
        lawful_basis=LawfulBasis.LEGAL_OBLIGATION,
        retention="until the request ends; then cleared and its key scope destroyed",
        erasure=Erasure.CRYPTO_SHRED,
    ),
    PersonalDataField(
        location=TableColumn("mail_outbox", "recipient"),
        subject="data_subject",
        category=DataCategory.CONTACT,
        purpose=_NOTICE_PURPOSE + "; also a contact person told of the export offer at "
        "contract end (art. 28(3)(g))",
        lawful_basis=LawfulBasis.LEGAL_OBLIGATION,
        retention="until the mail is sent; then cleared",
        erasure=Erasure.DELETE,
    ),
    PersonalDataField(
        location=TableColumn("mail_outbox", "body"),
        subject="data_subject",
        category=DataCategory.CONTENT,
        purpose=_NOTICE_PURPOSE + "; names kinds of data, bases and dates, never the data",
        lawful_basis=LawfulBasis.LEGAL_OBLIGATION,
        retention="until the mail is sent; then cleared",
        erasure=Erasure.DELETE,
    ),
)

INVENTORY: Final = DataInventory(
    service="privacy-orchestrator",
    personal=PERSONAL
    + REQUEST_LINKS
    + SUBPROCESSOR_DATA
    + EXPORT_DATA
    + TRIGGER_DATA
    + NOTICE_DATA,
    non_personal=(
        NonPersonalField(TableColumn("completion_records", "record"), NO_PERSONAL_DATA),
        NonPersonalField(
            TableColumn("subprocessors", "name"),
            "a sub-processor's company name (R12), not a person's",
        ),
        NonPersonalField(
            EventField(contracts.RequestStateChanged.event_type, "participants_answered"),
            "how many participant services answered a request: a count, no person",
        ),
        NonPersonalField(
            EventField(contracts.RecordChainCheckpointed.event_type, "checkpoint"),
            "the records' chain head (a number and a hash), the time, the key's fingerprint",
        ),
    ),
)

# The contracts this service emits: the inventory covers exactly these.
EMITTED_CONTRACTS: Final[tuple[type[IntegrationEvent], ...]] = (
    contracts.EraseSubject,
    contracts.AnonymiseSubject,
    contracts.ExportSubject,
    contracts.RectifySubject,
    contracts.RequestStateChanged,  # no personal data (the dashboard's feed, issue 6)
    contracts.RecordChainCheckpointed,  # a number, a hash, a time, a key fingerprint (R19)
)
