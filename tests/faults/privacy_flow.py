"""The privacy steps the crash tests of the orchestrator and its participants repeat, and what
they check afterwards: an enrolled learner, an erasure filed by platform staff, the request's
view, locks the test holds to stop a service inside a transaction, and the exact count of each
effect across every database of the platform (each applied once, R16, R19; issue 5).

Everything is read the way an auditor would: the services' HTTP APIs, their own databases, and
the completion records' export verified offline by `privacy-orchestrator verify-records`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from byggrygg_shared.contracts.courses import EnrolmentErased
from byggrygg_shared.contracts.privacy import EraseSubject, ParticipantReplied

from ..identity_client import IdentityApi, Member
from ..platform_processes import ORCHESTRATOR, Platform, kill_service
from ..records_verifier import run_verifier
from .crash_tools import connected, eventually, scalar
from .learning import grant_licences, publish_and_assign

PARTICIPANTS = frozenset({"identity", "courses", "consent"})
ENDED = frozenset({"completed", "partially_completed", "rejected"})
COURSES = 2
# The orchestrator's request events (internal, in `request_events`; stream `dsr-<id>`).
_REQUEST_EVENT = "no.byggrygg.privacy-orchestrator."
REPLY_RECORDED = _REQUEST_EVENT + "ReplyRecorded"
SUBPROCESSOR_CONFIRMED = _REQUEST_EVENT + "SubProcessorConfirmed"
REQUEST_COMPLETED = _REQUEST_EVENT + "RequestCompleted"


@dataclass(frozen=True)
class EnrolledLearner:
    """A learner with a licence, enrolled in `COURSES` courses of their organisation."""

    learner: Member
    organisation_id: str
    enrolment_ids: frozenset[str]


async def enrolled_learner(platform: Platform, identity: IdentityApi) -> EnrolledLearner:
    """Staff publish and assign `COURSES` courses; an administrator's learner gets a licence
    and courses enrols them in each (waited for in courses' database)."""
    async with httpx.AsyncClient(base_url=platform.url("courses"), timeout=30.0) as courses:
        organisation_id = str((await identity.register_organisation())["organisation_id"])
        admin = await identity.add_admin(organisation_id)
        for _ in range(COURSES):
            await publish_and_assign(courses, identity.staff, organisation_id)
        learner = await identity.add_learner(organisation_id, admin)
        await grant_licences(identity, admin, [learner])
    dsn = platform["courses"].database_url

    async def enrolled() -> frozenset[str] | None:
        async with connected(dsn) as conn:
            rows = await conn.fetch(
                "SELECT enrolment_id::text FROM enrolments WHERE subject_ref = $1",
                learner.subject_ref,
            )
        found = frozenset(str(row["enrolment_id"]) for row in rows)
        return found if len(found) == COURSES else None

    enrolments = await eventually(enrolled, what=f"courses enrols the learner in {COURSES}")
    return EnrolledLearner(learner, organisation_id, enrolments)


def orchestrator_client(platform: Platform) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=platform.url(ORCHESTRATOR), timeout=30.0)


async def file_erasure(
    orchestrator: httpx.AsyncClient, staff: dict[str, str], subject_ref: str
) -> str:
    """Platform staff file an erasure of `subject_ref` (approved at once, R16); its id."""
    filed = await orchestrator.post(
        "/requests", json={"kind": "erasure", "subject_ref": subject_ref}, headers=staff
    )
    assert filed.status_code == 201, filed.text
    assert set(filed.json()["participants"]) >= PARTICIPANTS, filed.json()
    return str(filed.json()["request_id"])


async def request_view(
    orchestrator: httpx.AsyncClient, staff: dict[str, str], request_id: str
) -> dict[str, Any]:
    response = await orchestrator.get(f"/requests/{request_id}", headers=staff)
    assert response.status_code == 200, response.text
    return dict(response.json())


def replied(view: dict[str, Any]) -> set[str]:
    """The participants whose reply the orchestrator recorded."""
    return {name for name, progress in view["participants"].items() if progress["replied"]}


def sub_processor_states(view: dict[str, Any]) -> list[str]:
    return [item["state"] for item in view["sub_processors"]]


async def view_when(
    orchestrator: httpx.AsyncClient,
    staff: dict[str, str],
    request_id: str,
    *,
    what: str,
    holds: Callable[[dict[str, Any]], bool],
) -> dict[str, Any]:
    """The request's view once `holds(view)` is true (polled; fails after the deadline, saying
    where the request stood)."""
    last: list[dict[str, Any]] = []

    async def probe() -> dict[str, Any] | None:
        view = await request_view(orchestrator, staff, request_id)
        last[:] = [view]
        return view if holds(view) else None

    try:
        return await eventually(probe, what=what)
    except pytest.fail.Exception as failure:
        message = failure.msg
    seen = last[0] if last else {}
    pytest.fail(
        f"{message}; last seen: state {seen.get('state')}, replied "
        f"{sorted(replied(seen)) if seen else []}, sub-processors "
        f"{[(s['state'], s['attempts']) for s in seen.get('sub_processors', [])]}",
        pytrace=False,
    )


