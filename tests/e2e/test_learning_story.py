"""The learning story of issue 4, end to end on real identity and courses processes and Kafka.

Platform staff register an organisation and list its administrator and contact person; the
administrator invites a learner, who accepts the terms. Staff publish two courses (every
question kind) and assign them to the organisation; the administrator grants the learner a
licence, and courses enrols the learner by itself, from `LicenceGranted` on the real
identity.user.v1 topic. The learner answers, free text included, and completes one course.

- The free-text answer crosses Kafka (courses.enrolment.v1) only as a key-ring token
  (`enc:v1:...`): its plain text is nowhere in the record.
- R4: single answers are for platform staff only. The organisation's administrator and its
  contact person get 403 from every route that returns answers, whatever the filter; staff
  read them, the free text in clear.
- R6: the licence revoked, the learner's access ends: courses ends the open enrolment (from
  `LicenceRevoked`) and refuses further answers. The session's privacy orchestrator also
  files the learner's erasure on `LicenceRevoked` (R6: the data goes too), after which the
  enrolment is gone from the lists altogether; either is the end of the learner's access.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiokafka import ConsumerRecord

from byggrygg_shared.contracts.courses import ENROLMENT_TOPIC, AnswerSubmitted
from byggrygg_shared.keyring import is_token

from ..identity_client import IdentityApi, Member, bearer, unique_email, unique_name, unique_phone
from ..platform_processes import Platform
from ..topic_tail import TopicTail, everything_in, headers_of

DEADLINE_S = 90.0
ANSWER_SUBMITTED = AnswerSubmitted.ce_type()


def course_body(title: str) -> dict[str, Any]:
    return {
        "title": title,
        "description": "Ende-til-ende: alle spørsmålstyper.",
        "modules": [
            {
                "title": "Modul 1",
                "questions": [
                    {
                        "kind": "single_choice",
                        "prompt": "Hvem kontrollerer stillaset?",
                        "options": [{"label": "Brukeren"}, {"label": "En kompetent person"}],
                    },
                    {
                        "kind": "multiple_choice",
                        "prompt": "Hva skal være på plass?",
                        "options": [
                            {"label": "Rekkverk"},
                            {"label": "Fotlist"},
                            {"label": "Radio"},
                        ],
                    },
                    {
                        "kind": "scale",
                        "prompt": "Hvor trygg er du?",
                        "scale": {"low": 1, "high": 5},
                    },
                    {
                        "kind": "free_text",
                        "prompt": "Hva kan bli tryggere?",
                        "required": True,
                        "max_length": 500,
                    },
                ],
            }
        ],
    }


@dataclass(frozen=True)
class Course:
    course_id: str
    questions: list[dict[str, Any]]


@dataclass
class Story:
    platform: Platform
    identity: IdentityApi
    courses: httpx.AsyncClient

    @property
    def staff(self) -> dict[str, str]:
        return self.identity.staff

    async def publish_and_assign(self, organisation_id: str) -> Course:
        created = await self.courses.post(
            "/courses", json=course_body(f"E2E-kurs {uuid.uuid4().hex[:8]}"), headers=self.staff
        )
        assert created.status_code == 201, created.text
        course_id = created.json()["course_id"]
        published = await self.courses.post(f"/courses/{course_id}/publish", headers=self.staff)
        assert published.status_code == 201, published.text
        assigned = await self.courses.post(
            f"/organisations/{organisation_id}/courses",
            json={"course_id": course_id},
            headers=self.staff,
        )
        assert assigned.status_code == 201, assigned.text
        read = await self.courses.get(f"/courses/{course_id}", headers=self.staff)
        assert read.status_code == 200, read.text
        modules = read.json()["published"]["modules"]
        return Course(course_id, [q for module in modules for q in module["questions"]])

    async def add_contact_person(self, organisation_id: str) -> Member:
        email = unique_email("kontakt")
        listed = await self.identity.http.post(
            f"/organisations/{organisation_id}/contact-persons",
            json={"name": unique_name("Kari"), "email": email, "phone": unique_phone()},
            headers=self.staff,
        )
        assert listed.status_code == 201, listed.text
        token = listed.json()["invitation"]["token"]
        return await self.identity.accept(token, email=email, first_name="Kari")

    async def enrolments_of(self, learner: Member) -> dict[str, dict[str, Any]]:
        response = await self.courses.get("/me/enrolments", headers=learner.headers)
        assert response.status_code == 200, response.text
        return {e["course_id"]: e for e in response.json()}

    async def wait_for_enrolments(
        self, learner: Member, course_ids: set[str]
    ) -> dict[str, dict[str, Any]]:
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            found = await self.enrolments_of(learner)
            if course_ids <= found.keys():
                return found
            await _pause()
        pytest.fail(f"courses did not enrol the learner within {DEADLINE_S}s", pytrace=False)


async def _pause() -> None:
    await asyncio.sleep(0.3)


def answer_body(question: dict[str, Any], free_text: str) -> dict[str, Any]:
    options = [option["option_id"] for option in question["options"]]
    match question["kind"]:
        case "single_choice":
            return {"selected_option_ids": options[1:2]}
        case "multiple_choice":
            return {"selected_option_ids": options[:2]}
        case "scale":
            return {"scale_value": 4}
        case _:
            return {"text": free_text}


@pytest_asyncio.fixture(loop_scope="session")
async def story(platform: Platform, platform_identity: IdentityApi) -> AsyncIterator[Story]:
    async with httpx.AsyncClient(base_url=platform.url("courses"), timeout=30.0) as courses:
        yield Story(platform=platform, identity=platform_identity, courses=courses)


@pytest_asyncio.fixture(loop_scope="session")
async def enrolment_topic(kafka_bootstrap: str, platform: Platform) -> AsyncIterator[TopicTail]:
    tail = await TopicTail.open(kafka_bootstrap, platform.topic(ENROLMENT_TOPIC))
    try:
        yield tail
    finally:
        await tail.close()


def is_free_text_answer_of(learner: Member, question_id: str) -> Any:
    def matches(record: ConsumerRecord[bytes, bytes]) -> bool:
        headers = headers_of(record)
        if headers.get("ce_type") != ANSWER_SUBMITTED.encode():
            return False
        if headers.get("ce_subject") != learner.subject_ref.encode():
            return False
        return bool(json.loads(record.value or b"{}").get("question_id") == question_id)

    return matches


async def test_licence_enrols_the_learner_answers_stay_with_staff_revocation_ends_access(
    story: Story, enrolment_topic: TopicTail
) -> None:
    identity, courses = story.identity, story.courses
    organisation = await identity.register_organisation()
    org_id = organisation["organisation_id"]
    admin = await identity.add_admin(org_id)
    contact = await story.add_contact_person(org_id)
    first = await story.publish_and_assign(org_id)
    second = await story.publish_and_assign(org_id)

    # The administrator invites a learner, who accepts; the licence makes the enrolments.
    learner = await identity.add_learner(org_id, admin)
    granted = await identity.http.post(f"/users/{learner.user_id}/licences", headers=admin.headers)
    assert granted.status_code == 201, granted.text
    licence_id = granted.json()["licence_id"]
    enrolments = await story.wait_for_enrolments(learner, {first.course_id, second.course_id})
    enrolment = enrolments[first.course_id]
    assert enrolment["origin"] == "licence"
    assert enrolment["status"] == "active"
    assert enrolment["user_id"] == learner.user_id
    enrolment_id = enrolment["enrolment_id"]

    # The learner answers every question, free text included, and completes.
    secret = f"Stillaset ved port {uuid.uuid4().hex[:10]} mangler rekkverk"
    for question in first.questions:
        response = await courses.put(
            f"/me/enrolments/{enrolment_id}/answers/{question['question_id']}",
            json=answer_body(question, secret),
            headers=learner.headers,
        )
        assert response.status_code == 200, response.text
    completed = await courses.post(
        f"/me/enrolments/{enrolment_id}/complete", headers=learner.headers
    )
    assert completed.status_code == 200, completed.text
    assert completed.json()["status"] == "completed"
    assert completed.json()["progress"]["answered"] == len(first.questions)

    # On Kafka the free text is a key-ring token; its plain text is nowhere in the record.
    free_text_id = next(q["question_id"] for q in first.questions if q["kind"] == "free_text")
    record = await enrolment_topic.find(
        is_free_text_answer_of(learner, free_text_id), deadline_s=DEADLINE_S
    )
    payload = json.loads(record.value or b"{}")
    assert is_token(payload["free_text"])
    assert payload["free_text"].startswith("enc:v1:")
    assert secret.encode() not in everything_in(record)
    assert secret.split()[3].encode() not in everything_in(record)

    # R4: the organisation's administrator and contact person never see single answers.
    answer_routes = [
        f"/enrolments/{enrolment_id}/answers",
        f"/courses/{first.course_id}/answers",
        f"/courses/{first.course_id}/answers?organisation_id={org_id}",
        f"/courses/{first.course_id}/answers?question_id={free_text_id}",
        f"/courses/{first.course_id}/answers?organisation_id={org_id}&version=1&limit=1",
    ]
    for who in (admin, contact):
        for route in answer_routes:
            refused = await courses.get(route, headers=who.headers)
            assert refused.status_code == 403, f"{route}: {refused.status_code} {refused.text}"
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert secret not in refused.text
        # Nor through the learner's own route: it is the learner's, not theirs.
        theirs = await courses.get(f"/me/enrolments/{enrolment_id}/answers", headers=who.headers)
        assert theirs.status_code in (403, 404), theirs.text
        assert secret not in theirs.text
        # Their own organisation's overview has progress, never answers.
        overview = await courses.get(f"/organisations/{org_id}/enrolments", headers=who.headers)
        if overview.status_code == 200:
            assert secret not in overview.text
            assert "free_text" not in overview.text

    # Platform staff read the answers, the free text in clear.
    for route in answer_routes[:2]:
        staff_view = await courses.get(route, headers=story.staff)
        assert staff_view.status_code == 200, staff_view.text
        texts = [a["text"] for a in staff_view.json() if a["kind"] == "free_text"]
        assert secret in texts, route

    # R6: the licence revoked, access ends: the open enrolment ends, answers are refused.
    other = enrolments[second.course_id]
    assert other["status"] == "active"
    revoked = await identity.http.delete(
        f"/users/{learner.user_id}/licences/{licence_id}", headers=admin.headers
    )
    assert revoked.status_code == 204, revoked.text
    question = second.questions[0]
    deadline = time.monotonic() + DEADLINE_S
    while True:
        staff_list = await courses.get(f"/organisations/{org_id}/enrolments", headers=story.staff)
        assert staff_list.status_code == 200, staff_list.text
        listed = next(
            (e for e in staff_list.json() if e["enrolment_id"] == other["enrolment_id"]), None
        )
        if listed is None:
            break  # erased (the orchestrator's erasure on LicenceRevoked): access ended too
        if listed["status"] == "ended":
            assert listed["end_reason"] == "licence_revoked"
            break
        if time.monotonic() > deadline:
            pytest.fail(f"the enrolment did not end within {DEADLINE_S}s", pytrace=False)
        await _pause()
    refused = await courses.put(
        f"/me/enrolments/{other['enrolment_id']}/answers/{question['question_id']}",
        json=answer_body(question, secret),
        headers=bearer(learner.token),
    )
    assert 400 <= refused.status_code < 500, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
