"""Helpers of courses' integration tests: people with tokens, request bodies, licence events,
table snapshots and problem checks."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx

from byggrygg_shared.auth import Principal, Role, TokenIssuer
from byggrygg_shared.contracts import identity
from byggrygg_shared.envelope import ReceivedEvent
from courses.adapters.tables import METADATA
from courses.bootstrap import Runtime
from courses.service_layer.licences import handle_licence_granted

from ....service_testing import table_snapshot


def new_subject_ref() -> str:
    return "subj_" + secrets.token_hex(16)


@dataclass(frozen=True)
class Person:
    """Someone with an access token: user id, subject_ref, organisation and roles."""

    user_id: UUID
    subject_ref: str
    organisation_id: UUID | None
    roles: frozenset[Role]
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class People:
    """Makes people of any role, with tokens signed by the test's identity key."""

    def __init__(self, issuer: TokenIssuer) -> None:
        self._issuer = issuer

    def make(self, *roles: Role, organisation_id: UUID | None = None) -> Person:
        user_id = uuid4()
        subject_ref = new_subject_ref()
        principal = Principal(
            user_id=str(user_id),
            subject_ref=subject_ref,
            organisation_id=None if organisation_id is None else str(organisation_id),
            roles=frozenset(roles),
        )
        return Person(
            user_id, subject_ref, organisation_id, frozenset(roles), self._issuer.issue(principal)
        )

    def staff(self) -> Person:
        return self.make(Role.PLATFORM_STAFF)


def course_body(title: str = "Sikker bruk av stillas") -> dict[str, Any]:
    """A course with one question of each kind (the free-text one optional)."""
    return {
        "title": title,
        "description": "Grunnkurs for alle på byggeplassen",
        "modules": [
            {
                "title": "Før du går opp",
                "questions": [
                    {
                        "kind": "single_choice",
                        "prompt": "Hvem kontrollerer stillaset før bruk?",
                        "options": [{"label": "Bas"}, {"label": "Alle som bruker det"}],
                    },
                    {
                        "kind": "multiple_choice",
                        "prompt": "Hva må du ha på deg?",
                        "options": [{"label": "Hjelm"}, {"label": "Sele"}, {"label": "Slips"}],
                    },
                ],
            },
            {
                "title": "Etterpå",
                "questions": [
                    {
                        "kind": "scale",
                        "prompt": "Hvor trygg føler du deg?",
                        "scale": {"low": 1, "high": 5, "low_label": "lite", "high_label": "svært"},
                    },
                    {
                        "kind": "free_text",
                        "prompt": "Noe du vil si?",
                        "required": False,
                        "max_length": 500,
                    },
                ],
            },
        ],
    }


def questions_of(content: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The questions of a content document by kind (one of each in `course_body`)."""
    return {q["kind"]: q for m in content["modules"] for q in m["questions"]}


def licence_granted(person: Person, *, licence_id: UUID | None = None) -> ReceivedEvent:
    """A LicenceGranted as the consumer would receive it from identity."""
    assert person.organisation_id is not None
    event = identity.LicenceGranted(
        user_id=person.user_id,
        subject_ref=person.subject_ref,
        organisation_id=person.organisation_id,
        licence_id=licence_id or uuid4(),
        granted_by="admin",
    )
    return received(event)


def licence_revoked(person: Person, *, licence_id: UUID) -> ReceivedEvent:
    assert person.organisation_id is not None
    return received(
        identity.LicenceRevoked(
            user_id=person.user_id,
            subject_ref=person.subject_ref,
            organisation_id=person.organisation_id,
            licence_id=licence_id,
            revoked_by="admin",
        )
    )


def subscription_cancelled(person: Person) -> ReceivedEvent:
    assert person.organisation_id is not None
    return received(
        identity.SubscriptionCancelled(
            user_id=person.user_id,
            subject_ref=person.subject_ref,
            organisation_id=person.organisation_id,
        )
    )


def received(
    event: identity.LicenceGranted | identity.LicenceRevoked | identity.SubscriptionCancelled,
) -> ReceivedEvent:
    event_id = str(uuid4())
    return ReceivedEvent(
        id=event_id,
        type=event.ce_type(),
        source="/services/identity",
        subject=event.subject_ref,
        time=None,
        correlation_id=event_id,
        causation_id=None,
        tenant_id=str(event.organisation_id),
        data=event.model_dump(mode="json"),
    )


async def snapshot(pool: asyncpg.Pool) -> dict[str, tuple[int, str]]:
    """Row count and digest of every courses table (events and inbox included): equal
    snapshots before and after a request mean it wrote nothing."""
    return await table_snapshot(pool, METADATA.sorted_tables)


@dataclass
class Steps:
    """The usual steps through the real API (and the licence handler, as the consumer)."""

    http: httpx.AsyncClient
    runtime: Runtime
    people: People
    staff: Person

    async def create_course(self, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.http.post(
            "/courses", json=body or course_body(), headers=self.staff.headers
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def publish(self, course_id: str) -> int:
        response = await self.http.post(f"/courses/{course_id}/publish", headers=self.staff.headers)
        assert response.status_code == 201, response.text
        return int(response.json()["version"])

    async def published_course(self) -> dict[str, Any]:
        course = await self.create_course()
        await self.publish(course["course_id"])
        course_id = course["course_id"]
        response = await self.http.get(f"/courses/{course_id}", headers=self.staff.headers)
        return dict(response.json())

    async def assign(self, course_id: str, organisation_id: UUID) -> dict[str, Any]:
        response = await self.http.post(
            f"/organisations/{organisation_id}/courses",
            json={"course_id": course_id},
            headers=self.staff.headers,
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def licensed_learner(self, organisation_id: UUID) -> Person:
        learner = self.people.make(Role.LEARNER, organisation_id=organisation_id)
        event = licence_granted(learner)
        contract = event.contract()
        assert await handle_licence_granted(
            deps=self.runtime.deps,
            event=contract,  # type: ignore[arg-type]
            received=event,
        )
        return learner

    async def my_enrolments(self, learner: Person) -> list[dict[str, Any]]:
        response = await self.http.get("/me/enrolments", headers=learner.headers)
        assert response.status_code == 200, response.text
        return list(response.json())