async def ended_view(
    orchestrator: httpx.AsyncClient, staff: dict[str, str], request_id: str
) -> dict[str, Any]:
    return await view_when(
        orchestrator,
        staff,
        request_id,
        what=f"request {request_id} ends",
        holds=lambda view: view["state"] in ENDED,
    )


def only_courses_missing(view: dict[str, Any]) -> bool:
    """Every participant but courses has replied."""
    answered = replied(view)
    return answered >= PARTICIPANTS - {"courses"} and "courses" not in answered


async def erasure_waiting_for_courses(
    platform: Platform, orchestrator: httpx.AsyncClient, staff: dict[str, str], subject_ref: str
) -> tuple[str, dict[str, Any]]:
    """With courses killed, staff file an erasure of `subject_ref`; once every other participant
    and HeiHallo answered: the request's id and view (courses' command waits on Kafka)."""
    await kill_service(platform["courses"])
    request_id = await file_erasure(orchestrator, staff, subject_ref)
    view = await view_when(
        orchestrator,
        staff,
        request_id,
        what="identity, consent and HeiHallo answer while courses is down",
        holds=lambda view: (
            only_courses_missing(view) and sub_processor_states(view) == ["confirmed"]
        ),
    )
    return request_id, view


async def sessions_waiting_for_a_lock(dsn: str) -> int | None:
    """How many sessions of the database `dsn` wait for a lock (a row, a table); None while
    none does. How a test sees a service stopped inside its transaction by a lock it holds."""
    waiting = await scalar(
        dsn,
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )
    return int(waiting) or None


async def _none_unless(value: object, wanted: object) -> bool | None:
    return True if value == wanted else None


async def until_published(dsn: str, stream_prefix: str) -> None:
    """Wait until the service's relay published every event of streams `stream_prefix*`."""

    async def published() -> bool | None:
        unpublished = await scalar(
            dsn,
            "SELECT count(*) FROM events WHERE published_at IS NULL AND stream_id LIKE $1",
            stream_prefix + "%",
        )
        return await _none_unless(unpublished, 0)

    await eventually(published, what=f"the relay publishes every event of {stream_prefix}*")


# --- effects, each counted -----------------------------------------------------------------


async def replies_stored(dsn: str, request_id: str) -> int:
    """`ParticipantReplied` events of a participant for `request_id` in its event store (its
    outbox): one per command it carried out."""
    return int(
        await scalar(
            dsn,
            "SELECT count(*) FROM events WHERE event_type = $1 AND payload->>'request_id' = $2",
            ParticipantReplied.event_type,
            request_id,
        )
    )


async def request_event_counts(platform: Platform, request_id: str) -> Counter[str]:
    """The orchestrator's events of the request (stream `dsr-<id>`) by type, with the
    participant for `ReplyRecorded` (`ReplyRecorded:courses`)."""
    async with connected(platform[ORCHESTRATOR].database_url) as conn:
        rows = await conn.fetch(
            "SELECT event_type, payload->>'participant' AS participant FROM request_events "
            "WHERE stream_id = $1",
            f"dsr-{request_id}",
        )
    return Counter(
        f"{row['event_type']}:{row['participant']}"
        if row["event_type"] == REPLY_RECORDED
        else str(row["event_type"])
        for row in rows
    )


