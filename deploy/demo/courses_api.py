"""The courses steps of the demo through courses' API: the catalogue (platform staff create and
publish the demo courses, once), the assignment of the courses to the demo organisation, and
the learners' side (their enrolments, answers, completion).

Courses enrols a learner by itself when their licence is granted for an organisation the course
is assigned to (from `LicenceGranted` on Kafka), so the seed waits for the enrolments to appear.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from content import CourseDefinition, DrawnAnswer, Question
from gateway import Gateway, SeedFailed
from organisation import Person

ENROLMENT_DEADLINE_S = 120.0
FREE_TEXT_MAX_LENGTH = 1000


def course_body(definition: CourseDefinition) -> dict[str, Any]:
    """The POST /courses body of a demo course (the service makes every id)."""

    def question(q: Question) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": q.kind, "prompt": q.text, "required": True}
        if q.kind in ("single_choice", "multiple_choice"):
            body["options"] = [{"label": label} for label in q.options]
        elif q.kind == "scale":
            low, high = q.scale
            body["scale"] = {"low": low, "high": high, "low_label": "Lite", "high_label": "Mye"}
        else:  # free text: optional, as in the portal
            body["required"] = False
            body["max_length"] = FREE_TEXT_MAX_LENGTH
        return body

    return {
        "title": definition.title,
        "description": definition.description,
        "modules": [
            {"title": module.title, "questions": [question(q) for q in module.questions]}
            for module in definition.modules
        ],
    }


@dataclass(frozen=True)
class PublishedCourse:
    """A demo course as published: its id and the ids the service gave its questions."""

    course_id: str
    definition: CourseDefinition
    question_ids: list[str]
    option_ids: list[list[str]]  # per question, in the order of the definition's options


def _published(definition: CourseDefinition, read: dict[str, Any]) -> PublishedCourse:
    content = read.get("published")
    if content is None:
        raise SeedFailed(f"course {read['course_id']} has no published version")
    questions = [q for module in content["modules"] for q in module["questions"]]
    if len(questions) != len(definition.questions):
        raise SeedFailed(f"course {read['course_id']} does not hold the demo's questions")
    return PublishedCourse(
        course_id=str(read["course_id"]),
        definition=definition,
        question_ids=[str(q["question_id"]) for q in questions],
        option_ids=[[str(o["option_id"]) for o in q["options"]] for q in questions],
    )


def _title(read: dict[str, Any]) -> str | None:
    content = read.get("published") or read.get("draft")
    return None if content is None else str(content["title"])


class CoursesApi:
    """Courses' HTTP API as the demo uses it; `courses` are the published demo courses."""

    def __init__(self, gateway: Gateway, staff_token: str) -> None:
        self.gateway = gateway
        self._staff = staff_token
        self.courses: list[PublishedCourse] = []

    async def _catalogue(self) -> list[dict[str, Any]]:
        return list(await self.gateway.call("GET", "courses", "/courses", token=self._staff))

    async def any_course(self) -> bool:
        return bool(await self._catalogue())

    async def ensure_courses(self, definitions: tuple[CourseDefinition, ...]) -> int:
        """Find each demo course by title or create and publish it; the number created."""
        by_title = {_title(read): read for read in await self._catalogue()}
        created = 0
        for definition in definitions:
            read = by_title.get(definition.title)
            if read is None or read.get("published") is None:
                if read is None:
                    read = await self.gateway.call(
                        "POST", "courses", "/courses", token=self._staff,
                        json=course_body(definition),
                    )  # fmt: skip
                    created += 1
                course_id = read["course_id"]
                await self.gateway.call(
                    "POST", "courses", f"/courses/{course_id}/publish", token=self._staff
                )
                read = await self.gateway.call(
                    "GET", "courses", f"/courses/{course_id}", token=self._staff
                )
            self.courses.append(_published(definition, read))
        return created

    async def assign_all(self, organisation_id: str) -> None:
        """Assign every demo course to the organisation (before licences: then the licence
        enrols)."""
        for course in self.courses:
            await self.gateway.call(
                "POST",
                "courses",
                f"/organisations/{organisation_id}/courses",
                token=self._staff,
                json={"course_id": course.course_id},
            )

    async def wait_for_enrolments(self, learner: Person) -> dict[str, str]:
        """course id -> enrolment id of each demo course, once courses enrolled the learner."""
        wanted = {course.course_id for course in self.courses}
        deadline = time.monotonic() + ENROLMENT_DEADLINE_S
        while True:
            listed = await self.gateway.call(
                "GET", "courses", "/me/enrolments", token=learner.token
            )
            found = {
                str(e["course_id"]): str(e["enrolment_id"])
                for e in listed
                if str(e["course_id"]) in wanted
            }
            if len(found) == len(wanted):
                return found
            if time.monotonic() > deadline:
                raise SeedFailed(
                    f"learner {learner.user_id} enrolled in {len(found)} of {len(wanted)} demo "
                    f"courses after {ENROLMENT_DEADLINE_S}s (is courses consuming "
                    "identity.user.v1?)"
                )
            await asyncio.sleep(0.5)

    async def answer(
        self,
        learner: Person,
        enrolment_id: str,
        course: PublishedCourse,
        index: int,
        drawn: DrawnAnswer,
    ) -> None:
        question = course.definition.questions[index]
        body: dict[str, Any]
        if question.kind in ("single_choice", "multiple_choice"):
            options = course.option_ids[index]
            body = {"selected_option_ids": [options[i] for i in drawn.options]}
        elif question.kind == "scale":
            body = {"scale_value": drawn.value}
        else:
            body = {"text": drawn.text}
        await self.gateway.call(
            "PUT",
            "courses",
            f"/me/enrolments/{enrolment_id}/answers/{course.question_ids[index]}",
            token=learner.token,
            json=body,
        )

    async def complete(self, learner: Person, enrolment_id: str) -> None:
        await self.gateway.call(
            "POST", "courses", f"/me/enrolments/{enrolment_id}/complete", token=learner.token
        )
