"""The learning steps the crash tests repeat, through the services' HTTP APIs as clients take
them: staff publish a course and assign it to an organisation, an administrator's learners
accept their invitations and get licences (identity), which courses turns into enrolments.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from ..identity_client import IdentityApi, Member

# Learners are made a few at a time: each costs identity a password hash (argon2).
CONCURRENT_SIGN_UPS = 4


@dataclass(frozen=True)
class PublishedCourse:
    course_id: str
    scale_question_id: str
    choice_question_id: str
    choice_option_ids: list[str]


def course_body() -> dict[str, Any]:
    """A course with one scale and one single-choice question (no personal data in answers)."""
    return {
        "title": f"Krasjkurs {uuid.uuid4().hex[:8]}",
        "description": "Feiltoleranse: ingenting går tapt.",
        "modules": [
            {
                "title": "Modul 1",
                "questions": [
                    {
                        "kind": "scale",
                        "prompt": "Hvor trygg er du?",
                        "scale": {"low": 1, "high": 9},
                    },
                    {
                        "kind": "single_choice",
                        "prompt": "Hvem kontrollerer stillaset?",
                        "options": [{"label": "Brukeren"}, {"label": "En kompetent person"}],
                    },
                ],
            }
        ],
    }


async def publish_and_assign(
    courses: httpx.AsyncClient, staff: dict[str, str], organisation_id: str
) -> PublishedCourse:
    created = await courses.post("/courses", json=course_body(), headers=staff)
    assert created.status_code == 201, created.text
    course_id = str(created.json()["course_id"])
    published = await courses.post(f"/courses/{course_id}/publish", headers=staff)
    assert published.status_code == 201, published.text
    assigned = await courses.post(
        f"/organisations/{organisation_id}/courses", json={"course_id": course_id}, headers=staff
    )
    assert assigned.status_code == 201, assigned.text
    read = await courses.get(f"/courses/{course_id}", headers=staff)
    assert read.status_code == 200, read.text
    [scale, choice] = [q for m in read.json()["published"]["modules"] for q in m["questions"]]
    return PublishedCourse(
        course_id=course_id,
        scale_question_id=str(scale["question_id"]),
        choice_question_id=str(choice["question_id"]),
        choice_option_ids=[str(option["option_id"]) for option in choice["options"]],
    )


async def add_learners(
    identity: IdentityApi, organisation_id: str, admin: Member, count: int
) -> list[Member]:
    """`count` learners of the organisation who accepted their invitations (no licence yet)."""
    gate = asyncio.Semaphore(CONCURRENT_SIGN_UPS)

    async def one() -> Member:
        async with gate:
            return await identity.add_learner(organisation_id, admin)

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def grant_licences(identity: IdentityApi, admin: Member, learners: list[Member]) -> None:
    """The administrator grants each learner a licence (identity emits `LicenceGranted`)."""
    for learner in learners:
        granted = await identity.http.post(
            f"/users/{learner.user_id}/licences", headers=admin.headers
        )
        assert granted.status_code == 201, granted.text