async def assert_erased_exactly_once(
    platform: Platform,
    erased: EnrolledLearner,
    request_id: str,
    *,
    resent: frozenset[str] = frozenset(),
) -> None:
    """Every effect of the erasure, each once: one reply per participant, one command per
    participant sent (the participants in `resent` were sent the same command again by the
    time-out: one CloudEvent id), one `EnrolmentErased` per enrolment, the learner gone from
    courses and identity, the subject's key shredded, one sub-processor confirmation, one
    completion record; and nothing recorded twice by the orchestrator."""
    subject_ref = erased.learner.subject_ref
    for name in sorted(PARTICIPANTS):
        stored = await replies_stored(platform[name].database_url, request_id)
        assert stored == 1, f"{name} stored {stored} ParticipantReplied for the request"

    courses = platform["courses"].database_url
    async with connected(courses) as conn:
        erasures = await conn.fetch(
            "SELECT payload->>'enrolment_id' AS enrolment_id FROM events "
            "WHERE event_type = $1 AND payload->>'request_id' = $2",
            EnrolmentErased.event_type,
            request_id,
        )
        learners = await conn.fetchval(
            "SELECT count(*) FROM learners WHERE subject_ref = $1", subject_ref
        )
        enrolments = await conn.fetchval(
            "SELECT count(*) FROM enrolments WHERE subject_ref = $1", subject_ref
        )
        remembered = await conn.fetchval(
            "SELECT count(*) FROM erased_learners WHERE subject_ref = $1", subject_ref
        )
    per_enrolment = Counter(str(row["enrolment_id"]) for row in erasures)
    assert set(per_enrolment) == erased.enrolment_ids, "an enrolment was not erased"
    assert set(per_enrolment.values()) == {1}, f"EnrolmentErased repeated: {per_enrolment}"
    assert (learners, enrolments, remembered) == (0, 0, 1), "courses still holds the learner"
    users = await scalar(
        platform["identity"].database_url,
        "SELECT count(*) FROM users WHERE subject_ref = $1",
        subject_ref,
    )
    assert users == 0, "identity still holds the user"
    shredded = await scalar(
        platform.keyring_database_url,
        "SELECT shredded_at IS NOT NULL FROM keyring_subjects WHERE subject_ref = $1",
        subject_ref,
    )
    assert shredded is True, "the subject's key was not shredded"

    orchestrator = platform[ORCHESTRATOR].database_url
    async with connected(orchestrator) as conn:
        commands = await conn.fetch(
            "SELECT payload->>'participant' AS participant, metadata->>'event_id' AS id "
            "FROM events "
            "WHERE event_type = $1 AND payload->>'request_id' = $2",
            EraseSubject.event_type,
            request_id,
        )
        records = await conn.fetchval(
            "SELECT count(*) FROM completion_records WHERE request_id = $1::uuid", request_id
        )
        confirmations = await conn.fetchval(
            "SELECT count(*) FROM subprocessor_confirmations WHERE request_id = $1::uuid",
            request_id,
        )
        deliveries = await conn.fetchval(
            "SELECT count(*) FROM subprocessor_deliveries WHERE request_id = $1::uuid",
            request_id,
        )
    sent = Counter(str(row["participant"]) for row in commands)
    ids = {
        name: {str(row["id"]) for row in commands if row["participant"] == name} for name in sent
    }
    once = PARTICIPANTS - resent
    assert {name: sent[name] for name in once} == dict.fromkeys(once, 1), f"commands: {sent}"
    assert all(sent[name] >= 1 and len(ids[name]) == 1 for name in resent), f"resent: {ids}"
    assert all(n == 1 for name, n in sent.items() if name not in resent), f"commands: {sent}"
    assert (deliveries, confirmations) == (1, 1), "HeiHallo: one delivery, one confirmation"
    assert records == 1, f"{records} completion records for the request"
    events = await request_event_counts(platform, request_id)
    expected = {f"{REPLY_RECORDED}:{name}": 1 for name in PARTICIPANTS}
    expected |= {SUBPROCESSOR_CONFIRMED: 1, REQUEST_COMPLETED: 1}
    assert {key: events[key] for key in expected} == expected, f"request events: {events}"


async def heihallo_accepted(platform: Platform, request_id: str) -> int:
    """How many times the simulator accepted (202) a signed request of `request_id`."""
    received = await platform.simulator.received()
    return sum(1 for item in received["accepted"] if item["request_id"] == request_id)


async def heihallo_callback(platform: Platform, request_id: str) -> dict[str, Any] | None:
    """The simulator's confirmation callback of `request_id` (`outcome`: pending, delivered,
    refused, gave_up; `attempts`), once it accepted the request; else None."""
    received = await platform.simulator.received()
    for item in received["accepted"]:
        if item["request_id"] == request_id:
            return dict(item["callback"])
    return None


async def verified_records(
    orchestrator: httpx.AsyncClient, staff: dict[str, str], workdir: Path, request_id: str
) -> dict[str, Any]:
    """The export of every completion record, verified offline by `privacy-orchestrator
    verify-records` with the public key the orchestrator publishes; the request's record."""
    exported = await orchestrator.get("/records/export", headers=staff)
    assert exported.status_code == 200, exported.text
    key = await orchestrator.get("/.well-known/orchestrator-key")
    assert key.status_code == 200, key.text
    file, pem = workdir / "completion-records.json", workdir / "orchestrator-public.pem"
    file.write_bytes(exported.content)
    pem.write_text(key.json()["public_key_pem"], encoding="ascii")
    returncode, output = await run_verifier(file, pem)
    if returncode != 0:
        pytest.fail(f"verify-records exited with {returncode}:\n{output}", pytrace=False)
    mine = [
        entry["record"]
        for entry in exported.json()["records"]
        if entry["record"]["request"]["request_id"] == request_id
    ]
    assert len(mine) == 1, f"{len(mine)} records of the request in the export"
    return dict(mine[0])
