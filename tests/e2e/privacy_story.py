"""The steps the privacy stories share: a learner with data in every service, the orchestrator
as platform staff sees it, the offline verification of completion records, and the scan of
everything the session's platform keeps.

The person is made the way a real one is: identity registers the organisation, the
administrator invites the learner and grants a licence, courses enrols the learner from
`LicenceGranted` on Kafka and the learner answers (a free text that names them), consent logs
an e-mail correspondence with them, and HeiHallo (the sub-processor simulator) holds a record
of them. Every wait polls to a deadline; nothing depends on how fast the machine is.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx

from .. import polling
from ..identity_client import IdentityApi, Member
from ..pii_scan import Identifiers, ScanReport, Targets, scan
from ..platform_processes import Platform
from ..records_verifier import run_verifier

DEADLINE_S = 120.0
POLL_S = 0.25
ENDED = frozenset({"completed", "partially_completed", "rejected"})
PARTICIPANTS = frozenset({"identity", "courses", "consent"})

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, what: str, deadline_s: float = DEADLINE_S
) -> T:
    """``tests.polling.eventually`` with the stories' deadline and interval."""
    return await polling.eventually(probe, what=what, deadline_s=deadline_s, poll_s=POLL_S)


def course_body() -> dict[str, Any]:
    return {
        "title": f"Personvern-E2E {uuid.uuid4().hex[:8]}",
        "description": "Et kurs med ett skalaspørsmål og ett fritekstspørsmål.",
        "modules": [
            {
                "title": "Modul 1",
                "questions": [
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


@dataclass
class Person:
    """A learner with data in identity, courses, consent and HeiHallo."""

    member: Member
    admin: Member
    organisation_id: str
    licence_id: str
    course_id: str
    enrolment_id: str
    correspondence_id: str

    @property
    def subject_ref(self) -> str:
        return self.member.subject_ref

    def identifiers(self) -> Identifiers:
        return Identifiers(
            names=(self.member.name,), emails=(self.member.email,), phones=(self.member.phone,)
        )


@dataclass
class PrivacyStory:
    """Clients of the session's services, as platform staff unless a step says otherwise."""

    platform: Platform
    identity: IdentityApi
    courses: httpx.AsyncClient
    consent: httpx.AsyncClient
    orchestrator: httpx.AsyncClient

    @property
    def staff(self) -> dict[str, str]:
        return self.identity.staff

    # --- a person with data everywhere --------------------------------------------------------

    async def learner_with_data(self) -> Person:
        organisation = await self.identity.register_organisation()
        org_id = organisation["organisation_id"]
        admin = await self.identity.add_admin(org_id)
        course_id, questions = await self._course_for(org_id)
        member = await self.identity.add_learner(org_id, admin)
        granted = await self.identity.http.post(
            f"/users/{member.user_id}/licences", headers=admin.headers
        )
        assert granted.status_code == 201, granted.text
        enrolment_id = await eventually(
            lambda: self._enrolment(member, course_id), what="courses enrols the learner"
        )
        for question in questions:
            body = (
                {"scale_value": 4}
                if question["kind"] == "scale"
                else {"text": f"Hilsen {member.name}, ring {member.phone}"}
            )
            answered = await self.courses.put(
                f"/me/enrolments/{enrolment_id}/answers/{question['question_id']}",
                json=body,
                headers=member.headers,
            )
            assert answered.status_code == 200, answered.text
        correspondence = await self.consent.post(
            "/correspondence/email",
            json={
                "organisation_id": org_id,
                "subject_ref": member.subject_ref,
                "email_address": member.email,
                "messages": [
                    {
                        "direction": "inbound",
                        "sent_at": datetime.now(UTC).isoformat(),
                        "subject": "Spørsmål om kurset",
                        "text": f"Hei, dette er {member.name} ({member.phone}).",
                    }
                ],
            },
            headers=self.staff,
        )
        assert correspondence.status_code == 201, correspondence.text
        await self.platform.simulator.seed(
            member.subject_ref, {"name": member.name, "phone": member.phone}
        )
        return Person(
            member=member,
            admin=admin,
            organisation_id=org_id,
            licence_id=granted.json()["licence_id"],
            course_id=course_id,
            enrolment_id=enrolment_id,
            correspondence_id=correspondence.json()["correspondence_id"],
        )

    async def _course_for(self, organisation_id: str) -> tuple[str, list[dict[str, Any]]]:
        created = await self.courses.post("/courses", json=course_body(), headers=self.staff)
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
        return course_id, [q for module in modules for q in module["questions"]]

    async def _enrolment(self, member: Member, course_id: str) -> str | None:
        response = await self.courses.get("/me/enrolments", headers=member.headers)
        assert response.status_code == 200, response.text
        found = [e for e in response.json() if e["course_id"] == course_id]
        return str(found[0]["enrolment_id"]) if found else None

    async def open_complaint(self, person: Person, summary: str, *concerns: str) -> str:
        """Staff record the person's complaint about ``concerns`` (R21); its id."""
        opened = await self.consent.post(
            "/complaints",
            json={
                "kind": "complaint",
                "subject_ref": person.subject_ref,
                "organisation_id": person.organisation_id,
                "summary": summary,
                "concerns": list(concerns),
            },
            headers=self.staff,
        )
        assert opened.status_code == 201, opened.text
        return str(opened.json()["complaint_id"])

    # --- the orchestrator ---------------------------------------------------------------------

    async def request(self, request_id: str) -> dict[str, Any]:
        response = await self.orchestrator.get(f"/requests/{request_id}", headers=self.staff)
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def requests_of(self, subject_ref: str) -> list[dict[str, Any]]:
        response = await self.orchestrator.get(
            "/requests", params={"subject_ref": subject_ref}, headers=self.staff
        )
        assert response.status_code == 200, response.text
        found = list(response.json())
        assert all(item["subject_ref"] == subject_ref for item in found), "filter ignored"
        return found

    async def erasure_besides(self, subject_ref: str, *known: str) -> dict[str, Any]:
        """The subject's erasure other than the ``known`` request ids, once it is filed (an
        automatic one: a trigger, a follow-up)."""

        async def probe() -> dict[str, Any] | None:
            found = [
                r
                for r in await self.requests_of(subject_ref)
                if r["kind"] == "erasure" and r["request_id"] not in known
            ]
            return found[0] if found else None

        return await eventually(probe, what=f"an erasure of the subject besides {known}")

    async def file(self, kind: str, subject_ref: str) -> dict[str, Any]:
        filed = await self.orchestrator.post(
            "/requests", json={"kind": kind, "subject_ref": subject_ref}, headers=self.staff
        )
        assert filed.status_code == 201, filed.text
        return dict(filed.json())

    async def ended(self, request_id: str) -> dict[str, Any]:
        """The request once it has ended (completed, partially completed or rejected)."""

        async def probe() -> dict[str, Any] | None:
            view = await self.request(request_id)
            return view if view["state"] in ENDED else None

        return await eventually(probe, what=f"request {request_id} ends")

    async def exported_records(self) -> bytes:
        response = await self.orchestrator.get("/records/export", headers=self.staff)
        assert response.status_code == 200, response.text
        return response.content

    async def public_key_pem(self) -> str:
        response = await self.orchestrator.get("/.well-known/orchestrator-key")
        assert response.status_code == 200, response.text
        return str(response.json()["public_key_pem"])

    async def verify_records(self, workdir: Path) -> tuple[int, str]:
        """`privacy-orchestrator verify-records` on a fresh export: (exit status, output)."""
        export_file = workdir / f"records-{uuid.uuid4().hex[:8]}.json"
        key_file = workdir / "orchestrator-public.pem"
        export_file.write_bytes(await self.exported_records())
        key_file.write_text(await self.public_key_pem(), encoding="ascii")
        return await run_verifier(export_file, key_file)

    # --- everything the platform keeps --------------------------------------------------------

    async def scan_everything(self, person: Person) -> ScanReport:
        """Every database (the key ring's too), every topic and every log of the session."""
        return await self.scan_for(person.identifiers())

    async def scan_for(self, identifiers: Identifiers) -> ScanReport:
        """`identifiers` in every database, topic and log of the session."""
        platform = self.platform
        services = platform.services.values()
        logs = [service.log_file for service in services]
        logs.append(platform.simulator.log_file)
        return await scan(
            identifiers,
            Targets(
                databases=(
                    *(service.database_url for service in services),
                    platform.keyring_database_url,
                ),
                kafka_bootstrap=platform.env["BYGGRYGG_KAFKA_BOOTSTRAP"],
                topics=tuple(platform.topics()),
                logs=tuple(logs),
            ),
        )
