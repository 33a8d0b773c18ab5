"""Courses' data inventory (GDPR art. 30, DESIGN §4): every table column and event field that
holds personal data, why it is kept, on what basis, for how long, and what erasure does.

The privacy orchestrator plans data-subject requests from this declaration, and
`tests/unit/test_inventory.py` fails when a table or an event gains a personal field that is
not declared here (see `byggrygg_shared.inventory`). The privacy orchestrator's commands are
carried out by `service_layer.privacy_commands`, which builds its evidence from this module.

How erasure works in courses (R16):
- answers are **anonymised**, not deleted: the operator keeps them for its statistics, but
  every link to the person goes (a new random id instead of the enrolment, user and
  subject_ref; free text dropped). Free text is a key-ring token in the event store, on Kafka
  and in the ``answers`` table alike, so destroying the learner's key makes it unreadable
  everywhere at once (crypto-shredding). The learner's enrolments (progress, timestamps) and
  their ``learners`` row are deleted; completion statistics come from the events
  (``CourseCompleted``), not from courses' projections.
- choice and scale answers travel in ``AnswerSubmitted`` as readable values (option ids, a
  scale point), because reporting builds the k-anonymous statistics of R5 from them. They name
  the learner only by the pseudonym ``subject_ref``. Pseudonymous data is personal data, so they
  are declared personal with erasure **unlink**: once the learner is erased (identity's
  profile deleted, the key destroyed, courses' projections anonymised) nothing links that
  pseudonym to a person, and what stays in the immutable events is an anonymous answer.
"""

from __future__ import annotations

from typing import Final

from byggrygg_shared.contracts import courses as contracts
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

LEARNER_RETENTION: Final = (
    "while the organisation is a customer and the learner's licence and subscription last (R6); "
    "then anonymised for the operator's statistics"
)
ANSWER_PURPOSE: Final = (
    "record what the learner answered while taking a course (R3), for the learner, the "
    "operator's staff (R4) and anonymous statistics (R5)"
)


def _answer(location: TableColumn | EventField, erasure: Erasure) -> PersonalDataField:
    return PersonalDataField(
        location=location,
        subject="learner",
        category=DataCategory.CONTENT,
        purpose=ANSWER_PURPOSE,
        lawful_basis=LawfulBasis.CONTROLLER_INSTRUCTION,
        retention=LEARNER_RETENTION,
        erasure=erasure,
    )


PERSONAL: Final[tuple[PersonalDataField, ...]] = (
    # The last answer per question, linked to the enrolment and subject_ref.
    _answer(TableColumn("answers", "selected_option_ids"), Erasure.ANONYMISE),
    _answer(TableColumn("answers", "scale_value"), Erasure.ANONYMISE),
    _answer(TableColumn("answers", "free_text"), Erasure.ANONYMISE),
    _answer(TableColumn("answers", "answered_at"), Erasure.ANONYMISE),
    _answer(TableColumn("enrolments", "answered_count"), Erasure.DELETE),
    # Free text in the events: a key-ring token under the learner's subject_ref.
    _answer(EventField(contracts.AnswerSubmitted.event_type, "free_text"), Erasure.CRYPTO_SHRED),
    # Choice and scale answers in the events: plain for reporting's k-anonymous statistics (R5),
    # linked to the learner only through the pseudonym subject_ref.
    _answer(
        EventField(contracts.AnswerSubmitted.event_type, "selected_option_ids"), Erasure.UNLINK
    ),
    _answer(EventField(contracts.AnswerSubmitted.event_type, "scale_value"), Erasure.UNLINK),
)

# The pseudonym of a learner erased on request, so a late licence event is refused (R6).
ERASED_LEARNER: Final = PersonalDataField(
    location=TableColumn("erased_learners", "subject_ref"),
    subject="learner",
    category=DataCategory.IDENTITY,
    purpose="refuse a licence event that arrives after the learner's erasure, so an erased "
    "learner is never re-created (R6, R16)",
    lawful_basis=LawfulBasis.LEGAL_OBLIGATION,
    retention="kept: after the erasure nothing else links the pseudonym to a person",
    erasure=Erasure.KEEP_WITH_BASIS,
    keep_basis="the erasure must stay effective (GDPR art. 17): a late licence event for the "
    "pseudonym is refused instead of re-creating the learner",
)

NON_PERSONAL: Final[tuple[NonPersonalField, ...]] = (
    NonPersonalField(
        EventField(contracts.EnrolmentErased.event_type, "answers_anonymised"),
        "how many answers an erasure anonymised: a count, never an answer",
    ),
)

INVENTORY: Final = DataInventory(
    service="courses", personal=(*PERSONAL, ERASED_LEARNER), non_personal=NON_PERSONAL
)

# The contracts this service emits: the inventory covers exactly these.
EMITTED_CONTRACTS: Final[tuple[type[IntegrationEvent], ...]] = (
    contracts.CourseCreated,
    contracts.CourseDraftRevised,
    contracts.CoursePublished,
    contracts.CourseAssigned,
    contracts.EnrolmentStarted,
    contracts.AnswerSubmitted,
    contracts.CourseCompleted,
    contracts.EnrolmentEnded,
    contracts.EnrolmentErased,
)
