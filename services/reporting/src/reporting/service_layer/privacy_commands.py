"""reporting's effects of the privacy orchestrator's commands (R4, R14, R15, R16).

``ReportingPrivacy`` is reporting's ``byggrygg_shared.participant.ParticipantHandler``; the
shared ``Participant`` runs it in the command's transaction with the inbox claim and the reply.

What reporting holds under a person's ``subject_ref``: enrolments (``enrolments.subject_ref``)
and, through them, answers (option ids and scale values readable, free text only as a key-ring
token). What each command does:

- **erase / anonymise**: the answers stay (the operator's statistics keep them, R4) but the
  link goes: ``subject_ref`` removed from the person's enrolments, their free-text tokens
  dropped, the pseudonym remembered in ``erased_subjects`` so a rebuild never re-links it; the
  subject's key is shredded (the free text is unreadable in every copy). A hold covering the
  answers' category (content) keeps everything linked, and the evidence names the hold.
- **export**: the person's enrolments and answers (option ids, scale values, whether a free
  text was given: its words are in courses' part of the export, reporting has only a token).
- **rectify**: reporting holds none of the rectifiable fields (name, e-mail, phone, gender,
  language): nothing to correct; replied as completed.

Every step is idempotent: a redelivered command finds the link already cut and changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import asyncpg

from byggrygg_shared.contracts.privacy import (
    AnonymiseSubject,
    EraseSubject,
    Evidence,
    ExportSubject,
    RectifySubject,
)
from byggrygg_shared.inventory import Location, TableColumn
from byggrygg_shared.participant import Effects, evidence_of, hold_covering
from reporting.privacy import INVENTORY
from reporting.service_layer.context import Dependencies
from reporting.service_layer.projection import lock_subject, unlink_enrolments

_LINK = TableColumn("enrolments", "subject_ref")
_TOKEN = TableColumn("answers", "free_text_token")
_ANSWER_COLUMNS = (
    TableColumn("answers", "selected_option_ids"),
    TableColumn("answers", "scale_value"),
    TableColumn("answers", "answered_at"),
)


class ReportingPrivacy:
    """reporting as a participant of data-subject requests."""

    def __init__(self, deps: Dependencies) -> None:
        self._deps = deps

    async def erase(self, conn: asyncpg.Connection, command: EraseSubject) -> Effects:
        return await self._erase(conn, command)

    async def anonymise(self, conn: asyncpg.Connection, command: AnonymiseSubject) -> Effects:
        # reporting's erasure already anonymises: the answers stay, the link goes.
        return await self._erase(conn, command)

    async def _erase(
        self, conn: asyncpg.Connection, command: EraseSubject | AnonymiseSubject
    ) -> Effects:
        subject = command.subject_ref
        entry = INVENTORY.personal_at(_LINK)
        hold = None if entry is None else hold_covering(command.holds, entry)
        await lock_subject(conn, subject)
        enrolments, answers, tokens = await _linked_counts(conn, subject)
        counts: dict[Location, int] = {}
        if enrolments:
            counts[_LINK] = enrolments
        if answers:
            counts.update(dict.fromkeys(_ANSWER_COLUMNS, answers))
        if tokens:
            counts[_TOKEN] = tokens
        if hold is not None:
            # Held (e.g. an open complaint about the answers): everything stays linked.
            kept = dict.fromkeys(counts, hold)
            return Effects(evidence=evidence_of(INVENTORY, counts, kept=kept), shred_key=False)
        await unlink_enrolments(conn, "subject_ref = $1", subject)
        # Also when nothing is linked yet: the person's events may still be on their way. The
        # pseudonym kept here is the erasure's own memory (as courses' erased_learners), not
        # data kept from it: no evidence, the outcome stays "completed".
        await conn.execute(
            "INSERT INTO erased_subjects (subject_ref, erased_at) VALUES ($1, $2) "
            "ON CONFLICT (subject_ref) DO NOTHING",
            subject,
            self._deps.clock(),
        )
        return Effects(evidence=evidence_of(INVENTORY, counts), shred_key=not command.holds)

    async def export(self, conn: asyncpg.Connection, command: ExportSubject) -> Effects:
        rows = await conn.fetch(
            "SELECT e.enrolment_id, e.course_id, e.course_version, e.organisation_id, "
            "e.started_at, e.completed_at, e.ended_at, a.question_id, a.kind, "
            "a.selected_option_ids, a.scale_value, a.free_text_token IS NOT NULL AS has_text, "
            "a.answered_at "
            "FROM enrolments e LEFT JOIN answers a USING (enrolment_id) "
            "WHERE e.subject_ref = $1 ORDER BY e.started_at, e.enrolment_id, a.question_id",
            command.subject_ref,
        )
        enrolments: dict[str, dict[str, Any]] = {}
        answers: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            key = str(row["enrolment_id"])
            enrolments.setdefault(
                key,
                {
                    "enrolment_id": key,
                    "course_id": str(row["course_id"]),
                    "course_version": row["course_version"],
                    "organisation_id": str(row["organisation_id"]),
                    "started_at": _iso(row["started_at"]),
                    "completed_at": _iso(row["completed_at"]),
                    "ended_at": _iso(row["ended_at"]),
                },
            )
            if row["question_id"] is not None:
                answers[key].append(
                    {
                        "question_id": str(row["question_id"]),
                        "kind": row["kind"],
                        "selected_option_ids": None
                        if row["selected_option_ids"] is None
                        else [str(option) for option in row["selected_option_ids"]],
                        "scale_value": row["scale_value"],
                        # The words are in courses' part; reporting holds only a sealed copy.
                        "free_text_given": row["has_text"],
                        "answered_at": _iso(row["answered_at"]),
                    }
                )
        part = {
            "enrolments": [
                {**enrolment, "answers": answers.get(key, [])}
                for key, enrolment in enrolments.items()
            ]
        }
        answer_count = sum(len(items) for items in answers.values())
        evidence: list[Evidence] = []
        if enrolments:
            evidence.append(Evidence(location=str(_LINK), action="exported", count=len(enrolments)))
        if answer_count:
            evidence.extend(
                Evidence(location=str(column), action="exported", count=answer_count)
                for column in _ANSWER_COLUMNS
            )
        return Effects(evidence=tuple(evidence), export=part)

    async def rectify(self, conn: asyncpg.Connection, command: RectifySubject) -> Effects:
        # None of the rectifiable fields is held in reporting: answers are what the learner
        # said then, not facts to correct (R15).
        return Effects(outcome="completed")


async def _linked_counts(conn: asyncpg.Connection, subject: str) -> tuple[int, int, int]:
    """The person's linked enrolments, their answers and free-text tokens (locks the rows)."""
    enrolment_ids = [
        row["enrolment_id"]
        for row in await conn.fetch(
            "SELECT enrolment_id FROM enrolments WHERE subject_ref = $1 FOR UPDATE", subject
        )
    ]
    if not enrolment_ids:
        return 0, 0, 0
    row = await conn.fetchrow(
        "SELECT count(*) AS answers, count(free_text_token) AS tokens FROM answers "
        "WHERE enrolment_id = ANY($1::uuid[])",
        enrolment_ids,
    )
    assert row is not None
    return len(enrolment_ids), int(row["answers"]), int(row["tokens"])


def _iso(value: Any) -> str | None:
    return None if value is None else str(value.isoformat())
