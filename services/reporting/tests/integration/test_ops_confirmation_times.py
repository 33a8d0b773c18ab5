"""The parties' response times in the ops read model (``RequestStateChanged.response_times``)
on real PostgreSQL and Kafka: each party's latest time wins whatever order the changes come
in, a redelivery changes nothing, and ``GET /ops/requests/summary`` gives each sub-processor's
confirmation times (p50/p95/max over the window; closed, escalated and waiting ones left out)
next to the participants' reply times; the live subscriber projects them from Kafka and a
rebuild from offset zero restores them."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from byggrygg_shared.auth import Role
from byggrygg_shared.contracts.privacy import REQUESTS_TOPIC, RequestStateChanged, ResponseTime
from byggrygg_shared.envelope import KafkaRecord
from byggrygg_shared.messaging import Backoff
from byggrygg_shared.subscriptions import Subscriptions
from reporting.bootstrap import Runtime
from reporting.entrypoints.consumers import register_ops_consumers
from reporting.service_layer.rebuild import rebuild

from ....participant_testing import eventually, produce
from ....service_testing import MovableClock
from .conftest import TokenFor
from .test_ops_read_model import T0, apply, record

NewTopic = Callable[..., Awaitable[str]]
HEIHALLO = "HeiHallo (Anders Heim)"


def sub_processor(
    name: str, *, after: timedelta | None, state: str = "responded", asked: datetime = T0
) -> ResponseTime:
    return ResponseTime(
        party_kind="sub_processor",
        party=name,
        asked_at=asked,
        responded_at=None if after is None else asked + after,
        state=state,  # type: ignore[arg-type]
    )


def participant(name: str, *, after: timedelta | None, asked: datetime = T0) -> ResponseTime:
    return ResponseTime(
        party_kind="participant",
        party=name,
        asked_at=asked,
        responded_at=None if after is None else asked + after,
        state="waiting" if after is None else "responded",
    )


def timed(
    request_id: uuid.UUID,
    change: str,
    times: list[ResponseTime],
    *,
    at: datetime,
    topic: str = REQUESTS_TOPIC,
) -> KafkaRecord:
    done = change == "completed"
    changed = RequestStateChanged(
        request_id=request_id,
        kind="erasure",
        state="completed" if done else "in_progress",
        change=change,
        organisation_id=None,
        requested_by_role="data_subject",
        trigger=None,
        received_at=T0,
        deadline=date(2026, 4, 2),
        deadline_extended=False,
        overdue=False,
        on_hold=False,
        escalated=any(t.state == "escalated" for t in times),
        participants_answered=sum(
            t.party_kind == "participant" and t.state == "responded" for t in times
        ),
        participants_expected=sum(t.party_kind == "participant" for t in times),
        sub_processors_confirmed=sum(
            t.party_kind == "sub_processor" and t.state != "waiting" for t in times
        ),
        sub_processors_expected=sum(t.party_kind == "sub_processor" for t in times),
        changed_at=at,
        completed_at=at if done else None,
        response_times=times,
    )
    return record(
        changed,
        topic=topic,
        stream_id=f"privacy-request-status-{request_id}",
        at=at,
        source="privacy-orchestrator",
    )


async def _times(runtime: Runtime) -> dict[tuple[str, str], dict[str, Any]]:
    rows = await runtime.pool.fetch("SELECT * FROM ops_response_times")
    return {(r["party_kind"], r["party"]): dict(r) for r in rows}


async def test_each_partys_latest_time_wins_whatever_the_order(runtime: Runtime) -> None:
    request_id = uuid.uuid4()
    escalated = timed(
        request_id,
        "participant_escalated",
        [
            participant("identity", after=timedelta(seconds=5)),
            participant("courses", after=None),
            sub_processor(HEIHALLO, after=None, state="escalated"),
        ],
        at=T0 + timedelta(days=3),
    )
    completed = timed(
        request_id,
        "completed",
        [
            participant("identity", after=timedelta(seconds=5)),
            participant("courses", after=timedelta(days=4)),
            sub_processor(HEIHALLO, after=timedelta(days=4, hours=1)),
        ],
        at=T0 + timedelta(days=4, hours=1),
    )
    # The completion first, then the older escalation late, then a redelivery.
    await apply(runtime.pool, completed, escalated, completed)

    times = await _times(runtime)
    assert len(times) == 3
    assert {row["state"] for row in times.values()} == {"responded"}
    heihallo = times[("sub_processor", HEIHALLO)]
    assert heihallo["responded_at"] - heihallo["asked_at"] == timedelta(days=4, hours=1)
    assert heihallo["changed_at"] == T0 + timedelta(days=4, hours=1)
    courses = times[("participant", "courses")]
    assert courses["responded_at"] == T0 + timedelta(days=4)


async def summary(http: httpx.AsyncClient, token_for: TokenFor) -> dict[str, Any]:
    response = await http.get("/ops/requests/summary", headers=token_for(Role.PLATFORM_STAFF))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_summary_gives_each_sub_processors_confirmation_times(
    runtime: Runtime, app: FastAPI, http: httpx.AsyncClient, token_for: TokenFor
) -> None:
    clock = MovableClock()
    clock.now = T0 + timedelta(days=10)
    app.state.ops = dataclasses.replace(app.state.ops, clock=clock)
    one, two, three, closed, escalated = (uuid.uuid4() for _ in range(5))
    end = T0 + timedelta(days=1)
    await apply(
        runtime.pool,
        # HeiHallo confirms after 10, 20 and 30 minutes; Other AS after 2 hours.
        timed(one, "completed", [sub_processor(HEIHALLO, after=timedelta(minutes=10))], at=end),
        timed(two, "completed", [sub_processor(HEIHALLO, after=timedelta(minutes=20))], at=end),
        timed(
            three,
            "completed",
            [
                sub_processor(HEIHALLO, after=timedelta(minutes=30)),
                sub_processor("Other AS", after=timedelta(hours=2)),
            ],
            at=end,
        ),
        # Neither a closed nor an escalated request has a confirmation time.
        timed(
            closed,
            "sub_processor_closed",
            [sub_processor(HEIHALLO, after=None, state="closed_by_operator")],
            at=end,
        ),
        timed(
            escalated,
            "participant_escalated",
            [sub_processor(HEIHALLO, after=None, state="escalated")],
            at=end,
        ),
    )

    body = await summary(http, token_for)

    assert body["confirmation_times"] == [
        {
            "sub_processor": HEIHALLO,
            "confirmations": 3,
            "p50_seconds": 1200.0,
            "p95_seconds": 1740.0,  # interpolated between 20 and 30 minutes
            "max_seconds": 1800.0,
        },
        {
            "sub_processor": "Other AS",
            "confirmations": 1,
            "p50_seconds": 7200.0,
            "p95_seconds": 7200.0,
            "max_seconds": 7200.0,
        },
    ]
    # Confirmations older than the window (30 days) drop out.
    clock.advance(timedelta(days=30))
    assert (await summary(http, token_for))["confirmation_times"] == []


async def test_the_live_subscriber_projects_response_times(
    runtime: Runtime, kafka_bootstrap: str, new_topic: NewTopic
) -> None:
    requests = await new_topic("reporting-requests", partitions=2)
    replies = await new_topic("reporting-replies", partitions=1)
    request_id = uuid.uuid4()
    now = datetime.now(UTC)
    done = timed(
        request_id,
        "completed",
        [
            participant("identity", after=timedelta(seconds=3), asked=now),
            sub_processor(HEIHALLO, after=timedelta(seconds=7), asked=now),
        ],
        at=now + timedelta(seconds=8),
        topic=requests,
    )
    await produce(kafka_bootstrap, done, done)  # the second a redelivery
    subscriptions = Subscriptions(
        bootstrap=kafka_bootstrap,
        client_id="reporting-ops-times-test",
        register=register_ops_consumers(
            runtime,
            group_id=f"reporting-ops-{uuid.uuid4().hex[:8]}",
            requests_topic=requests,
            replies_topic=replies,
        ),
        backoff=Backoff(initial=0.01, maximum=0.05),
    )
    async with subscriptions.running():

        async def projected() -> bool:
            count = await runtime.pool.fetchval("SELECT count(*) FROM ops_response_times")
            return bool(count == 2)

        await eventually(projected, what="the response times")

    times = await _times(runtime)
    heihallo = times[("sub_processor", HEIHALLO)]
    assert heihallo["responded_at"] - heihallo["asked_at"] == timedelta(seconds=7)
    assert times[("participant", "identity")]["state"] == "responded"


async def test_a_rebuild_restores_the_response_times(
    runtime: Runtime, kafka_bootstrap: str, new_topic: NewTopic
) -> None:
    requests = await new_topic("reporting-requests", partitions=2)
    replies = await new_topic("reporting-replies", partitions=1)
    now = datetime.now(UTC)
    records = []
    for index in range(4):
        request_id = uuid.uuid4()
        records += [
            timed(
                request_id,
                "participant_escalated",
                [
                    participant("identity", after=timedelta(seconds=index), asked=now),
                    sub_processor(HEIHALLO, after=None, state="escalated", asked=now),
                ],
                at=now + timedelta(hours=1),
                topic=requests,
            ),
            timed(
                request_id,
                "completed",
                [
                    participant("identity", after=timedelta(seconds=index), asked=now),
                    sub_processor(HEIHALLO, after=timedelta(minutes=index + 1), asked=now),
                ],
                at=now + timedelta(hours=2),
                topic=requests,
            ),
        ]
    await produce(kafka_bootstrap, *records)
    await apply(runtime.pool, *records)
    live = await runtime.pool.fetch("SELECT * FROM ops_response_times ORDER BY request_id, party")
    assert len(live) == 8
    await runtime.pool.execute("DELETE FROM ops_response_times")

    counts = await rebuild(
        runtime.pool,
        bootstrap=kafka_bootstrap,
        topics=[requests, replies],
        group_id=f"reporting-ops-rebuild-{uuid.uuid4().hex[:8]}",
    )

    assert counts.applied == len(records)
    rebuilt = await runtime.pool.fetch(
        "SELECT * FROM ops_response_times ORDER BY request_id, party"
    )
    assert [dict(row) for row in rebuilt] == [dict(row) for row in live]
