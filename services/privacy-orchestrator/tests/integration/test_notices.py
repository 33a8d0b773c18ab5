"""Kept-data notices (R10) on real PostgreSQL, the real key ring and a real SMTP server (the
repository's mail sink, deploy/local/mail_sink.py, read from its Maildir): an erasure that ends
with something kept mails the person once, naming the basis, never the data; the completion
record names the mail; the address is unreadable afterwards; nothing kept, nothing sent. A
deadline extension is told (the new date and why) and the address kept for the end; a ready
access export is told with its download link, never the data."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from byggrygg_shared.auth import Principal, Role
from byggrygg_shared.contracts.privacy import Evidence, ParticipantReplied
from byggrygg_shared.envelope import ReceivedEvent
from byggrygg_shared.keyring import Erased
from privacy_orchestrator.bootstrap import Runtime, install, mail_sender
from privacy_orchestrator.entrypoints.api import create_app
from privacy_orchestrator.service_layer import requests

from ....service_testing import asgi_client

REPO = Path(__file__).resolve().parents[4]
PARTICIPANTS = ("identity", "consent")
KEPT_LOCATION = "column correspondence_items.email_address"
KEPT_BASIS = "open_complaint: kept until the complaint is resolved (R21)"


def _repo_test_module(name: str) -> ModuleType:
    """A helper module of the repository's cross-service tests (tests/<name>.py), loaded by
    path: the service's tests are not in that package."""
    qualified = f"_repo_tests_{name}"
    if qualified in sys.modules:
        return sys.modules[qualified]
    spec = importlib.util.spec_from_file_location(qualified, REPO / "tests" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[qualified] = module
    spec.loader.exec_module(module)
    return module


platform_processes = _repo_test_module("platform_processes")
mail_reader = _repo_test_module("mail_reader")


@pytest.fixture
async def mail_sink(tmp_path: Path) -> AsyncIterator[Any]:
    async with platform_processes.running_mail_sink(tmp_path) as sink:
        yield sink


@pytest.fixture
async def notice_runtime(runtime: Runtime, mail_sink: Any) -> Runtime:
    """Two participants, no sub-processor (their part is another test's), mail to the sink."""
    runtime.deps = dataclasses.replace(runtime.deps, participants=PARTICIPANTS, subprocessors=None)
    runtime.settings = runtime.settings.model_copy(
        update={"smtp_host": mail_sink.host, "smtp_port": mail_sink.port}
    )
    return runtime


@pytest.fixture
async def client(notice_runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app()
    install(app, notice_runtime)
    async with asgi_client(app, "privacy-orchestrator") as http:
        yield http


def _learner() -> Principal:
    return Principal(
        user_id=str(uuid4()),
        subject_ref="subj_" + uuid4().hex,
        organisation_id=None,
        roles=frozenset({Role.LEARNER}),
    )


def _address() -> str:
    return f"kari.{uuid4().hex[:10]}@example.no"


async def _reply(
    runtime: Runtime, request_id: UUID, subject: str, participant: str, evidence: list[Evidence]
) -> None:
    kept = any(item.action == "kept" for item in evidence)
    reply = ParticipantReplied(
        request_id=request_id,
        participant=participant,  # type: ignore[arg-type]
        command="erase",
        subject_ref=subject,
        outcome="partially_completed" if kept else "completed",
        evidence=evidence,
        export=None,
        replied_at=datetime.now(UTC),
    )
    received = ReceivedEvent(
        id=str(uuid4()),
        type=reply.ce_type(),
        source=participant,
        subject=None,
        time=None,
        correlation_id=str(request_id),
        causation_id=None,
        tenant_id=None,
        data=reply.model_dump(mode="json"),
    )
    assert await requests.record_reply(runtime.deps, reply, received)


async def _answer_all(runtime: Runtime, request_id: UUID, subject: str, *, kept: bool) -> None:
    await _reply(
        runtime,
        request_id,
        subject,
        "identity",
        [Evidence(location="table users.name", action="erased", count=1)],
    )
    held = Evidence(
        location=KEPT_LOCATION,
        action="kept",
        count=2,
        basis=KEPT_BASIS,
        keep_until=date(2027, 6, 30),
    )
    await _reply(
        runtime,
        request_id,
        subject,
        "consent",
        [Evidence(location="table consents.subject_ref", action="erased", count=1)]
        + ([held] if kept else []),
    )


async def _notice_row(runtime: Runtime, request_id: UUID) -> dict[str, Any]:
    async with runtime.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT key_ref, address, mail_id, ended_at FROM request_notices WHERE request_id = $1",
            request_id,
        )
    assert row is not None
    return dict(row)


async def _record(runtime: Runtime, request_id: UUID) -> dict[str, Any]:
    async with runtime.pool.acquire() as conn:
        record = await runtime.deps.records.for_request(conn, request_id)
    assert record is not None
    document: dict[str, Any] = record.entry()["record"]
    return document


async def _file(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    filed = await client.post("/requests", json={"kind": "erasure", **body}, headers=headers)
    assert filed.status_code == 201, filed.text
    request: dict[str, Any] = filed.json()
    return request


async def test_kept_data_is_told_once_by_mail_naming_the_basis_and_the_record_says_so(
    notice_runtime: Runtime,
    client: httpx.AsyncClient,
    headers: Callable[[Principal], dict[str, str]],
    mail_sink: Any,
) -> None:
    runtime = notice_runtime
    learner, address = _learner(), _address()
    request = await _file(client, headers(learner), notify_email=address)
    assert request["notice"] == "waiting"
    request_id = UUID(request["request_id"])
    # Sealed under a scope of the request's own, never stored readable.
    stored = await _notice_row(runtime, request_id)
    assert address not in stored["address"]
    assert stored["key_ref"] != learner.subject_ref
    assert runtime.deps.keyring is not None
    assert await runtime.deps.keyring.decrypt(stored["key_ref"], stored["address"]) == address

    await _answer_all(runtime, request_id, learner.subject_ref, kept=True)

    view = (await client.get(f"/requests/{request_id}", headers=headers(learner))).json()
    assert (view["state"], view["notice"]) == ("partially_completed", "queued")
    document = await _record(runtime, request_id)
    [notice] = document["notices"]
    assert notice["kind"] == "kept_data"
    assert [k["basis"] for k in document["kept"]] == [KEPT_BASIS]

    assert await mail_sender(runtime).send_due() == 1
    reader = mail_reader.MailReader(mail_sink.maildir)
    [mail] = await reader.wait_for(address)
    assert mail.message["Message-ID"] == f"<{notice['reference']}@byggrygg.no>"
    text = mail.text
    assert "open_complaint" in text  # the basis, by code and in words
    assert "klage" in text
    assert "korrespondanse" in text  # what kind of data, in plain words
    assert "2027-06-30" in text  # until when
    # Never the data, nor where it sits, nor whose it is.
    for absent in (learner.subject_ref, "correspondence_items", "email_address", address):
        assert absent not in text

    # The address is gone: cleared, and its scope destroyed (the old token is unreadable).
    ended = await _notice_row(runtime, request_id)
    assert ended["address"] is None
    assert str(ended["mail_id"]) == notice["reference"]
    assert await runtime.deps.keyring.decrypt(stored["key_ref"], stored["address"]) is Erased()
    async with runtime.pool.acquire() as conn:
        sent = await conn.fetchrow(
            "SELECT status, recipient, body FROM mail_outbox WHERE mail_id = $1",
            ended["mail_id"],
        )
    assert sent is not None
    assert (sent["status"], sent["recipient"], sent["body"]) == ("sent", None, None)
    view = (await client.get(f"/requests/{request_id}", headers=headers(learner))).json()
    assert view["notice"] == "sent"
    # Exactly once.
    assert await mail_sender(runtime).send_due() == 0
    assert len(reader.to(address)) == 1


async def test_an_erasure_with_nothing_kept_sends_nothing_and_forgets_the_address(
    notice_runtime: Runtime,
    client: httpx.AsyncClient,
    headers: Callable[[Principal], dict[str, str]],
    mail_sink: Any,
) -> None:
    runtime = notice_runtime
    learner, address = _learner(), _address()
    request = await _file(client, headers(learner), notify_email=address)
    request_id = UUID(request["request_id"])
    stored = await _notice_row(runtime, request_id)

    await _answer_all(runtime, request_id, learner.subject_ref, kept=False)

    view = (await client.get(f"/requests/{request_id}", headers=headers(learner))).json()
    assert (view["state"], view["notice"]) == ("completed", "not_needed")
    assert (await _record(runtime, request_id))["notices"] == []
    assert await mail_sender(runtime).send_due() == 0
    async with runtime.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM mail_outbox") == 0
    assert mail_reader.MailReader(mail_sink.maildir).to(address) == []
    ended = await _notice_row(runtime, request_id)
    assert (ended["address"], ended["mail_id"]) == (None, None)
    assert runtime.deps.keyring is not None
    assert await runtime.deps.keyring.decrypt(stored["key_ref"], stored["address"]) is Erased()


async def test_without_an_address_the_record_names_no_notice(
    notice_runtime: Runtime,
    client: httpx.AsyncClient,
    headers: Callable[[Principal], dict[str, str]],
) -> None:
    learner = _learner()
    request = await _file(client, headers(learner))
    assert request["notice"] == "no_address"
    request_id = UUID(request["request_id"])

    await _answer_all(notice_runtime, request_id, learner.subject_ref, kept=True)

    view = (await client.get(f"/requests/{request_id}", headers=headers(learner))).json()
    assert (view["state"], view["notice"]) == ("partially_completed", "no_address")
    document = await _record(notice_runtime, request_id)
    assert document["notices"] == []
    assert len(document["kept"]) == 1
    async with notice_runtime.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM mail_outbox") == 0


async def test_a_rejected_forwarded_request_sends_nothing_and_forgets_the_address(
    notice_runtime: Runtime,
    client: httpx.AsyncClient,
    headers: Callable[[Principal], dict[str, str]],
) -> None:
    organisation = uuid4()
    contact = Principal(
        user_id=str(uuid4()),
        subject_ref="subj_" + uuid4().hex,
        organisation_id=str(organisation),
        roles=frozenset({Role.CONTACT_PERSON}),
    )
    employee = _learner()
    request = await _file(
        client, headers(contact), subject_ref=employee.subject_ref, notify_email=_address()
    )
    assert (request["state"], request["notice"]) == ("awaiting_controller", "waiting")
    request_id = UUID(request["request_id"])
    stored = await _notice_row(notice_runtime, request_id)

    rejected = await client.post(
        f"/requests/{request_id}/reject", json={"reason": "excessive"}, headers=headers(contact)
    )
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["state"], rejected.json()["notice"]) == ("rejected", "not_needed")
    ended = await _notice_row(notice_runtime, request_id)
    assert (ended["address"], ended["mail_id"]) == (None, None)
    assert notice_runtime.deps.keyring is not None
    assert await notice_runtime.deps.keyring.decrypt(stored["key_ref"], stored["address"]) is (
        Erased()
    )
    async with notice_runtime.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM mail_outbox") == 0


@pytest.mark.parametrize(
    "bad", ["a@example.no\r\nBcc: b@example.no", "no-at-sign", "Kari <k@example.no>", "a@b"]
)
async def test_an_address_that_cannot_be_mailed_is_refused_and_nothing_is_written(
    notice_runtime: Runtime,
    client: httpx.AsyncClient,
    headers: Callable[[Principal], dict[str, str]],
    bad: str,
) -> None:
    refused = await client.post(
        "/requests",
        json={"kind": "erasure", "notify_email": bad},
        headers=headers(_learner()),
    )
    assert refused.status_code == 422, refused.text
    async with notice_runtime.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM requests") == 0
        assert await conn.fetchval("SELECT count(*) FROM request_notices") == 0


# --- a deadline extension and a ready access export are told too (R10, R14) ---


def _staff() -> Principal:
    return Principal(
        user_id=str(uuid4()),
        subject_ref="subj_" + uuid4().hex,
        organisation_id=None,
        roles=frozenset({Role.PLATFORM_STAFF}),
    )


async def test_a_deadline_extension_tells_the_person_the_new_date_and_why(
    notice_runtime: Runtime,
    client: httpx.AsyncClient,
    headers: Callable[[Principal], dict[str, str]],
    mail_sink: Any,
) -> None:
    runtime = notice_runtime
    learner, address = _learner(), _address()
    request = await _file(client, headers(learner), notify_email=address)
    request_id = UUID(request["request_id"])
    staff = headers(_staff())
    extended = await client.post(
        f"/requests/{request_id}/extend-deadline",
        json={"months": 2, "reason": "number_of_requests"},
        headers=staff,
    )
    assert extended.status_code == 200, extended.text
    deadline = extended.json()["deadline"]
    # The address stays for the request's end (a kept-data notice may follow).
    assert extended.json()["notice"] == "waiting"
    assert (await _notice_row(runtime, request_id))["address"] is not None

    assert await mail_sender(runtime).send_due() == 1
    reader = mail_reader.MailReader(mail_sink.maildir)
    [mail] = await reader.wait_for(address)
    text = mail.text
    assert deadline in text  # the new date
    assert "mange forespørsler" in text  # why, in plain words
    assert learner.subject_ref not in text

    await _answer_all(runtime, request_id, learner.subject_ref, kept=False)
    document = await _record(runtime, request_id)
    [notice] = document["notices"]
    assert notice["kind"] == "deadline_extended"
    assert mail.message["Message-ID"] == f"<{notice['reference']}@byggrygg.no>"
    assert document["reason"] == "deadline_extended:number_of_requests"
    assert len(reader.to(address)) == 1  # nothing kept: no second mail


async def test_an_extension_without_an_address_sends_nothing(
    notice_runtime: Runtime,
    client: httpx.AsyncClient,
    headers: Callable[[Principal], dict[str, str]],
) -> None:
    learner = _learner()
    request = await _file(client, headers(learner))
    staff = headers(_staff())
    extended = await client.post(
        f"/requests/{request['request_id']}/extend-deadline",
        json={"months": 1, "reason": "complexity"},
        headers=staff,
    )
    assert extended.status_code == 200, extended.text
    async with notice_runtime.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM mail_outbox") == 0


async def test_a_ready_access_export_is_told_with_its_link_never_the_data(
    notice_runtime: Runtime,
    client: httpx.AsyncClient,
    headers: Callable[[Principal], dict[str, str]],
    mail_sink: Any,
) -> None:
    runtime = notice_runtime
    keyring = runtime.deps.keyring
    assert keyring is not None
    learner, address = _learner(), _address()
    request = await _file(client, headers(learner), kind="access", notify_email=address)
    request_id = UUID(request["request_id"])
    for participant in PARTICIPANTS:
        part = await keyring.encrypt(
            learner.subject_ref, json.dumps({"name": "Kari Nordmann", "from": participant})
        )
        reply = ParticipantReplied(
            request_id=request_id,
            participant=participant,  # type: ignore[arg-type]
            command="export",
            subject_ref=learner.subject_ref,
            outcome="completed",
            evidence=[Evidence(location="table users.name", action="exported", count=1)],
            export=part,
            replied_at=datetime.now(UTC),
        )
        received = ReceivedEvent(
            id=str(uuid4()),
            type=reply.ce_type(),
            source=participant,
            subject=None,
            time=None,
            correlation_id=str(request_id),
            causation_id=None,
            tenant_id=None,
            data=reply.model_dump(mode="json"),
        )
        assert await requests.record_reply(runtime.deps, reply, received)

    view = (await client.get(f"/requests/{request_id}", headers=headers(learner))).json()
    assert (view["state"], view["notice"]) == ("completed", "queued")
    [notice] = (await _record(runtime, request_id))["notices"]
    assert notice["kind"] == "export_ready"
    assert await mail_sender(runtime).send_due() == 1
    [mail] = await mail_reader.MailReader(mail_sink.maildir).wait_for(address)
    text = mail.text
    assert f"{runtime.deps.callback_base_url}/requests/{request_id}/export" in text
    async with runtime.pool.acquire() as conn:
        expires_at = await conn.fetchval(
            "SELECT expires_at FROM access_exports WHERE request_id = $1", request_id
        )
    assert expires_at.date().isoformat() in text
    for absent in ("Kari", "Nordmann", learner.subject_ref):
        assert absent not in text
    # The export itself is there for the person, behind their login.
    answer = await client.get(f"/requests/{request_id}/export", headers=headers(learner))
    assert answer.status_code == 200, answer.text
