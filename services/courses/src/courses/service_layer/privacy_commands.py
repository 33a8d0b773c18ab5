"""courses' effects of the privacy orchestrator's commands (R6, R14, R16; DESIGN §4).

``CoursesPrivacy`` is courses' ``byggrygg_shared.participant.ParticipantHandler``; the shared
``Participant`` runs it in the command's transaction with the inbox claim and the reply.

- **erase** and **anonymise** (the same in courses: its inventory anonymises answers and
  deletes the rest, ``courses.privacy``):

  - the learner's answers are ANONYMISED, not deleted, so the operator keeps its statistics:
    each answer row gets a new random ``enrolment_id`` of its own (answers of one learner are
    not even linked to each other), ``subject_ref`` becomes ``anonymous-<that id>``, the free
    text is dropped and ``answered_at`` keeps only the day. Choice and scale values stay;
  - ``EnrolmentErased`` (counts only) is appended to each enrolment's stream, which closes the
    enrolment (no more answers) and deletes its projection row: progress and timestamps go
    with it. Completion statistics are the events' (``CourseCompleted``), not this table's;
  - the ``learners`` row (courses' view of the licence) is deleted, and the subject is
    remembered in ``erased_learners``: a ``LicenceGranted`` that arrives later (it travels on
    another topic) does not bring the learner back;
  - under a hold covering the answers' category (``content``), the answers and enrolments stay
    as they are and the evidence says ``kept`` with the basis; the learner row still goes;
  - the subject's key is shredded only when the command carries no hold (the shared rule,
    ``contracts.privacy``): then every free-text copy, in events and on Kafka, is unreadable.

- **export**: the learner row, every enrolment and every answer, free text decrypted (an
  erased key reads as the erased marker); the shared participant seals it under the subject's
  key.
- **rectify**: courses holds none of the rectifiable fields (name, e-mail, phone, gender,
  language): completed, nothing to do, no evidence.

Every step is idempotent and needs no key: after a crash between the key shred and the
commit the redelivered command finds the rows still there and does it all again.
"""

from __future__ import annotations

from typing import Any, Final
from uuid import UUID

import asyncpg

from byggrygg_shared.contracts import courses as contracts
from byggrygg_shared.contracts.privacy import (
    AnonymiseSubject,
    EraseSubject,
    Evidence,
    ExportSubject,
    Hold,
    RectifySubject,
)
from byggrygg_shared.eventstore import EventStore
from byggrygg_shared.inventory import EventField, Location, TableColumn
from byggrygg_shared.keyring import Erased
from byggrygg_shared.participant import Effects, evidence_of, hold_covering, kept_evidence
from courses.adapters.event_codec import encode_enrolment_event, enrolment_stream
from courses.adapters.projections import project_enrolment
from courses.adapters.repositories import Recorded
from courses.domain.enrolment import Enrolment
from courses.privacy import INVENTORY
from courses.service_layer.context import Dependencies

ANONYMOUS_PREFIX: Final = "anonymous-"
LEARNERS_TABLE: Final = "table learners"
ENROLMENTS_TABLE: Final = "table enrolments"

_SELECTED = TableColumn("answers", "selected_option_ids")
_SCALE = TableColumn("answers", "scale_value")
_FREE_TEXT = TableColumn("answers", "free_text")
_ANSWERED_AT = TableColumn("answers", "answered_at")
_ANSWERED_COUNT = TableColumn("enrolments", "answered_count")
_ANSWER_EVENT: Final = contracts.AnswerSubmitted.event_type


