"""The ops read model (real PostgreSQL): the latest state per request whatever order the
changes arrive in, a redelivery changes nothing, the first in-progress time and the first
reply per participant are kept; nothing personal (subject ref, export token) is stored.
Also the staff-only summary API over it: counts by state, overdue and at risk as of the
clock's today (moving the clock changes them), escalations, reply times p50/p95/max."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from byggrygg_shared.auth import Role
from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.contracts.privacy import (
    REPLIES_TOPIC,
    REQUESTS_TOPIC,
    ParticipantReplied,
    RequestStateChanged,
)
from byggrygg_shared.db import transaction
from byggrygg_shared.envelope import EventMetadata, KafkaRecord, from_kafka_record, kafka_record
from byggrygg_shared.eventstore import metadata_document
from reporting.bootstrap import Runtime
from reporting.service_layer.ops_projection import apply_ops_event

from ....service_testing import MovableClock, assert_problem
from .conftest import TokenFor

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SUBJECT = "subj_" + "ab" * 16


def record(
    event: IntegrationEvent, *, topic: str, stream_id: str, at: datetime, source: str
) -> KafkaRecord:
    """The Kafka record the orchestrator (or a participant) would publish for `event`."""
    metadata = EventMetadata.new(clock=lambda: at)
    return kafka_record(
        topic=topic,
        stream_id=stream_id,
        ce_type=event.ce_type(),
        payload=event.model_dump(mode="json"),
        metadata=metadata_document(event, metadata),
        source_service=source,
    )


def state(
    request_id: uuid.UUID,
    state: str,
    *,
    at: datetime,
    deadline: date = date(2026, 4, 2),
    escalated: bool = False,
    answered: int = 0,
    topic: str = REQUESTS_TOPIC,
    organisation_id: uuid.UUID | None = None,
) -> KafkaRecord:
    changed = RequestStateChanged(
        request_id=request_id,
        kind="erasure",
        state=state,  # type: ignore[arg-type]
        change=state,
        organisation_id=organisation_id,
        requested_by_role="data_subject",
        trigger=None,
        received_at=T0,
        deadline=deadline,
        deadline_extended=False,
        overdue=False,
        on_hold=False,
        escalated=escalated,
        participants_answered=answered,
        participants_expected=4,
        sub_processors_confirmed=0,
        sub_processors_expected=1,
        changed_at=at,
        completed_at=at if state in ("completed", "partially_completed") else None,
    )
    return record(
        changed,
        topic=topic,
        stream_id=f"privacy-request-{request_id}",
        at=at,
        source="privacy-orchestrator",
    )


def reply(
    request_id: uuid.UUID, participant: str, *, at: datetime, topic: str = REPLIES_TOPIC
) -> KafkaRecord:
    replied = ParticipantReplied(
        request_id=request_id,
        participant=participant,  # type: ignore[arg-type]
        command="erase",
        subject_ref=SUBJECT,
        outcome="completed",
        evidence=[],
        export=None,
        replied_at=at,
    )
    return record(
        replied,
        topic=topic,
        stream_id=f"reply-{request_id}-{participant}",
        at=at,
        source=participant,
    )


async def apply(pool: asyncpg.Pool, *records: KafkaRecord) -> None:
    for one in records:
        event = from_kafka_record(one.headers, one.value, key=one.key)
        async with transaction(pool) as conn:
            assert await apply_ops_event(conn, event)


async def request_row(pool: asyncpg.Pool, request_id: uuid.UUID) -> dict[str, Any]:
    row = await pool.fetchrow("SELECT * FROM ops_requests WHERE request_id = $1", request_id)
    assert row is not None
    return dict(row)


async def test_the_latest_change_wins_whatever_the_order(runtime: Runtime) -> None:
    request_id = uuid.uuid4()
    received = state(request_id, "received", at=T0)
    in_progress = state(request_id, "in_progress", at=T0 + timedelta(hours=1))
    done = state(request_id, "completed", at=T0 + timedelta(hours=5), answered=4)

    # Out of order and with a redelivery: completed first, then the older changes.
    await apply(runtime.pool, done, received, in_progress, done, in_progress)

    row = await request_row(runtime.pool, request_id)
    assert row["state"] == "completed"
    assert row["participants_answered"] == 4
    assert row["changed_at"] == T0 + timedelta(hours=5)
    assert row["completed_at"] == T0 + timedelta(hours=5)
    # The in-progress change arrived late, yet still marks where reply times start.
    assert row["in_progress_at"] == T0 + timedelta(hours=1)
    assert await runtime.pool.fetchval("SELECT count(*) FROM ops_requests") == 1


async def test_the_first_reply_counts_and_nothing_personal_is_kept(runtime: Runtime) -> None:
    request_id = uuid.uuid4()
    await apply(
        runtime.pool,
        reply(request_id, "identity", at=T0 + timedelta(minutes=9)),
        reply(request_id, "identity", at=T0 + timedelta(minutes=3)),
        reply(request_id, "identity", at=T0 + timedelta(minutes=9)),
    )
    rows = [dict(r) for r in await runtime.pool.fetch("SELECT * FROM ops_replies")]
    assert rows == [
        {
            "request_id": request_id,
            "participant": "identity",
            "command": "erase",
            "outcome": "completed",
            "replied_at": T0 + timedelta(minutes=3),
        }
    ]
    # The subject ref travels on the reply but is stored nowhere in the ops read model.
    for table in ("ops_requests", "ops_replies"):
        dump = await runtime.pool.fetchval(
            f"SELECT coalesce(string_agg(t::text, ''), '') FROM {table} t"
        )
        assert SUBJECT not in dump


async def test_other_events_are_passed_over(runtime: Runtime) -> None:
    from .support import CourseStory

    story = CourseStory()
    story.course()
    event = from_kafka_record(story.records[0].headers, story.records[0].value)
    async with transaction(runtime.pool) as conn:
        assert not await apply_ops_event(conn, event)


async def summary(http: httpx.AsyncClient, token_for: TokenFor) -> dict[str, Any]:
    response = await http.get("/ops/requests/summary", headers=token_for(Role.PLATFORM_STAFF))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_summary_counts_states_deadlines_escalations_and_reply_times(
    runtime: Runtime, app: FastAPI, http: httpx.AsyncClient, token_for: TokenFor
) -> None:
    # The ops queries' own clock (the token verifier keeps the real time).
    clock = MovableClock()
    clock.now = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
    app.state.ops = dataclasses.replace(app.state.ops, clock=clock)
    today = date(2026, 3, 20)
    late, soon, later, escalated, done = (uuid.uuid4() for _ in range(5))
    started = T0 + timedelta(hours=1)
    await apply(
        runtime.pool,
        state(late, "in_progress", at=started, deadline=today - timedelta(days=1)),
        state(soon, "in_progress", at=started, deadline=today + timedelta(days=7)),
        state(later, "received", at=T0, deadline=today + timedelta(days=8)),
        state(escalated, "in_progress", at=started, deadline=today + timedelta(days=20)),
        state(escalated, "in_progress", at=started + timedelta(hours=72), escalated=True),
        state(done, "in_progress", at=started),
        state(done, "completed", at=started + timedelta(hours=2), answered=4),
        # identity replies after 10, 20 and 30 seconds; courses after 1 hour.
        reply(late, "identity", at=started + timedelta(seconds=10)),
        reply(soon, "identity", at=started + timedelta(seconds=20)),
        reply(done, "identity", at=started + timedelta(seconds=30)),
        reply(done, "courses", at=started + timedelta(hours=1)),
    )

    body = await summary(http, token_for)

    assert body["today"] == "2026-03-20"
    assert body["by_state"] == {"completed": 1, "in_progress": 3, "received": 1}
    assert (body["open"], body["overdue"], body["at_risk"], body["escalated"]) == (4, 1, 1, 1)
    listed = {item["request_id"]: item for item in body["open_requests"]}
    assert list(listed) == [str(late), str(soon), str(later), str(escalated)]  # by deadline
    assert (listed[str(late)]["overdue"], listed[str(late)]["at_risk"]) == (True, False)
    assert (listed[str(soon)]["overdue"], listed[str(soon)]["at_risk"]) == (False, True)
    assert not listed[str(later)]["at_risk"]
    assert listed[str(escalated)]["escalated"]
    # The escalation is the newer change; the older one (deadline 20 days out) lost.
    assert listed[str(escalated)]["deadline"] == "2026-04-02"
    times = {item["participant"]: item for item in body["reply_times"]}
    assert times["identity"]["replies"] == 3
    assert times["identity"]["p50_seconds"] == 20.0
    assert times["identity"]["p95_seconds"] == 29.0  # interpolated between 20 and 30
    assert times["identity"]["max_seconds"] == 30.0
    assert times["courses"] == {
        "participant": "courses",
        "replies": 1,
        "p50_seconds": 3600.0,
        "p95_seconds": 3600.0,
        "max_seconds": 3600.0,
    }

    # Eight days on (today 2026-03-28): "soon" is overdue too, "later" is due today and the
    # escalated one (due 2026-04-02) is within the 7 at-risk days.
    clock.advance(timedelta(days=8))
    body = await summary(http, token_for)
    assert (body["overdue"], body["at_risk"]) == (2, 2)
    # Replies older than the window (30 days) drop out of the reply times.
    clock.advance(timedelta(days=30))
    assert (await summary(http, token_for))["reply_times"] == []


async def open_page(http: httpx.AsyncClient, token_for: TokenFor, **params: Any) -> dict[str, Any]:
    response = await http.get(
        "/ops/requests/open", params=params, headers=token_for(Role.PLATFORM_STAFF)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_open_requests_page_on_past_the_summary_and_filter(
    runtime: Runtime,
    app: FastAPI,
    http: httpx.AsyncClient,
    token_for: TokenFor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = MovableClock()
    clock.now = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
    app.state.ops = dataclasses.replace(app.state.ops, clock=clock)
    today = date(2026, 3, 20)
    ours, theirs = uuid.uuid4(), uuid.uuid4()
    # Seven open requests, two of them due the same day (the keyset's tie-break), one closed.
    due = [-2, 1, 1, 3, 10, 20, 30]
    ids = [uuid.uuid4() for _ in due]
    await apply(
        runtime.pool,
        *(
            state(
                request_id,
                "in_progress",
                at=T0 + timedelta(minutes=number),
                deadline=today + timedelta(days=days),
                escalated=number == 5,
                organisation_id=ours if number % 2 else theirs,
            )
            for number, (request_id, days) in enumerate(zip(ids, due, strict=True))
        ),
        state(uuid.uuid4(), "completed", at=T0, deadline=today, answered=4),
    )
    # All received at T0 (`state`): the same deadline falls back on the id (uuid order).
    in_order = sorted(ids, key=lambda i: (due[ids.index(i)], i))

    # Pages of three: every open request once, in the summary's order; the last has no next.
    listed: list[str] = []
    page = await open_page(http, token_for, limit=3)
    pages = 1
    while True:
        assert page["today"] == "2026-03-20"
        listed += [item["request_id"] for item in page["items"]]
        if page["next"] is None:
            break
        page = await open_page(http, token_for, limit=3, after=page["next"])
        pages += 1
    assert (listed, pages) == ([str(i) for i in in_order], 3)
    # A request that closes between pages drops out; none is listed twice.
    first = await open_page(http, token_for, limit=3)
    await apply(runtime.pool, state(in_order[4], "completed", at=T0 + timedelta(hours=9)))
    rest = await open_page(http, token_for, limit=10, after=first["next"])
    assert [item["request_id"] for item in rest["items"]] == [
        str(i) for i in in_order[3:] if i != in_order[4]
    ]

    # Filters: one organisation's, overdue, at risk (7 days), escalated.
    mine = await open_page(http, token_for, organisation_id=str(ours))
    assert {item["organisation_id"] for item in mine["items"]} == {str(ours)}
    assert len(mine["items"]) == 3
    overdue = await open_page(http, token_for, flag="overdue")
    assert [item["request_id"] for item in overdue["items"]] == [str(ids[0])]
    at_risk = await open_page(http, token_for, flag="at_risk")
    assert [item["request_id"] for item in at_risk["items"]] == [str(i) for i in in_order[1:4]]
    escalated = await open_page(http, token_for, flag="escalated")
    assert [item["request_id"] for item in escalated["items"]] == [str(ids[5])]

    # The summary hands out the cursor when it lists fewer than are open.
    monkeypatch.setattr("reporting.service_layer.ops.OPEN_LIST_LIMIT", 2)
    body = await summary(http, token_for)
    assert [item["request_id"] for item in body["open_requests"]] == [str(i) for i in in_order[:2]]
    after_summary = await open_page(http, token_for, limit=1, after=body["open_requests_next"])
    assert [item["request_id"] for item in after_summary["items"]] == [str(in_order[2])]
    monkeypatch.setattr("reporting.service_layer.ops.OPEN_LIST_LIMIT", 500)
    assert (await summary(http, token_for))["open_requests_next"] is None


@pytest.mark.parametrize(
    "params",
    [
        {"after": "not-a-cursor"},
        {"after": "MjAyNi0wMy0yMHx4fHk"},  # base64 of three parts that are no position
        {"limit": 0},
        {"limit": 501},
        {"flag": "late"},
        {"organisation_id": "acme"},
    ],
)
async def test_bad_paging_parameters_are_422(
    http: httpx.AsyncClient, token_for: TokenFor, params: dict[str, Any]
) -> None:
    answer = await http.get(
        "/ops/requests/open", params=params, headers=token_for(Role.PLATFORM_STAFF)
    )
    assert_problem(answer, 422)


async def test_only_staff_see_the_ops_routes(http: httpx.AsyncClient, token_for: TokenFor) -> None:
    for path in ("/ops/requests/summary", "/ops/requests/open", "/ops/kafka"):
        assert_problem(await http.get(path), 401)
        contact = token_for(
            Role.CONTACT_PERSON, user_id="contact-1", organisation_id=str(uuid.uuid4())
        )
        assert_problem(await http.get(path, headers=contact), 403)
        assert_problem(await http.get(path, headers=token_for(Role.LEARNER, user_id="l-1")), 403)
