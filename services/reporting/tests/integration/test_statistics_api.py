"""The statistics API on the real read models (PostgreSQL): k-anonymous figures for the
organisation's contact person (R5), full counts for platform staff (R4), 4xx for bad input.

The read models are filled by reporting's own projection from courses' events
(`support.CourseStory` + `apply_records`), as the live subscribers fill them.
"""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from byggrygg_shared.auth import Role
from byggrygg_shared.db import transaction
from reporting.adapters import statistics_store
from reporting.bootstrap import Runtime
from reporting.domain.statistics import (
    Contribution,
    Granularity,
    count_table,
    table_from_month_counts,
)

from ....service_testing import MovableClock, assert_problem
from .conftest import TokenFor
from .support import START, Course, CourseStory, Enrolment, apply_records

OTHER_ORG = uuid.uuid4()
FREE_TEXT_TOKEN = "enc:v1:key:bm9uY2UrY2lwaGVydGV4dA=="


class Platform:
    """One organisation with one assigned course and people answering its choice question."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.story = CourseStory()
        self.organisation = uuid.uuid4()
        self.course: Course = self.story.course(organisations=(self.organisation,))
        self.enrolments: list[Enrolment] = []

    def answering(self, option: int, people: int, *, complete: bool = False) -> list[Enrolment]:
        new = []
        for _ in range(people):
            enrolment = self.story.enrol(self.course, self.organisation)
            self.story.answer(
                enrolment, self.course.choice, selected_option_ids=[self.course.options[option]]
            )
            # Free text reaches reporting only as a key-ring token; statistics never show it.
            self.story.answer(enrolment, self.course.text, free_text=FREE_TEXT_TOKEN)
            if complete:
                self.story.complete(enrolment)
            new.append(enrolment)
        self.enrolments += new
        return new

    async def apply(self) -> None:
        await apply_records(self.runtime.pool, self.story.records)
        self.story.records.clear()

    def question_url(self, question: uuid.UUID | None = None) -> str:
        return (
            f"/organisations/{self.organisation}/statistics/courses/{self.course.course_id}"
            f"/questions/{question or self.course.choice}"
        )

    def internal_url(self, question: uuid.UUID | None = None) -> str:
        return (
            f"/internal/statistics/organisations/{self.organisation}/courses/"
            f"{self.course.course_id}/questions/{question or self.course.choice}"
        )

    def completion_url(self) -> str:
        return (
            f"/organisations/{self.organisation}/statistics/courses/"
            f"{self.course.course_id}/completion"
        )


@pytest.fixture
async def platform(runtime: Runtime) -> Platform:
    platform = Platform(runtime)
    platform.answering(0, 7, complete=True)
    platform.answering(1, 2)
    platform.answering(2, 6, complete=True)
    await platform.apply()
    return platform


def contact(token_for: TokenFor, platform: Platform) -> Any:
    return token_for(
        Role.CONTACT_PERSON, user_id="contact-1", organisation_id=str(platform.organisation)
    )


def by_value(body: dict[str, Any], platform: Platform) -> dict[str, int | None]:
    labels = dict(zip((str(o) for o in platform.course.options), "abc", strict=True))
    return {labels[f["value"]]: f["count"] for f in body["figures"]}


async def test_a_contact_person_sees_large_cells_and_no_small_one_or_its_complement(
    http: httpx.AsyncClient, token_for: TokenFor, platform: Platform
) -> None:
    response = await http.get(
        platform.question_url(),
        params={"dimension": "option"},
        headers=contact(token_for, platform),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["k"] == 5
    assert body["suppression"] is True
    # 2 people chose b: suppressed; c (6) goes with it, else 15 - 7 - 6 would give b away.
    assert by_value(body, platform) == {"a": 7, "b": None, "c": None}
    assert body["total"] == 15
    assert [f["label"] for f in body["figures"]] == ["a", "b", "c"]
    assert all(f["suppressed"] == (f["count"] is None) for f in body["figures"])


async def test_every_dimension_combination_is_part_of_the_same_protected_table(
    http: httpx.AsyncClient, token_for: TokenFor, platform: Platform
) -> None:
    headers = contact(token_for, platform)
    both = (
        await http.get(
            platform.question_url(), params={"dimension": ["period", "option"]}, headers=headers
        )
    ).json()
    periods = (
        await http.get(platform.question_url(), params={"dimension": "period"}, headers=headers)
    ).json()
    total = (await http.get(platform.question_url(), headers=headers)).json()
    first = f"{START.year}-Q{(START.month - 1) // 3 + 1}"
    cells = {(f["period"], f["value"]): f["count"] for f in both["figures"]}
    b = str(platform.course.options[1])
    assert cells[(first, b)] is None
    assert {f["period"]: f["count"] for f in periods["figures"]}[first] == 15
    assert total["figures"] == [
        {"period": None, "value": None, "label": None, "count": 15, "suppressed": False}
    ]
    published = [f["count"] for body in (both, periods, total) for f in body["figures"]]
    assert all(count is None or count == 0 or count >= 5 for count in published)


async def test_a_larger_k_suppresses_more_and_a_smaller_one_is_refused(
    http: httpx.AsyncClient, token_for: TokenFor, platform: Platform
) -> None:
    headers = contact(token_for, platform)
    larger = await http.get(
        platform.question_url(), params={"dimension": "option", "k": 8}, headers=headers
    )
    assert larger.status_code == 200, larger.text
    assert by_value(larger.json(), platform) == {"a": None, "b": None, "c": None}
    smaller = await http.get(
        platform.question_url(), params={"dimension": "option", "k": 4}, headers=headers
    )
    assert assert_problem(smaller, 400)["type"].endswith("k-below-minimum")


async def test_an_undeclared_dimension_is_a_problem(
    http: httpx.AsyncClient, token_for: TokenFor, platform: Platform
) -> None:
    response = await http.get(
        platform.question_url(),
        params={"dimension": "department"},
        headers=contact(token_for, platform),
    )
    assert assert_problem(response, 400)["type"].endswith("undeclared-dimension")
    completion = await http.get(
        platform.completion_url(),
        params={"dimension": "option"},
        headers=contact(token_for, platform),
    )
    assert_problem(completion, 400)


async def test_only_the_organisations_contact_person_or_staff_may_ask(
    http: httpx.AsyncClient, token_for: TokenFor, platform: Platform
) -> None:
    own = str(platform.organisation)
    refused = [
        token_for(Role.CONTACT_PERSON, user_id="c2", organisation_id=str(OTHER_ORG)),
        token_for(Role.ORG_ADMIN, user_id="a1", organisation_id=own),
        token_for(Role.LEARNER, user_id="l1", organisation_id=own),
    ]
    for headers in refused:
        assert_problem(await http.get(platform.question_url(), headers=headers), 403)
        assert_problem(await http.get(platform.completion_url(), headers=headers), 403)
        assert_problem(await http.get(platform.internal_url(), headers=headers), 403)
    assert_problem(await http.get(platform.question_url()), 401)
    staff = await http.get(platform.question_url(), headers=token_for(Role.PLATFORM_STAFF))
    assert staff.status_code == 200, staff.text


async def test_unknown_ids_and_free_text_questions_are_not_found(
    http: httpx.AsyncClient, token_for: TokenFor, platform: Platform
) -> None:
    headers = contact(token_for, platform)
    assert_problem(await http.get(platform.question_url(uuid.uuid4()), headers=headers), 404)
    assert_problem(
        await http.get(platform.question_url(platform.course.text), headers=headers), 404
    )
    unknown_course = platform.question_url().replace(
        str(platform.course.course_id), str(uuid.uuid4())
    )
    assert_problem(await http.get(unknown_course, headers=headers), 404)
    staff = token_for(Role.PLATFORM_STAFF)
    assert_problem(await http.get(platform.internal_url(platform.course.text), headers=staff), 404)


async def test_one_more_person_changes_nothing_published_and_k_more_make_a_new_release(
    http: httpx.AsyncClient, token_for: TokenFor, platform: Platform, clock: MovableClock
) -> None:
    headers = contact(token_for, platform)
    params = {"dimension": "option"}
    first = (await http.get(platform.question_url(), params=params, headers=headers)).json()
    platform.answering(1, 1)
    await platform.apply()
    clock.advance(timedelta(minutes=5))
    second = (await http.get(platform.question_url(), params=params, headers=headers)).json()
    assert second == first
    platform.answering(1, 4)
    await platform.apply()
    third = (await http.get(platform.question_url(), params=params, headers=headers)).json()
    assert third["released_at"] != first["released_at"]
    assert by_value(third, platform) == {"a": 7, "b": 7, "c": 6}
    assert third["total"] == 20


async def test_staff_see_full_counts_including_erased_peoples_answers(
    http: httpx.AsyncClient, token_for: TokenFor, platform: Platform
) -> None:
    for enrolment in platform.enrolments[:3]:
        platform.story.erased_by_courses(enrolment)
    await platform.apply()
    staff = await http.get(
        platform.internal_url(), params={"dimension": "option"}, headers=token_for()
    )
    assert staff.status_code == 200, staff.text
    body = staff.json()
    assert body["suppression"] is False
    assert body["k"] is None
    assert by_value(body, platform) == {"a": 7, "b": 2, "c": 6}
    # Contact persons count only people still linked to their answers.
    contact_body = (
        await http.get(
            platform.question_url(),
            params={"dimension": "option"},
            headers=contact(token_for, platform),
        )
    ).json()
    assert contact_body["total"] == 12


async def test_completion_rates_show_only_where_both_counts_are_published(
    http: httpx.AsyncClient, token_for: TokenFor, platform: Platform
) -> None:
    headers = contact(token_for, platform)
    overall = await http.get(platform.completion_url(), headers=headers)
    assert overall.status_code == 200, overall.text
    body = overall.json()
    # 2 did not complete: suppressed; the 13 completed would give the 2 away next to the
    # published 15, so it is suppressed too and no rate is shown.
    assert body["rates"] == [{"period": None, "completed": None, "enrolled": 15, "rate": None}]
    by_status = (
        await http.get(platform.completion_url(), params={"dimension": "status"}, headers=headers)
    ).json()
    assert {f["value"]: f["count"] for f in by_status["figures"]} == {
        "completed": None,
        "not_completed": None,
    }
    assert body["total"] == 15


async def test_the_dimensions_are_declared(
    http: httpx.AsyncClient, token_for: TokenFor, platform: Platform
) -> None:
    response = await http.get("/statistics/dimensions", headers=contact(token_for, platform))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["k_minimum"] == 5
    assert body["period_granularity"] == "quarter"
    assert {s["statistic"]: [d["name"] for d in s["dimensions"]] for s in body["statistics"]} == {
        "answers": ["period", "option"],
        "completion": ["period", "status"],
    }


async def test_no_answer_gives_out_free_text_or_a_single_persons_figure(
    http: httpx.AsyncClient, token_for: TokenFor, platform: Platform
) -> None:
    combinations: list[list[str]] = [[], ["period"], ["option"], ["period", "option"]]
    contact_headers = contact(token_for, platform)
    bodies: list[str] = []
    for dimension in combinations:
        for url, headers in (
            (platform.question_url(), contact_headers),
            (platform.internal_url(), token_for()),
        ):
            response = await http.get(url, params={"dimension": dimension}, headers=headers)
            assert response.status_code == 200, response.text
            bodies.append(response.text)
            if headers is contact_headers:
                counts = [f["count"] for f in response.json()["figures"]]
                assert all(count is None or count == 0 or count >= 5 for count in counts)
        status = [d.replace("option", "status") for d in dimension]
        response = await http.get(
            platform.completion_url(), params={"dimension": status}, headers=contact_headers
        )
        assert response.status_code == 200, response.text
        bodies.append(response.text)
    assert not any("enc:v1" in body for body in bodies)


async def test_a_scale_question_has_a_column_for_every_point_of_its_scale(
    http: httpx.AsyncClient, token_for: TokenFor, platform: Platform
) -> None:
    for enrolment in platform.enrolments:
        platform.story.answer(enrolment, platform.course.scale, scale_value=4)
    await platform.apply()
    response = await http.get(
        platform.question_url(platform.course.scale),
        params={"dimension": "option"},
        headers=contact(token_for, platform),
    )
    assert response.status_code == 200, response.text
    figures = response.json()["figures"]
    assert [(f["value"], f["count"]) for f in figures] == [
        ("1", 0),
        ("2", 0),
        ("3", 0),
        ("4", 15),
        ("5", 0),
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_the_database_counts_people_as_the_domain_rule_does(
    runtime: Runtime, seed: int
) -> None:
    # The SQL in adapters/statistics_store.py implements count_table's rule (each person once,
    # latest answer, ties by value) so 100,000 answers need not travel into Python; this
    # checks the two agree on people with several enrolments, equal times and erasures.
    rng = random.Random(seed)
    story = CourseStory()
    organisation = uuid.uuid4()
    course = story.course(organisations=(organisation,))
    people = [f"subj_{uuid.uuid4().hex}" for _ in range(25)]
    expected_linked: list[Contribution] = []
    expected_all: list[Contribution] = []
    erased = set(rng.sample(people, 5))
    for _ in range(60):
        person = rng.choice(people)
        enrolment = story.enrol(course, organisation, subject_ref=person)
        at = START + timedelta(days=rng.choice([0, 0, 31, 95, 200]))
        option = rng.choice(course.options)
        story.answer(enrolment, course.choice, selected_option_ids=[option], at=at)
        if person in erased:
            story.erased_by_courses(enrolment)
            expected_all.append(Contribution(f"e:{enrolment.enrolment_id}", at, str(option)))
        else:
            expected_linked.append(Contribution(person, at, str(option)))
            expected_all.append(Contribution(person, at, str(option)))
    await apply_records(runtime.pool, story.records)
    for include_unlinked, expected in ((False, expected_linked), (True, expected_all)):
        async with transaction(runtime.pool) as conn:
            counts = await statistics_store.answer_counts(
                conn,
                organisation_id=organisation,
                course_id=course.course_id,
                question_id=course.choice,
                kind="single_choice",
                include_unlinked=include_unlinked,
            )
        for granularity in Granularity:
            assert table_from_month_counts(counts, granularity=granularity) == count_table(
                expected, granularity=granularity
            )
