"""The enrolment read models (``enrolments``, ``answers``) from ``courses.enrolment.v1``, a batch
of events at a time: one statement per table and kind of event, not one per event.

Same rows as applying the events one by one in the order read (``EnrolmentStarted`` inserts
once, the last ``AnswerSubmitted`` of a question is its answer, completions and ends update,
``EnrolmentErased`` cuts the link). Per-table statements reorder the events, which is harmless
except in two cases: an enrolment started after its completion, end or erasure, and an answer
after its erasure (the erasure would wrongly drop that answer's free text). Neither happens in
courses' own order, but a batch (a replay, a redelivery) is cut into segments before such an
event, and the segments applied one after the other, so the result is the sequential one
whatever is read.

Privacy: the caller decides who is erased (``erased_among``, under the subjects' locks); an
erased person's enrolment is stored unlinked and their answers without free text, so neither a
replay nor a late event re-links them (R16). Free text is only ever the key-ring token.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias
from uuid import UUID

import asyncpg

from byggrygg_shared.contracts import courses as contracts
from byggrygg_shared.envelope import ReceivedContract
from reporting.service_layer.event_time import event_time, period_of

EnrolmentEvent: TypeAlias = (
    contracts.EnrolmentStarted
    | contracts.AnswerSubmitted
    | contracts.CourseCompleted
    | contracts.EnrolmentEnded
    | contracts.EnrolmentErased
)
EVENT_TYPES: Final = frozenset(
    event.event_type
    for event in (
        contracts.EnrolmentStarted,
        contracts.AnswerSubmitted,
        contracts.CourseCompleted,
        contracts.EnrolmentEnded,
        contracts.EnrolmentErased,
    )
)

# The erasure (service_layer.privacy_commands) and the projection lock the same key per
# person: these two statements must name it alike.
_LOCK_ONE: Final = "SELECT pg_advisory_xact_lock(hashtextextended('reporting-subject:' || $1, 0))"
_LOCK_MANY: Final = (
    "SELECT pg_advisory_xact_lock(hashtextextended('reporting-subject:' || s, 0)) "
    "FROM unnest($1::text[]) AS s"
)


async def lock_subject(conn: asyncpg.Connection, subject_ref: str) -> None:
    """Serialise a person's erasure with the projection of their events (transaction lock):
    an event projected concurrently with the erasure either is unlinked by it or sees it."""
    await conn.execute(_LOCK_ONE, subject_ref)


async def erased_among(
    conn: asyncpg.Connection, subject_refs: Iterable[str], *, lock: bool = True
) -> frozenset[str]:
    """Those of ``subject_refs`` erased on request; with ``lock``, first takes every one's
    subject lock until the transaction ends, so none of them is erased before it commits.

    All the batch's locks are taken here, before any of its writes, in sorted order (the
    order of the array; unnest keeps it). The erasure takes one person's lock and then that
    person's rows; the batch writes only rows of people it already holds. So an erasure never
    waits for a batch that waits for it, and two batches (two partitions' consumers) that
    share people take their locks in the same order: no deadlock. Locking per event instead
    would hold row locks of earlier events while waiting for a later person's lock.
    """
    subjects = sorted(set(subject_refs))
    if not subjects:
        return frozenset()
    if lock:
        await conn.execute(_LOCK_MANY, subjects)
    rows = await conn.fetch(
        "SELECT subject_ref FROM erased_subjects WHERE subject_ref = ANY($1::text[])", subjects
    )
    return frozenset(row["subject_ref"] for row in rows)


async def unlink_enrolments(conn: asyncpg.Connection, where: str, value: object) -> int:
    """Cut the person's link of the enrolments matching ``where`` (one ``$1`` parameter) and
    drop their answers' free-text tokens; how many answers lost a token."""
    enrolments = await conn.fetch(
        f"UPDATE enrolments SET subject_ref = NULL, unlinked = true WHERE {where} "  # noqa: S608 - fixed clauses of this package
        "RETURNING enrolment_id",
        value,
    )
    if not enrolments:
        return 0
    status = await conn.execute(
        "UPDATE answers SET free_text_token = NULL "
        "WHERE enrolment_id = ANY($1::uuid[]) AND free_text_token IS NOT NULL",
        [row["enrolment_id"] for row in enrolments],
    )
    return int(status.split()[-1])


@dataclass
class _Segment:
    """Rows of consecutive events that per-table statements apply exactly as one by one."""

    erased: frozenset[str]
    started: dict[UUID, tuple[Any, ...]] = field(default_factory=dict)
    # (enrolment, question) -> the first event's identifying columns, the last one's answer
    answers: dict[tuple[UUID, UUID], tuple[tuple[Any, ...], tuple[Any, ...]]] = field(
        default_factory=dict
    )
    completed: dict[UUID, tuple[Any, ...]] = field(default_factory=dict)
    ended: dict[UUID, tuple[Any, ...]] = field(default_factory=dict)
    erasures: dict[UUID, None] = field(default_factory=dict)  # ordered set

    def takes(self, event: EnrolmentEvent) -> bool:
        """False if ``event`` must wait for the next segment (see the module docstring)."""
        enrolment = event.enrolment_id
        # `type(...) is`, not isinstance: contracts are pydantic models, whose metaclass is an
        # ABCMeta, and its isinstance costs a few tenths of a µs; events are never subclassed.
        if type(event) is contracts.EnrolmentStarted:
            return not (
                enrolment in self.completed or enrolment in self.ended or enrolment in self.erasures
            )
        if type(event) is contracts.AnswerSubmitted:
            return enrolment not in self.erasures
        return True

    def add(self, received: ReceivedContract, event: EnrolmentEvent) -> None:
        at = event_time(received)
        # `type(...) is` as in `takes` (and mypy narrows on it).
        if type(event) is contracts.EnrolmentStarted:
            erased = event.subject_ref in self.erased
            # ON CONFLICT DO NOTHING: the first start of an enrolment is the one kept.
            self.started.setdefault(
                event.enrolment_id,
                (
                    event.enrolment_id,
                    event.course_id,
                    event.course_version,
                    event.organisation_id,
                    None if erased else event.subject_ref,
                    at,
                    period_of(at),
                    erased,
                ),
            )
        elif type(event) is contracts.AnswerSubmitted:
            key = (event.enrolment_id, event.question_id)
            # After an erasure the token is unreadable anyway (key shredded): not stored.
            token = None if event.subject_ref in self.erased else event.free_text
            answer = (
                str(event.kind),
                _uuid_array(event.selected_option_ids),
                event.scale_value,
                token,
                at,
                period_of(at),
            )
            first = self.answers.get(key)
            # The upsert keeps the first insert's identifying columns, the last answer.
            identity = (
                first[0]
                if first
                else (*key, event.course_id, event.course_version, event.organisation_id)
            )
            self.answers[key] = (identity, answer)
        elif type(event) is contracts.CourseCompleted:
            self.completed[event.enrolment_id] = (
                event.enrolment_id,
                event.completed_at,
                period_of(event.completed_at),
            )
        elif type(event) is contracts.EnrolmentEnded:
            self.ended[event.enrolment_id] = (event.enrolment_id, at, str(event.reason))
        elif type(event) is contracts.EnrolmentErased:
            self.erasures[event.enrolment_id] = None


def _uuid_array(ids: list[UUID] | None) -> str | None:
    # A uuid[] per row cannot go through unnest (arrays of arrays must be rectangular): it
    # travels as its text literal and is cast back in the statement.
    return None if ids is None else "{" + ",".join(str(option) for option in ids) + "}"


def _columns(rows: Iterable[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """Rows as ``width`` column arrays, for ``unnest``."""
    columns: list[list[Any]] = [[] for _ in range(width)]
    for row in rows:
        for index, value in enumerate(row):
            columns[index].append(value)
    return columns


async def _apply_segment(conn: asyncpg.Connection, segment: _Segment) -> None:
    completed = segment.completed
    if segment.started:
        # A completion of an enrolment started in the same segment (after its start, see
        # ``takes``) goes into the start's row: one row written instead of a row inserted and
        # then updated (half the enrolments table's writes of a steady batch). The same rows
        # as start then completion: a new row gets the completion, an existing one keeps its
        # start (the first is kept) and gets the completion; without one it stays as it was.
        no_completion = (None, None)
        await conn.execute(
            "INSERT INTO enrolments (enrolment_id, course_id, course_version, organisation_id, "
            "subject_ref, started_at, started_period, unlinked, completed_at, completed_period) "
            "SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::uuid[], $5::text[], "
            "$6::timestamptz[], $7::date[], $8::bool[], $9::timestamptz[], $10::date[]) "
            "ON CONFLICT (enrolment_id) DO UPDATE SET completed_at = EXCLUDED.completed_at, "
            "completed_period = EXCLUDED.completed_period "
            "WHERE EXCLUDED.completed_at IS NOT NULL",
            *_columns(
                (
                    (*row, *(completed[enrolment][1:] if enrolment in completed else no_completion))
                    for enrolment, row in segment.started.items()
                ),
                10,
            ),
        )
    if segment.answers:
        await conn.execute(
            "INSERT INTO answers (enrolment_id, question_id, course_id, course_version, "
            "organisation_id, kind, selected_option_ids, scale_value, free_text_token, "
            "answered_at, period) "
            "SELECT e, q, c, v, o, k, s::uuid[], n, t, a, p FROM unnest($1::uuid[], $2::uuid[], "
            "$3::uuid[], $4::int[], $5::uuid[], $6::text[], $7::text[], $8::int[], $9::text[], "
            "$10::timestamptz[], $11::date[]) AS u(e, q, c, v, o, k, s, n, t, a, p) "
            "ON CONFLICT (enrolment_id, question_id) DO UPDATE SET "
            "kind = EXCLUDED.kind, selected_option_ids = EXCLUDED.selected_option_ids, "
            "scale_value = EXCLUDED.scale_value, free_text_token = EXCLUDED.free_text_token, "
            "answered_at = EXCLUDED.answered_at, period = EXCLUDED.period",
            *_columns(((*identity, *answer) for identity, answer in segment.answers.values()), 11),
        )
    # The completions of enrolments started in an earlier segment or batch.
    later = [row for enrolment, row in completed.items() if enrolment not in segment.started]
    if later:
        await conn.execute(
            "UPDATE enrolments SET completed_at = u.at, completed_period = u.period "
            "FROM unnest($1::uuid[], $2::timestamptz[], $3::date[]) AS u(id, at, period) "
            "WHERE enrolments.enrolment_id = u.id",
            *_columns(later, 3),
        )
    if segment.ended:
        await conn.execute(
            "UPDATE enrolments SET ended_at = u.at, end_reason = u.reason "
            "FROM unnest($1::uuid[], $2::timestamptz[], $3::text[]) AS u(id, at, reason) "
            "WHERE enrolments.enrolment_id = u.id",
            *_columns(segment.ended.values(), 3),
        )
    if segment.erasures:
        # courses erased the learner (R16): cut the link here too; the answers stay, anonymous.
        await unlink_enrolments(conn, "enrolment_id = ANY($1::uuid[])", list(segment.erasures))


async def apply_enrolment_events(
    conn: asyncpg.Connection,
    events: Sequence[tuple[ReceivedContract, EnrolmentEvent]],
    erased: frozenset[str],
) -> None:
    """Apply ``events`` (in the order read) to ``enrolments`` and ``answers``; ``erased`` are
    the people among them erased on request (``erased_among``)."""
    segment = _Segment(erased)
    for received, event in events:
        if not segment.takes(event):
            await _apply_segment(conn, segment)
            segment = _Segment(erased)
        segment.add(received, event)
    await _apply_segment(conn, segment)
