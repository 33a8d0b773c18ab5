"""Reporting's data inventory (GDPR art. 30, DESIGN §4): every table column that holds personal
data, why it is kept, on what basis, for how long, and what erasure does.

The privacy orchestrator plans data-subject requests from this declaration (reporting is a
participant once this inventory is installed), and ``tests/unit/test_inventory.py`` fails when
a table gains a personal column not declared here. Reporting emits no domain events (only its
``ParticipantReplied``, the privacy contract's), so it declares no event fields.

How erasure works in reporting (R4, R16): the answers stay for the operator's statistics but
every link to the person goes: ``enrolments.subject_ref`` is removed, the free-text token is
dropped (and unreadable anyway once the person's key is shredded), and the pseudonym is
remembered in ``erased_subjects`` so that a replay of the topics never links it again.
"""

from __future__ import annotations

from typing import Final

from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.inventory import (
    DataCategory,
    DataInventory,
    Erasure,
    LawfulBasis,
    NonPersonalField,
    PersonalDataField,
    TableColumn,
)

ANSWER_PURPOSE: Final = (
    "count what learners answered for k-anonymous statistics of the organisation (R5) and the "
    "operator's internal statistics (R4)"
)
ANSWER_RETENTION: Final = (
    "linked to the person while the learner's enrolment lasts; then anonymised for the "
    "operator's statistics"
)


def _content(table: str, column: str, erasure: Erasure) -> PersonalDataField:
    return PersonalDataField(
        location=TableColumn(table, column),
        subject="learner",
        category=DataCategory.CONTENT,
        purpose=ANSWER_PURPOSE,
        lawful_basis=LawfulBasis.CONTROLLER_INSTRUCTION,
        retention=ANSWER_RETENTION,
        erasure=erasure,
    )


PERSONAL: Final[tuple[PersonalDataField, ...]] = (
    # The pseudonym linking an enrolment (and its answers) to the person: removed on erasure.
    _content("enrolments", "subject_ref", Erasure.DELETE),
    # The answers themselves stay, without the link (R4: staff statistics keep them).
    _content("answers", "selected_option_ids", Erasure.ANONYMISE),
    _content("answers", "scale_value", Erasure.ANONYMISE),
    _content("answers", "answered_at", Erasure.ANONYMISE),
    # Free text: only the key-ring token under the learner's subject_ref, dropped on erasure.
    _content("answers", "free_text_token", Erasure.CRYPTO_SHRED),
)

# The pseudonym of a learner erased on request, so a replay never re-links their answers.
ERASED_SUBJECT: Final = PersonalDataField(
    location=TableColumn("erased_subjects", "subject_ref"),
    subject="learner",
    category=DataCategory.IDENTITY,
    purpose="keep an erasure effective when the read models are rebuilt from courses' topics "
    "(whose events still carry the pseudonym) or a late event arrives (R16)",
    lawful_basis=LawfulBasis.LEGAL_OBLIGATION,
    retention="kept: after the erasure nothing else links the pseudonym to a person",
    erasure=Erasure.KEEP_WITH_BASIS,
    keep_basis="the erasure must stay effective (GDPR art. 17): a replayed event for the "
    "pseudonym is stored unlinked instead of re-linking the person's answers",
)

# the ops read model holds counts and times of requests, nothing about a person.
NON_PERSONAL: Final[tuple[NonPersonalField, ...]] = (
    NonPersonalField(
        TableColumn("ops_requests", "participants_answered"),
        "how many participants have answered a data-subject request: a count, not an answer",
    ),
)

INVENTORY: Final = DataInventory(
    service="reporting", personal=(*PERSONAL, ERASED_SUBJECT), non_personal=NON_PERSONAL
)

# The contracts this service emits: none of its own (replies are the privacy contract's).
EMITTED_CONTRACTS: Final[tuple[type[IntegrationEvent], ...]] = ()
