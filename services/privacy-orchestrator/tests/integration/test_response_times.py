"""``RequestStateChanged.response_times`` (issue 6, the ops dashboard's reply and confirmation
times) on real PostgreSQL and Kafka: a plain change carries none; the escalation of a silent
participant carries every party (who responded, when; who is escalated); the completion
carries every party responded, HeiHallo's confirmation time included.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest

from byggrygg_shared.auth import Principal, Role
from byggrygg_shared.contracts.privacy import Evidence
from byggrygg_shared.messaging import Backoff
from privacy_orchestrator.bootstrap import Runtime
from privacy_orchestrator.domain.subprocessors import HEIHALLO_NAME
from privacy_orchestrator.service_layer.participant_timeouts import ParticipantTimeoutWorker

from .support import eventually, on_topics, own_topics, person, produce, rows
from .test_requests import confirm_as_heihallo, heihallo_secret, reply_record  # noqa: F401

Headers = Callable[[Principal], dict[str, str]]
PARTICIPANTS = ("identity", "courses", "consent")


@pytest.fixture
def three_participants(runtime: Runtime) -> Runtime:
    runtime.deps = dataclasses.replace(runtime.deps, participants=PARTICIPANTS)
    return runtime


async def _status_events(runtime: Runtime, request_id: str) -> list[dict[str, Any]]:
    found = await rows(
        runtime.pool,
        "SELECT payload FROM events WHERE stream_id = $1 ORDER BY version",
        f"privacy-request-status-{request_id}",
    )
    return [dict(row["payload"]) for row in found]


def _by_party(event: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(t["party_kind"], t["party"]): t for t in event["response_times"]}


async def test_escalation_and_completion_carry_each_partys_response_time(
    three_participants: Runtime,
    http: httpx.AsyncClient,
    headers: Headers,
    kafka_bootstrap: str,
    new_topic: Any,
    heihallo_secret: str,  # noqa: F811
) -> None:
    runtime = three_participants
    learner = person(Role.LEARNER)
    staff = headers(person(Role.PLATFORM_STAFF))
    filed = await http.post("/requests", json={"kind": "erasure"}, headers=headers(learner))
    assert filed.status_code == 201, filed.text
    request = filed.json()
    request_id = request["request_id"]
    topics = await own_topics(new_topic)
    runtime.settings = on_topics(runtime.settings, topics, kafka_bootstrap, "po-times")

    def replies(*names: str) -> list[Any]:
        return [
            reply_record(
                topics.replies,
                UUID(request_id),
                learner.subject_ref,
                name,
                [Evidence(location=f"column {name}.x", action="erased", count=1)],
            )
            for name in names
        ]

    backoff = Backoff(initial=0.01, maximum=0.05)
    async with runtime.subscriptions_for(backoff=backoff).running():
        await produce(kafka_bootstrap, replies("identity", "consent"))

        async def two_replied() -> bool:
            found = (await http.get(f"/requests/{request_id}", headers=staff)).json()
            return sum(p["replied"] for p in found["participants"].values()) == 2

        await eventually(two_replied, "identity's and consent's replies")
    assert (await confirm_as_heihallo(http, heihallo_secret, request)).status_code == 204
    worker = ParticipantTimeoutWorker(runtime.deps, reply_within=timedelta(0), max_resends=0)
    assert await worker.chase_due() == 1

    in_progress, escalated = await _status_events(runtime, request_id)
    assert in_progress["change"] == "in_progress"
    assert in_progress["response_times"] == []  # a plain change stays small
    assert escalated["change"] == "participant_escalated"
    times = _by_party(escalated)
    assert set(times) == {
        ("participant", "identity"),
        ("participant", "courses"),
        ("participant", "consent"),
        ("sub_processor", HEIHALLO_NAME),
    }
    assert times[("sub_processor", HEIHALLO_NAME)]["state"] == "responded"
    assert times[("participant", "identity")]["state"] == "responded"
    assert times[("participant", "consent")]["state"] == "responded"
    courses = times[("participant", "courses")]
    assert (courses["state"], courses["responded_at"]) == ("escalated", None)
    # Everyone was asked at the fan-out, and answered after it.
    asked = {t["asked_at"] for t in times.values()}
    assert len(asked) == 1
    for t in times.values():
        if t["responded_at"] is not None:
            assert datetime.fromisoformat(t["responded_at"]) >= datetime.fromisoformat(
                t["asked_at"]
            )

    async with runtime.subscriptions_for(backoff=backoff).running():
        await produce(kafka_bootstrap, replies("courses"))

        async def completed() -> bool:
            found = (await http.get(f"/requests/{request_id}", headers=staff)).json()
            return bool(found["state"] == "completed")

        await eventually(completed, "completion on the late reply")
    final = (await _status_events(runtime, request_id))[-1]
    assert final["change"] == "completed"
    final_times = _by_party(final)
    assert len(final_times) == 4
    assert {t["state"] for t in final_times.values()} == {"responded"}
    assert final_times[("participant", "courses")]["responded_at"] is not None
