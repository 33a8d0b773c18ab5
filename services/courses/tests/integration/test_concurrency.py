"""Optimistic concurrency on an enrolment: answers submitted at the same moment either append
in turn or lose with a 409 edit conflict; none overwrites another unseen. A learner who ends
their own subscription loses access like one whose licence is revoked."""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

import httpx

from courses.service_layer.licences import handle_access_ended

from ....service_testing import assert_problem
from .support import Steps, questions_of, subscription_cancelled


async def test_concurrent_answers_append_in_turn_or_conflict(
    http: httpx.AsyncClient, steps: Steps
) -> None:
    organisation = uuid4()
    course = await steps.published_course()
    await steps.assign(course["course_id"], organisation)
    learner = await steps.licensed_learner(organisation)
    (enrolment,) = await steps.my_enrolments(learner)
    enrolment_id = enrolment["enrolment_id"]
    taken = await http.get(f"/me/enrolments/{enrolment_id}", headers=learner.headers)
    scale = questions_of(taken.json()["content"])["scale"]["question_id"]
    responses = await asyncio.gather(
        *(
            http.put(
                f"/me/enrolments/{enrolment_id}/answers/{scale}",
                json={"scale_value": value},
                headers=learner.headers,
            )
            for value in range(1, 6)
        )
    )
    accepted = [r for r in responses if r.status_code == 200]
    for response in responses:
        if response.status_code != 200:
            assert_problem(response, 409)
    assert accepted
    async with steps.runtime.pool.acquire() as conn:
        submitted = await conn.fetchval(
            "SELECT count(*) FROM events WHERE stream_id = $1 "
            "AND event_type = 'no.byggrygg.courses.AnswerSubmitted'",
            f"enrolment-{enrolment_id}",
        )
        row = await conn.fetchrow(
            "SELECT submissions, scale_value FROM answers WHERE enrolment_id = $1",
            UUID(enrolment_id),
        )
    assert submitted == len(accepted)
    assert row["submissions"] == len(accepted)
    assert row["scale_value"] in {r.json()["scale_value"] for r in accepted}


async def test_a_cancelled_subscription_ends_access(http: httpx.AsyncClient, steps: Steps) -> None:
    organisation = uuid4()
    course = await steps.published_course()
    await steps.assign(course["course_id"], organisation)
    learner = await steps.licensed_learner(organisation)
    cancelled = subscription_cancelled(learner)
    assert await handle_access_ended(
        deps=steps.runtime.deps,
        event=cancelled.contract(),  # type: ignore[arg-type]
        received=cancelled,
    )
    (enrolment,) = await steps.my_enrolments(learner)
    assert enrolment["status"] == "ended"
    assert enrolment["end_reason"] == "subscription_cancelled"
    response = await http.post(
        f"/me/enrolments/{enrolment['enrolment_id']}/complete", headers=learner.headers
    )
    assert_problem(response, 409)