class CoursesPrivacy:
    """courses as a participant of data-subject requests."""

    def __init__(self, deps: Dependencies, *, store: EventStore | None = None) -> None:
        self._deps = deps
        self._store = store or EventStore()

    # --- erase / anonymise ------------------------------------------------------------------

    async def erase(self, conn: asyncpg.Connection, command: EraseSubject) -> Effects:
        return await self._erase(conn, command)

    async def anonymise(self, conn: asyncpg.Connection, command: AnonymiseSubject) -> Effects:
        # Erasure in courses already anonymises whatever its inventory allows (the answers).
        return await self._erase(conn, command)

    async def _erase(
        self, conn: asyncpg.Connection, command: EraseSubject | AnonymiseSubject
    ) -> Effects:
        subject = command.subject_ref
        learners = await conn.fetchval(
            "WITH gone AS (DELETE FROM learners WHERE subject_ref = $1 RETURNING 1) "
            "SELECT count(*) FROM gone",
            subject,
        )
        # Also when no learner row exists yet: the LicenceGranted may still be on its way.
        await conn.execute(
            "INSERT INTO erased_learners (subject_ref, erased_at) VALUES ($1, $2) "
            "ON CONFLICT (subject_ref) DO NOTHING",
            subject,
            self._deps.clock(),
        )
        enrolments = await conn.fetch(
            "SELECT enrolment_id, course_id, organisation_id FROM enrolments "
            "WHERE subject_ref = $1 ORDER BY enrolment_id FOR UPDATE",
            subject,
        )
        answers = await conn.fetch(
            "SELECT enrolment_id, question_id, selected_option_ids IS NOT NULL AS selected,"
            " scale_value IS NOT NULL AS scaled, free_text IS NOT NULL AS texted"
            " FROM answers WHERE subject_ref = $1 ORDER BY enrolment_id, question_id FOR UPDATE",
            subject,
        )
        counts: dict[Location, int] = {
            _SELECTED: sum(1 for row in answers if row["selected"]),
            _SCALE: sum(1 for row in answers if row["scaled"]),
            _FREE_TEXT: sum(1 for row in answers if row["texted"]),
            _ANSWERED_AT: len(answers),
            _ANSWERED_COUNT: len(enrolments),
        }
        counts = {location: n for location, n in counts.items() if n}
        # Every answer location is the same category (content): one hold covers them all.
        entry = INVENTORY.personal_at(_FREE_TEXT)
        hold = None if entry is None else hold_covering(command.holds, entry)
        evidence: list[Evidence] = []
        if learners:
            evidence.append(Evidence(location=LEARNERS_TABLE, action="erased", count=learners))
        if hold is not None:
            evidence += evidence_of(INVENTORY, counts, kept=dict.fromkeys(counts, hold))
        else:
            await self._anonymise_answers(conn, answers)
            per_enrolment: dict[UUID, int] = {}
            for row in answers:
                per_enrolment[row["enrolment_id"]] = per_enrolment.get(row["enrolment_id"], 0) + 1
            for row in enrolments:
                await self._record_erasure(
                    conn, row, command, per_enrolment.get(row["enrolment_id"], 0)
                )
            if enrolments:
                evidence.append(
                    Evidence(location=ENROLMENTS_TABLE, action="erased", count=len(enrolments))
                )
            evidence += evidence_of(INVENTORY, counts)
        evidence += await self._event_field_evidence(conn, subject, command.holds)
        return Effects(evidence=tuple(evidence), shred_key=not command.holds)

    async def _anonymise_answers(
        self, conn: asyncpg.Connection, answers: list[asyncpg.Record]
    ) -> None:
        if not answers:
            return
        new_ids = [self._deps.ids.new_id() for _ in answers]
        await conn.execute(
            """
            UPDATE answers a SET
                enrolment_id = n.new_id,
                subject_ref = $4 || n.new_id::text,
                free_text = NULL,
                answered_at = date_trunc('day', a.answered_at, 'UTC')
            FROM unnest($1::uuid[], $2::uuid[], $3::uuid[]) AS n(enrolment_id, question_id, new_id)
            WHERE a.enrolment_id = n.enrolment_id AND a.question_id = n.question_id
            """,
            [row["enrolment_id"] for row in answers],
            [row["question_id"] for row in answers],
            new_ids,
            ANONYMOUS_PREFIX,
        )

    async def _record_erasure(
        self,
        conn: asyncpg.Connection,
        enrolment: asyncpg.Record,
        command: EraseSubject | AnonymiseSubject,
        answers_anonymised: int,
    ) -> None:
        # Appended without loading the aggregate: after a crash between the shred and the
        # commit the key is gone, and erasure must not need it.
        event = Enrolment.Erased(
            enrolment_id=enrolment["enrolment_id"],
            course_id=enrolment["course_id"],
            subject_ref=command.subject_ref,
            organisation_id=enrolment["organisation_id"],
            request_id=command.request_id,
            answers_anonymised=answers_anonymised,
        )
        stream = enrolment_stream(event.enrolment_id)
        stored = await self._store.append(
            conn,
            stream_id=stream,
            expected_version=None,  # at the stream's end, without reading its version first
            events=[await encode_enrolment_event(event, self._deps.cipher)],
            metadata=self._deps.metadata(organisation_id=event.organisation_id),
        )
        await project_enrolment(conn, [Recorded(event=event, stored=stored[0])])

    async def _event_field_evidence(
        self, conn: asyncpg.Connection, subject: str, holds: list[Hold]
    ) -> list[Evidence]:
        row = await conn.fetchrow(
            "SELECT count(*) FILTER (WHERE payload->>'free_text' IS NOT NULL) AS texted,"
            " count(*) FILTER (WHERE payload->'selected_option_ids' <> 'null') AS selected,"
            " count(*) FILTER (WHERE payload->'scale_value' <> 'null') AS scaled"
            " FROM events WHERE event_type = $1 AND payload->>'subject_ref' = $2",
            _ANSWER_EVENT,
            subject,
        )
        counts: dict[Location, int] = {
            EventField(_ANSWER_EVENT, "free_text"): int(row["texted"]),
            EventField(_ANSWER_EVENT, "selected_option_ids"): int(row["selected"]),
            EventField(_ANSWER_EVENT, "scale_value"): int(row["scaled"]),
        }
        counts = {location: n for location, n in counts.items() if n}
        kept: dict[Location, Hold] = {}
        for location in counts:
            entry = INVENTORY.personal_at(location)
            hold = None if entry is None else hold_covering(holds, entry)
            if hold is not None:
                kept[location] = hold
        found = list(evidence_of(INVENTORY, counts, kept=kept))
        if not holds:
            return found
        # The free text's key stays while any hold lasts (contracts.privacy): still readable.
        return [
            kept_evidence(
                item.location, item.count, holds[0], "the subject's key stays while a hold lasts"
            )
            if item.action == "crypto_shredded"
            else item
            for item in found
        ]

    # --- export ----------------------------------------------------------------------------

    async def export(self, conn: asyncpg.Connection, command: ExportSubject) -> Effects:
        subject = command.subject_ref
        learner = await conn.fetchrow(
            "SELECT user_id, organisation_id, licence_id, status, licensed_at, ended_at,"
            " end_reason FROM learners WHERE subject_ref = $1",
            subject,
        )
        enrolments = await conn.fetch(
            "SELECT e.enrolment_id, e.course_id, e.course_version, v.content->>'title' AS title,"
            " e.user_id, e.organisation_id, e.origin, e.status, e.answered_count,"
            " e.question_count, e.required_count, e.started_at, e.completed_at, e.ended_at,"
            " e.end_reason FROM enrolments e JOIN course_versions v"
            " ON v.course_id = e.course_id AND v.version = e.course_version"
            " WHERE e.subject_ref = $1 ORDER BY e.started_at, e.enrolment_id",
            subject,
        )
        answers = await conn.fetch(
            "SELECT enrolment_id, question_id, course_id, course_version, kind,"
            " selected_option_ids, scale_value, free_text, submissions, answered_at"
            " FROM answers WHERE subject_ref = $1 ORDER BY enrolment_id, answered_at, question_id",
            subject,
        )
        exported_answers: list[dict[str, Any]] = []
        for row in answers:
            item = {key: _plain(value) for key, value in row.items() if key != "free_text"}
            item["free_text"] = await self._reveal(subject, row["free_text"])
            exported_answers.append(item)
        part: dict[str, Any] = {
            "service": "courses",
            "subject_ref": subject,
            "learner": None
            if learner is None
            else {key: _plain(value) for key, value in learner.items()},
            "enrolments": [{k: _plain(v) for k, v in row.items()} for row in enrolments],
            "answers": exported_answers,
        }
        counts: dict[Location, int] = {
            _SELECTED: sum(1 for row in answers if row["selected_option_ids"] is not None),
            _SCALE: sum(1 for row in answers if row["scale_value"] is not None),
            _FREE_TEXT: sum(1 for row in answers if row["free_text"] is not None),
            _ANSWERED_AT: len(answers),
            _ANSWERED_COUNT: len(enrolments),
        }
        evidence = [
            Evidence(location=str(location), action="exported", count=count)
            for location, count in sorted(counts.items(), key=lambda item: str(item[0]))
            if count
        ]
        if learner is not None:
            evidence.insert(0, Evidence(location=LEARNERS_TABLE, action="exported", count=1))
        return Effects(evidence=tuple(evidence), export=part)

    async def _reveal(self, subject: str, token: str | None) -> str | None:
        if token is None:
            return None
        plain = await self._deps.cipher.decrypt(subject, token)
        return str(plain) if isinstance(plain, Erased) else plain

    # --- rectify ---------------------------------------------------------------------------

    async def rectify(self, conn: asyncpg.Connection, command: RectifySubject) -> Effects:
        # None of the rectifiable fields (name, e-mail, phone, gender, language) is held in
        # courses: answers are what the learner said then, not facts to correct (R15).
        return Effects(outcome="completed")


def _plain(value: object) -> object:
    """A JSON-ready value of a database column."""
    if isinstance(value, UUID):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value
