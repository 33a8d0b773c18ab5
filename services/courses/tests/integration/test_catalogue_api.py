"""The catalogue through the real API on PostgreSQL: drafts, published versions, who sees what,
optimistic concurrency, and bad input that writes nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from byggrygg_shared.auth import Role

from ....service_testing import assert_problem
from .support import People, Steps, course_body, snapshot


async def test_staff_publish_versions_and_learners_see_only_published_content(
    http: httpx.AsyncClient, steps: Steps, people: People
) -> None:
    staff = steps.staff.headers
    learner = people.make(Role.LEARNER, organisation_id=people.staff().user_id)
    created = await steps.create_course()
    course_id = created["course_id"]
    assert created["latest_version"] is None
    assert created["draft"]["title"] == "Sikker bruk av stillas"
    # Every id was made by the service; options keep their order.
    module = created["draft"]["modules"][0]
    assert [o["label"] for o in module["questions"][0]["options"]] == [
        "Bas",
        "Alle som bruker det",
    ]

    # A draft is staff-only: for anyone else the course does not exist yet.
    assert_problem(await http.get(f"/courses/{course_id}", headers=learner.headers), 404)
    assert (await http.get("/courses", headers=learner.headers)).json() == []

    assert await steps.publish(course_id) == 1
    seen = (await http.get(f"/courses/{course_id}", headers=learner.headers)).json()
    assert seen["latest_version"] == 1
    assert seen["draft"] is None
    assert seen["published"] == created["draft"]

    # A new draft does not touch version 1; publishing it makes version 2.
    current = await http.get(f"/courses/{course_id}", headers=staff)
    revised = course_body("Stillas, utgave 2")
    revised["modules"] = created["draft"]["modules"]  # keep the ids stable
    response = await http.put(
        f"/courses/{course_id}/draft",
        json=revised,
        headers={**staff, "If-Match": current.headers["etag"]},
    )
    assert response.status_code == 200, response.text
    assert response.json()["draft_is_published"] is False
    assert await steps.publish(course_id) == 2
    v1 = (await http.get(f"/courses/{course_id}/versions/1", headers=learner.headers)).json()
    v2 = (await http.get(f"/courses/{course_id}/versions/2", headers=learner.headers)).json()
    assert v1["content"]["title"] == "Sikker bruk av stillas"
    assert v2["content"]["title"] == "Stillas, utgave 2"
    assert v1["content"]["modules"] == v2["content"]["modules"]
    assert v2["question_count"] == 4
    assert v2["required_count"] == 3
    assert_problem(await http.get(f"/courses/{course_id}/versions/3", headers=staff), 404)
    # Publishing again without a change is refused.
    assert_problem(await http.post(f"/courses/{course_id}/publish", headers=staff), 409)


async def test_draft_edits_need_a_current_if_match(http: httpx.AsyncClient, steps: Steps) -> None:
    staff = steps.staff.headers
    course = await steps.create_course()
    url = f"/courses/{course['course_id']}/draft"
    before = await snapshot(steps.runtime.pool)
    assert_problem(await http.put(url, json=course_body("Ny"), headers=staff), 428)
    assert_problem(
        await http.put(url, json=course_body("Ny"), headers={**staff, "If-Match": "nonsense"}),
        400,
    )
    first = await http.put(url, json=course_body("Ny"), headers={**staff, "If-Match": '"1"'})
    assert first.status_code == 200, first.text
    after_first = await snapshot(steps.runtime.pool)
    assert after_first != before
    # A second edit based on the version the first one replaced is a conflict.
    stale = await http.put(url, json=course_body("Annen"), headers={**staff, "If-Match": '"1"'})
    assert_problem(stale, 409)
    assert await snapshot(steps.runtime.pool) == after_first


@pytest.mark.parametrize(
    "change",
    [
        {"title": ""},
        {"title": "Null\x00byte"},
        {"unknown": 1},
        {
            "modules": [
                {
                    "title": "M",
                    "questions": [
                        {"kind": "single_choice", "prompt": "?", "options": [{"label": "bare én"}]}
                    ],
                }
            ]
        },
        {"modules": [{"title": "M", "questions": [{"kind": "scale", "prompt": "?"}]}]},
        {
            "modules": [
                {
                    "title": "M",
                    "questions": [{"kind": "scale", "prompt": "?", "scale": {"low": 5, "high": 5}}],
                }
            ]
        },
        {"modules": [{"title": "M", "questions": [{"kind": "free_text", "prompt": "?"}]}]},
        {"modules": [{"title": "M", "questions": [{"kind": "essay", "prompt": "?"}]}]},
        {"modules": [{"title": "M\x07", "questions": []}]},
    ],
    ids=[
        "empty-title",
        "nul",
        "unknown-field",
        "one-option",
        "scale-without-range",
        "empty-scale",
        "text-without-limit",
        "unknown-kind",
        "control-char",
    ],
)
async def test_bad_course_content_is_a_422_problem_and_writes_nothing(
    http: httpx.AsyncClient, steps: Steps, change: dict[str, Any]
) -> None:
    before = await snapshot(steps.runtime.pool)
    body = {**course_body(), **change}
    assert_problem(await http.post("/courses", json=body, headers=steps.staff.headers), 422)
    assert await snapshot(steps.runtime.pool) == before


async def test_only_staff_edit_the_catalogue(
    http: httpx.AsyncClient, steps: Steps, people: People
) -> None:
    course = await steps.create_course()
    course_id = course["course_id"]
    organisation = people.staff().user_id
    before = await snapshot(steps.runtime.pool)
    for role in (Role.LEARNER, Role.ORG_ADMIN, Role.CONTACT_PERSON):
        someone = people.make(role, organisation_id=organisation).headers
        assert_problem(await http.post("/courses", json=course_body(), headers=someone), 403)
        assert_problem(await http.post(f"/courses/{course_id}/publish", headers=someone), 403)
        put = await http.put(
            f"/courses/{course_id}/draft",
            json=course_body(),
            headers={**someone, "If-Match": '"1"'},
        )
        assert_problem(put, 403)
    assert_problem(await http.post("/courses", json=course_body()), 401)
    assert await snapshot(steps.runtime.pool) == before
