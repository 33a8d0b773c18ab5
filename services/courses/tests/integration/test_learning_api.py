"""Learners take courses through the real API on PostgreSQL: the enrolment rule, answers of
each kind, re-answering, progress, completion, access ending, and tenancy."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx
import pytest

from byggrygg_shared.auth import Role
from courses.service_layer.licences import handle_access_ended

from ....service_testing import assert_problem
from .support import People, Person, Steps, licence_granted, licence_revoked, questions_of, snapshot


async def enrolment_content(http: httpx.AsyncClient, learner: Person) -> dict[str, Any]:
    (enrolment,) = (await http.get("/me/enrolments", headers=learner.headers)).json()
    response = await http.get(
        f"/me/enrolments/{enrolment['enrolment_id']}", headers=learner.headers
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def answer(
    http: httpx.AsyncClient, learner: Person, enrolment_id: str, question_id: str, **body: Any
) -> httpx.Response:
    return await http.put(
        f"/me/enrolments/{enrolment_id}/answers/{question_id}", json=body, headers=learner.headers
    )


async def test_assignment_and_licences_enrol_learners_in_the_latest_version(
    http: httpx.AsyncClient, steps: Steps
) -> None:
    organisation = uuid4()
    early = await steps.licensed_learner(organisation)
    course = await steps.published_course()
    assigned = await steps.assign(course["course_id"], organisation)
    assert assigned["enrolled"] == 1  # the learner licensed before the assignment
    late = await steps.licensed_learner(organisation)  # licensed after: enrolled on grant
    other_org = await steps.licensed_learner(uuid4())
    for learner in (early, late):
        (enrolment,) = await steps.my_enrolments(learner)
        assert enrolment["course_id"] == course["course_id"]
        assert enrolment["course_version"] == 1
        assert enrolment["status"] == "active"
        assert enrolment["progress"] == {"answered": 0, "total": 4, "required": 3}
    assert (await steps.my_enrolments(early))[0]["origin"] == "assignment"
    assert (await steps.my_enrolments(late))[0]["origin"] == "licence"
    assert await steps.my_enrolments(other_org) == []
    # Assigning twice is a conflict; an unpublished course cannot be assigned.
    response = await http.post(
        f"/organisations/{organisation}/courses",
        json={"course_id": course["course_id"]},
        headers=steps.staff.headers,
    )
    assert_problem(response, 409)
    draft = await steps.create_course()
    response = await http.post(
        f"/organisations/{organisation}/courses",
        json={"course_id": draft["course_id"]},
        headers=steps.staff.headers,
    )
    assert_problem(response, 409)


async def test_a_learner_answers_re_answers_and_completes(
    http: httpx.AsyncClient, steps: Steps
) -> None:
    organisation = uuid4()
    course = await steps.published_course()
    await steps.assign(course["course_id"], organisation)
    learner = await steps.licensed_learner(organisation)
    taken = await enrolment_content(http, learner)
    enrolment_id = taken["enrolment_id"]
    assert taken["content"] == course["published"]
    q = questions_of(taken["content"])

    response = await http.post(f"/me/enrolments/{enrolment_id}/complete", headers=learner.headers)
    assert_problem(response, 409)  # required questions unanswered

    single = q["single_choice"]["options"][0]["option_id"]
    response = await answer(
        http, learner, enrolment_id, q["single_choice"]["question_id"], selected_option_ids=[single]
    )
    assert response.status_code == 200, response.text
    assert response.json()["selected_option_ids"] == [single]
    multiple = [o["option_id"] for o in q["multiple_choice"]["options"][:2]]
    await answer(
        http,
        learner,
        enrolment_id,
        q["multiple_choice"]["question_id"],
        selected_option_ids=multiple,
    )
    scale_id = q["scale"]["question_id"]
    await answer(http, learner, enrolment_id, scale_id, scale_value=2)
    again = await answer(http, learner, enrolment_id, scale_id, scale_value=4)  # last one wins
    assert again.json()["scale_value"] == 4
    assert again.json()["submissions"] == 2
    text = await answer(
        http, learner, enrolment_id, q["free_text"]["question_id"], text="Bra kurs.\nTakk!"
    )
    assert text.json()["text"] == "Bra kurs.\nTakk!"

    mine = await http.get(f"/me/enrolments/{enrolment_id}/answers", headers=learner.headers)
    assert mine.status_code == 200
    by_question = {a["question_id"]: a for a in mine.json()}
    assert by_question[scale_id]["scale_value"] == 4
    assert by_question[q["free_text"]["question_id"]]["text"] == "Bra kurs.\nTakk!"

    done = await http.post(f"/me/enrolments/{enrolment_id}/complete", headers=learner.headers)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed"
    assert done.json()["progress"] == {"answered": 4, "total": 4, "required": 3}
    before = await snapshot(steps.runtime.pool)
    late = await answer(http, learner, enrolment_id, scale_id, scale_value=1)
    assert_problem(late, 409)
    assert await snapshot(steps.runtime.pool) == before


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("single_choice", {"selected_option_ids": []}),
        ("single_choice", {"selected_option_ids": ["00000000-0000-0000-0000-000000000000"]}),
        ("single_choice", {"scale_value": 1}),
        ("multiple_choice", {"selected_option_ids": ["x"]}),
        ("scale", {"scale_value": 9}),
        ("scale", {"scale_value": "tre"}),
        ("free_text", {"text": "x" * 501}),
        ("free_text", {"text": "null\x00"}),
        ("free_text", {"text": "   "}),
        ("free_text", {"text": "ok", "extra": True}),
        ("free_text", {}),
    ],
)
async def test_bad_answers_are_4xx_problems_and_write_nothing(
    http: httpx.AsyncClient, steps: Steps, kind: str, body: dict[str, Any]
) -> None:
    organisation = uuid4()
    course = await steps.published_course()
    await steps.assign(course["course_id"], organisation)
    learner = await steps.licensed_learner(organisation)
    taken = await enrolment_content(http, learner)
    question_id = questions_of(taken["content"])[kind]["question_id"]
    before = await snapshot(steps.runtime.pool)
    response = await answer(http, learner, taken["enrolment_id"], question_id, **body)
    assert_problem(response, 422)
    assert await snapshot(steps.runtime.pool) == before
    unknown = await answer(http, learner, taken["enrolment_id"], str(uuid4()), scale_value=1)
    assert_problem(unknown, 404)
    assert await snapshot(steps.runtime.pool) == before


async def test_other_people_s_enrolments_do_not_exist_for_a_learner(
    http: httpx.AsyncClient, steps: Steps
) -> None:
    organisation = uuid4()
    course = await steps.published_course()
    await steps.assign(course["course_id"], organisation)
    owner = await steps.licensed_learner(organisation)
    colleague = await steps.licensed_learner(organisation)
    taken = await enrolment_content(http, owner)
    enrolment_id = taken["enrolment_id"]
    question_id = questions_of(taken["content"])["scale"]["question_id"]
    before = await snapshot(steps.runtime.pool)
    for path in ("", "/answers"):
        response = await http.get(f"/me/enrolments/{enrolment_id}{path}", headers=colleague.headers)
        assert_problem(response, 404)
    assert_problem(await answer(http, colleague, enrolment_id, question_id, scale_value=1), 404)
    assert_problem(
        await http.post(f"/me/enrolments/{enrolment_id}/complete", headers=colleague.headers), 404
    )
    assert_problem(await http.get("/me/enrolments", headers=steps.staff.headers), 403)
    assert await snapshot(steps.runtime.pool) == before


async def test_access_ends_with_the_licence_and_answering_is_refused(
    http: httpx.AsyncClient, steps: Steps
) -> None:
    organisation = uuid4()
    course = await steps.published_course()
    await steps.assign(course["course_id"], organisation)
    learner = steps.people.make(Role.LEARNER, organisation_id=organisation)
    granted = licence_granted(learner)
    from courses.service_layer.licences import handle_licence_granted

    await handle_licence_granted(
        deps=steps.runtime.deps,
        event=granted.contract(),
        received=granted,  # type: ignore[arg-type]
    )
    taken = await enrolment_content(http, learner)
    licence_id = granted.data["licence_id"]
    revoked = licence_revoked(learner, licence_id=licence_id)
    assert await handle_access_ended(
        deps=steps.runtime.deps,
        event=revoked.contract(),
        received=revoked,  # type: ignore[arg-type]
    )
    # The same event again changes nothing (inbox).
    before = await snapshot(steps.runtime.pool)
    assert not await handle_access_ended(
        deps=steps.runtime.deps,
        event=revoked.contract(),
        received=revoked,  # type: ignore[arg-type]
    )
    assert await snapshot(steps.runtime.pool) == before

    (enrolment,) = await steps.my_enrolments(learner)
    assert enrolment["status"] == "ended"
    assert enrolment["end_reason"] == "licence_revoked"
    question_id = questions_of(taken["content"])["scale"]["question_id"]
    problem = assert_problem(
        await answer(http, learner, taken["enrolment_id"], question_id, scale_value=3), 409
    )
    assert problem["type"].endswith("/enrolment-ended")
    assert await snapshot(steps.runtime.pool) == before
    # An administrator cannot enrol a learner whose licence ended.
    admin = steps.people.make(Role.ORG_ADMIN, organisation_id=organisation)
    response = await http.post(
        f"/organisations/{organisation}/enrolments",
        json={"user_id": str(learner.user_id), "course_id": course["course_id"]},
        headers=admin.headers,
    )
    assert_problem(response, 404)


async def test_an_admin_enrols_by_hand_in_their_own_organisation_only(
    http: httpx.AsyncClient, steps: Steps, people: People
) -> None:
    organisation = uuid4()
    course = await steps.published_course()
    learner = await steps.licensed_learner(organisation)  # nothing assigned: no enrolment
    assert await steps.my_enrolments(learner) == []
    admin = people.make(Role.ORG_ADMIN, organisation_id=organisation)
    stranger = people.make(Role.ORG_ADMIN, organisation_id=uuid4())
    contact = people.make(Role.CONTACT_PERSON, organisation_id=organisation)
    body = {"user_id": str(learner.user_id), "course_id": course["course_id"]}
    url = f"/organisations/{organisation}/enrolments"
    before = await snapshot(steps.runtime.pool)
    assert_problem(await http.post(url, json=body, headers=stranger.headers), 404)
    assert_problem(await http.post(url, json=body, headers=contact.headers), 403)
    assert_problem(await http.post(url, json=body, headers=learner.headers), 403)
    assert await snapshot(steps.runtime.pool) == before
    created = await http.post(url, json=body, headers=admin.headers)
    assert created.status_code == 201, created.text
    assert created.json()["origin"] == "admin"
    assert_problem(await http.post(url, json=body, headers=admin.headers), 409)
    listed = await http.get(url, headers=admin.headers)
    assert [e["user_id"] for e in listed.json()] == [str(learner.user_id)]
    assert "answers" not in listed.text
    assert_problem(await http.get(url, headers=stranger.headers), 404)
    # The admin may assign courses to their own organisation, not to another.
    other = await steps.published_course()
    own = await http.post(
        f"/organisations/{organisation}/courses",
        json={"course_id": other["course_id"]},
        headers=admin.headers,
    )
    assert own.status_code == 201, own.text
    assert own.json()["enrolled"] == 1
    foreign = await http.post(
        f"/organisations/{stranger.organisation_id}/courses",
        json={"course_id": other["course_id"]},
        headers=admin.headers,
    )
    assert_problem(foreign, 404)
    assigned = await http.get(f"/organisations/{organisation}/courses", headers=contact.headers)
    assert [a["course_id"] for a in assigned.json()] == [other["course_id"]]
