"""R4: single answers are visible to platform staff only. Every route that returns answers is
found in the OpenAPI document (not listed by hand), so a new route cannot slip by: org admins
and contact persons get 403 on each, whatever the parameters, their own organisation included;
staff get 200 and the answers."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import httpx
from fastapi import FastAPI

from byggrygg_shared.auth import Role
from courses.entrypoints.routers.answers import ANSWERS_TAG

from ....service_testing import assert_problem
from .support import Person, Steps, questions_of, snapshot

ANSWER_SCHEMA = "#/components/schemas/AnswerRead"


def operations(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in app.openapi()["paths"].items()
        for method, operation in item.items()
    ]


def returns_answers(operation: dict[str, Any]) -> bool:
    """Whether a successful response of the operation contains AnswerRead, at any depth."""
    success = {k: v for k, v in operation["responses"].items() if k.startswith("2")}
    return ANSWER_SCHEMA in repr(success)


def answer_routes(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    return [op for op in operations(app) if ANSWERS_TAG in op[2].get("tags", [])]


def test_every_route_returning_answers_is_tagged_answers_or_the_learner_s_own() -> None:
    from courses.entrypoints.api import create_app

    app = create_app()
    found = [(m, p) for m, p, op in operations(app) if returns_answers(op)]
    assert ("get", "/enrolments/{enrolment_id}/answers") in found
    assert ("get", "/courses/{course_id}/answers") in found
    for method, path, operation in operations(app):
        if returns_answers(operation):
            assert ANSWERS_TAG in operation["tags"] or path.startswith("/me/"), (method, path)
    # /me routes answer for the caller only: their paths name no other person or organisation.
    for method, path, operation in operations(app):
        if path.startswith("/me/") and returns_answers(operation):
            assert "organisation" not in path, (method, path)
            assert "user" not in path, (method, path)


def fill(
    path: str, operation: dict[str, Any], values: dict[str, str]
) -> tuple[str, dict[str, str]]:
    """The URL and query of an operation, with every parameter it declares filled in."""
    query: dict[str, str] = {}
    for parameter in operation.get("parameters", []):
        name = parameter["name"]
        assert name in values, f"no test value for parameter {name!r} of {path}: add one"
        if parameter["in"] == "path":
            path = path.replace("{" + name + "}", values[name])
        elif parameter["in"] == "query":
            query[name] = values[name]
    return path, query


async def answered_enrolment(
    http: httpx.AsyncClient, steps: Steps, organisation: UUID
) -> dict[str, str]:
    course = await steps.published_course()
    await steps.assign(course["course_id"], organisation)
    learner = await steps.licensed_learner(organisation)
    (enrolment,) = await steps.my_enrolments(learner)
    taken = await http.get(f"/me/enrolments/{enrolment['enrolment_id']}", headers=learner.headers)
    questions = questions_of(taken.json()["content"])
    for kind, body in (("scale", {"scale_value": 3}), ("free_text", {"text": "Hemmelig svar"})):
        response = await http.put(
            f"/me/enrolments/{enrolment['enrolment_id']}/answers/{questions[kind]['question_id']}",
            json=body,
            headers=learner.headers,
        )
        assert response.status_code == 200, response.text
    return {
        "enrolment_id": enrolment["enrolment_id"],
        "course_id": course["course_id"],
        "organisation_id": str(organisation),
        "question_id": questions["scale"]["question_id"],
        "version": "1",
        "limit": "10",
        "offset": "0",
    }


async def test_org_admins_and_contact_persons_get_403_on_every_answer_route(
    app: FastAPI, http: httpx.AsyncClient, steps: Steps
) -> None:
    organisation = uuid4()
    values = await answered_enrolment(http, steps, organisation)
    routes = answer_routes(app)
    assert len(routes) >= 2
    forbidden: list[Person] = [
        steps.people.make(Role.ORG_ADMIN, organisation_id=organisation),
        steps.people.make(Role.CONTACT_PERSON, organisation_id=organisation),
        steps.people.make(Role.ORG_ADMIN, Role.CONTACT_PERSON, organisation_id=organisation),
        steps.people.make(Role.ORG_ADMIN, Role.LEARNER, organisation_id=organisation),
        steps.people.make(Role.ORG_ADMIN, organisation_id=uuid4()),
    ]
    # Valid parameters (own organisation, own enrolment), none in the query, and nonsense:
    # the answer is 403 whatever is sent.
    nonsense = dict.fromkeys(values, "not-a-uuid")
    before = await snapshot(steps.runtime.pool)
    for method, path, operation in routes:
        for person in forbidden:
            for params in (values, nonsense):
                url, query = fill(path, operation, params)
                for sent_query in (query, {}):
                    response = await http.request(
                        method, url, params=sent_query, headers=person.headers
                    )
                    problem = assert_problem(response, 403)
                    assert problem["type"].endswith("/answers-forbidden"), (path, problem)
                    assert "Hemmelig" not in response.text
        # Staff read them, free text decrypted.
        url, query = fill(path, operation, values)
        response = await http.request(method, url, params=query, headers=steps.staff.headers)
        assert response.status_code == 200, (path, response.text)
        assert response.json(), path
        assert_problem(await http.request(method, url, params=query), 401)
    full = await http.get(
        f"/enrolments/{values['enrolment_id']}/answers", headers=steps.staff.headers
    )
    assert {a.get("text") for a in full.json()} == {None, "Hemmelig svar"}
    assert await snapshot(steps.runtime.pool) == before
