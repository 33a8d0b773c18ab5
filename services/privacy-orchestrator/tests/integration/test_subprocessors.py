"""Sub-processors end to end (R12, R13) against a REAL simulator process: the orchestrator app is
served for real on a free port so the simulator can call back; the delivery worker runs as in a
served process. Signed request -> signed callback -> confirmation recorded; a wrong signature,
a replay, a stale or malformed callback refused and counted; a failing sub-processor retried,
then escalated; HeiHallo registered on first start; the register's staff API.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import socket
import sys
import time
import types
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from byggrygg_shared.auth import Role, TokenIssuer, TokenVerifier
from byggrygg_shared.background import running
from byggrygg_shared.db import transaction
from byggrygg_shared.metrics import webhook_rejections_total
from byggrygg_shared.webhooks import WebhookSigner, generate_secret
from privacy_orchestrator.bootstrap import Runtime, build_runtime, close_runtime, install
from privacy_orchestrator.domain.subprocessors import (
    HEIHALLO_ORGANISATION_NUMBER,
    DeliveryPolicy,
    PrivacyAction,
)
from privacy_orchestrator.entrypoints.api import create_app
from privacy_orchestrator.service_layer.subprocessors import (
    DeliveryWorker,
    confirmations_for,
    deliveries_by_state,
    send_privacy_request,
)
from privacy_orchestrator.settings import OrchestratorSettings

from ....service_testing import MovableClock, asgi_client, assert_problem

DEADLINE_S = 30.0
Headers = Callable[..., dict[str, str]]


def _repo_tests() -> types.ModuleType:
    """The repository's tests/subprocessor_sim_process.py (tests/ is a namespace package that
    pytest names only when it collects it; service tests load it by its path)."""
    root = Path(__file__).resolve().parents[4]
    package = types.ModuleType("tests")
    package.__path__ = [str(root / "tests")]
    sys.modules.setdefault("tests", package)
    return importlib.import_module("tests.subprocessor_sim_process")


sim_process = _repo_tests()


class _Server(uvicorn.Server):
    """uvicorn inside the test's event loop: the test runner keeps its signal handlers."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """``app`` served over real HTTP on a free loopback port; its base URL."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = int(listener.getsockname()[1])
    server = _Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        deadline = time.monotonic() + DEADLINE_S
        while not server.started:
            assert not task.done(), "server stopped"
            assert time.monotonic() < deadline, "server did not start"
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        listener.close()


async def eventually(check: Callable[[], Any], what: str) -> Any:
    """Poll ``await check()`` until it returns something truthy (generous deadline)."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        found = await check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"never happened: {what}")
        await asyncio.sleep(0.05)


FAST = DeliveryPolicy(
    max_attempts=3,
    first_backoff=timedelta(milliseconds=20),
    max_backoff=timedelta(milliseconds=100),
    timeout=timedelta(seconds=5),
)


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[Any]:
    async with sim_process.running_subprocessor_sim(tmp_path / "sim", backoff_s=0.02) as process:
        yield process


@pytest.fixture
async def live(
    settings: OrchestratorSettings, issuer: TokenIssuer, sim: Any
) -> AsyncIterator[tuple[Runtime, str]]:
    """The orchestrator with HeiHallo pointed at the simulator, served, its worker running."""
    workdir = sim.log_file.parent
    configured = settings.model_copy(
        update={
            "subprocessor_sim_url": sim.base_url,
            "subprocessor_sim_orchestrator_secret_file": workdir / "orchestrator.whsec",
            "subprocessor_sim_secret_file": workdir / "sim.whsec",
        }
    )
    runtime = await build_runtime(
        configured,
        verifier=TokenVerifier.from_public_keys([issuer.public_key]),
        delivery_policy=FAST,
    )
    app = create_app()
    install(app, runtime)
    worker = DeliveryWorker(runtime.subprocessors, poll_interval=0.02)
    try:
        async with (
            served(app) as base_url,
            running({"deliveries": worker.run}, service="test", shutdown_timeout=10.0),
        ):
            yield runtime, base_url
    finally:
        await close_runtime(runtime)


async def heihallo_id(runtime: Runtime) -> UUID:
    async with runtime.pool.acquire() as conn:
        found = await conn.fetchval(
            "SELECT id FROM subprocessors WHERE organisation_number = $1",
            HEIHALLO_ORGANISATION_NUMBER,
        )
    return UUID(str(found))


async def send(
    runtime: Runtime, base_url: str, *, action: PrivacyAction = PrivacyAction.ERASURE
) -> tuple[UUID, UUID, str]:
    """Queue a request to HeiHallo as the workflow will; (subprocessor, request, subject)."""
    subprocessor = await heihallo_id(runtime)
    request_id, subject = uuid4(), "subj_" + uuid4().hex
    async with transaction(runtime.pool) as conn:
        await send_privacy_request(
            conn,
            runtime.subprocessors,
            subprocessor,
            request_id=request_id,
            action=action,
            subject_ref=subject,
            callback_url=f"{base_url}/subprocessors/{subprocessor}/callbacks",
        )
    return subprocessor, request_id, subject


async def delivery_rows(runtime: Runtime, request_id: UUID) -> list[Any]:
    async with runtime.pool.acquire() as conn:
        return list(
            await conn.fetch(
                "SELECT d.state, d.attempts, d.escalation_reason,"
                " array_agg(a.outcome ORDER BY a.attempt) AS outcomes,"
                " array_agg(a.status ORDER BY a.attempt) AS statuses"
                " FROM subprocessor_deliveries d"
                " LEFT JOIN subprocessor_delivery_attempts a ON a.delivery_id = d.id"
                " WHERE d.request_id = $1 GROUP BY d.id",
                request_id,
            )
        )


def rejections(reason: str) -> float:
    return float(webhook_rejections_total.labels(reason=reason)._value.get())


async def test_heihallo_is_registered_on_first_start_and_shown_without_secrets(
    http: httpx.AsyncClient, runtime: Runtime, token_for: Headers, settings: OrchestratorSettings
) -> None:
    # A second start registers nothing new.
    again = await build_runtime(settings, verifier=runtime.verifier)
    await close_runtime(again)
    answer = await http.get("/subprocessors", headers=token_for(Role.PLATFORM_STAFF))
    assert answer.status_code == 200, answer.text
    [entry] = answer.json()
    assert entry["name"] == "HeiHallo (Anders Heim)"
    assert entry["organisation_number"] == "992797010"
    assert entry["data_categories"] == ["identity", "contact"]
    assert entry["endpoint_url"].endswith("/privacy-requests")
    assert entry["agreement_reference"]
    assert entry["agreement_date"]
    assert "whsec_" not in answer.text
    one = await http.get(f"/subprocessors/{entry['id']}", headers=token_for(Role.PLATFORM_STAFF))
    assert one.headers["etag"] == '"1"'


async def test_a_request_is_signed_accepted_and_confirmed_by_callback(
    live: tuple[Runtime, str], sim: Any
) -> None:
    runtime, base_url = live
    subprocessor, request_id, subject = await send(runtime, base_url)

    async def confirmed() -> list[Any]:
        async with runtime.pool.acquire() as conn:
            return await confirmations_for(conn, request_id)

    [confirmation] = await eventually(confirmed, "HeiHallo's confirmation")
    assert confirmation.subprocessor_id == subprocessor
    assert confirmation.action is PrivacyAction.ERASURE
    assert confirmation.outcome in {"erased", "not_held"}
    assert confirmation.organisation_number == "992797010"
    [row] = await delivery_rows(runtime, request_id)
    assert (row["state"], row["attempts"], row["outcomes"]) == ("confirmed", 1, ["accepted"])
    received = await sim.received()
    assert [r["request_id"] for r in received["accepted"]] == [str(request_id)]
    assert subject not in (await httpx.AsyncClient().get(f"{base_url}/metrics")).text


async def test_a_wrongly_signed_callback_is_refused_counted_and_not_recorded(
    live: tuple[Runtime, str], sim: Any
) -> None:
    runtime, base_url = live
    await sim.set_mode("wrong-signature")
    before = rejections("bad_signature")
    _, request_id, _ = await send(runtime, base_url)
    state = await sim.wait_for_callback(str(request_id), lambda c: c["outcome"] != "pending")
    assert state["last_status"] == 401
    assert rejections("bad_signature") >= before + 1
    async with runtime.pool.acquire() as conn:
        assert await confirmations_for(conn, request_id) == []
        assert await conn.fetchval("SELECT count(*) FROM webhook_receipts") == 0
    [row] = await delivery_rows(runtime, request_id)
    assert row["state"] == "delivered"


async def test_a_failing_subprocessor_is_retried_then_escalated(
    live: tuple[Runtime, str], sim: Any, token_for: Headers
) -> None:
    runtime, base_url = live
    await sim.set_mode("fail")
    _, request_id, _ = await send(runtime, base_url)

    async def escalated() -> list[Any]:
        rows = await delivery_rows(runtime, request_id)
        return [r for r in rows if r["state"] == "escalated"]

    [row] = await eventually(escalated, "escalation after the retries")
    assert row["attempts"] == FAST.max_attempts
    assert row["escalation_reason"] == "attempts_exhausted"
    assert row["outcomes"] == ["retry"] * FAST.max_attempts
    assert row["statuses"] == [500] * FAST.max_attempts
    await eventually(lambda: _gauge_at_least("escalated", 1), "the escalated gauge")
    async with asgi_client(_app_of(runtime), "privacy-orchestrator") as http:
        answer = await http.get(
            "/subprocessors/deliveries",
            params={"state": "escalated", "request_id": str(request_id)},
            headers=token_for(Role.PLATFORM_STAFF),
        )
    assert answer.status_code == 200, answer.text
    [shown] = answer.json()
    assert shown["escalation_reason"] == "attempts_exhausted"
    assert [a["status"] for a in shown["attempt_log"]] == [500] * FAST.max_attempts
    assert "subject_ref" not in shown


async def _gauge_at_least(state: str, value: int) -> bool:
    return float(deliveries_by_state.labels(state=state)._value.get()) >= value


def _app_of(runtime: Runtime) -> FastAPI:
    app = create_app()
    install(app, runtime)
    return app


def _signed(
    secret: str, payload: dict[str, Any], *, webhook_id: str | None = None, **signer: Any
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    sign = WebhookSigner([secret], **signer)
    return body, sign.headers(body, webhook_id=webhook_id or sign.new_id())


def _confirmation(request_id: UUID, subject: str) -> dict[str, Any]:
    return {
        "type": "privacy.erasure.completed",
        "timestamp": "2026-11-25T10:00:00+00:00",
        "data": {
            "request_id": str(request_id),
            "subject_ref": subject,
            "action": "erasure",
            "outcome": "erased",
            "counts": {"records": 1, "fields": 4},
            "completed_at": "2026-11-25T10:00:00+00:00",
            "processor": {"name": "HeiHallo (Anders Heim)", "organisation_number": "992 797 010"},
        },
    }


@pytest.fixture
async def callback_secret(runtime: Runtime, tmp_path: Path) -> str:
    """HeiHallo's callback secret file points at a fresh secret of the test's."""
    secret = generate_secret()
    path = tmp_path / "callback.whsec"
    path.write_text(secret + "\n", encoding="utf-8")
    async with runtime.pool.acquire() as conn:
        await conn.execute(
            "UPDATE subprocessors SET callback_secret_file = $1 WHERE organisation_number = $2",
            str(path),
            HEIHALLO_ORGANISATION_NUMBER,
        )
    return secret


async def test_a_replayed_callback_is_409_and_recorded_once(
    http: httpx.AsyncClient, runtime: Runtime, callback_secret: str
) -> None:
    subprocessor, request_id, subject = await send(runtime, "http://127.0.0.1:9")
    body, headers = _signed(callback_secret, _confirmation(request_id, subject))
    url = f"/subprocessors/{subprocessor}/callbacks"
    first = await http.post(url, content=body, headers=headers)
    assert first.status_code == 204, first.text
    before = rejections("replayed")
    assert_problem(await http.post(url, content=body, headers=headers), 409)
    assert rejections("replayed") == before + 1
    async with runtime.pool.acquire() as conn:
        [confirmation] = await confirmations_for(conn, request_id)
    assert (confirmation.records, confirmation.fields) == (1, 4)
    [row] = await delivery_rows(runtime, request_id)
    assert row["state"] == "confirmed"


async def test_stale_malformed_unknown_and_forged_callbacks_are_refused(
    http: httpx.AsyncClient, runtime: Runtime, callback_secret: str
) -> None:
    subprocessor, request_id, subject = await send(runtime, "http://127.0.0.1:9")
    url = f"/subprocessors/{subprocessor}/callbacks"
    payload = _confirmation(request_id, subject)
    before = {r: rejections(r) for r in ("stale_timestamp", "malformed", "bad_signature")}

    old = runtime.subprocessors.clock() - timedelta(minutes=10)
    body, headers = _signed(callback_secret, payload, clock=lambda: old)
    assert_problem(await http.post(url, content=body, headers=headers), 401)
    assert_problem(await http.post(url, content=body), 400)
    body, headers = _signed(callback_secret, {"type": "x", "data": {}})
    assert_problem(await http.post(url, content=body, headers=headers), 400)
    body, headers = _signed(generate_secret(), payload)
    assert_problem(await http.post(url, content=body, headers=headers), 401)
    body, headers = _signed(callback_secret, _confirmation(uuid4(), subject))
    assert_problem(await http.post(url, content=body, headers=headers), 422)
    body, headers = _signed(callback_secret, payload)
    assert_problem(
        await http.post(f"/subprocessors/{uuid4()}/callbacks", content=body, headers=headers), 404
    )

    assert rejections("stale_timestamp") == before["stale_timestamp"] + 1
    assert rejections("malformed") == before["malformed"] + 2
    assert rejections("bad_signature") == before["bad_signature"] + 1
    async with runtime.pool.acquire() as conn:
        assert await confirmations_for(conn, request_id) == []
        assert await conn.fetchval("SELECT count(*) FROM webhook_receipts") == 0


def _entry(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": "Postkontoret AS",
        "organisation_number": "923 609 016",
        "data_categories": ["contact"],
        "agreement_reference": "DPA-2026-7",
        "agreement_date": "2026-01-01",
        "endpoint_url": "https://example.invalid/privacy",
        "signing_secret_file": "/secrets/out.whsec",
        "callback_secret_file": "/secrets/in.whsec",
    }
    values.update(changes)
    return values


async def test_staff_add_and_change_entries_with_if_match(
    http: httpx.AsyncClient, token_for: Headers
) -> None:
    staff = token_for(Role.PLATFORM_STAFF)
    created = await http.post("/subprocessors", json=_entry(), headers=staff)
    assert created.status_code == 201, created.text
    entry = created.json()
    assert entry["organisation_number"] == "923609016"
    assert created.headers["etag"] == '"1"'
    url = f"/subprocessors/{entry['id']}"
    assert_problem(await http.post("/subprocessors", json=_entry(), headers=staff), 409)
    changed = _entry(data_categories=["contact", "identity"])
    assert_problem(await http.put(url, json=changed, headers=staff), 428)
    updated = await http.put(url, json=changed, headers={**staff, "If-Match": '"1"'})
    assert updated.status_code == 200, updated.text
    assert updated.json()["data_categories"] == ["contact", "identity"]
    assert updated.headers["etag"] == '"2"'
    assert_problem(await http.put(url, json=changed, headers={**staff, "If-Match": '"1"'}), 409)
    taken = _entry(organisation_number=HEIHALLO_ORGANISATION_NUMBER)
    assert_problem(await http.put(url, json=taken, headers={**staff, "If-Match": '"2"'}), 409)
    assert_problem(await http.get(f"/subprocessors/{uuid4()}", headers=staff), 404)


@pytest.mark.parametrize(
    "changes",
    [
        {"organisation_number": "992797011"},  # wrong check digit
        {"organisation_number": "99279701"},
        {"data_categories": []},
        {"data_categories": ["horoscope"]},
        {"endpoint_url": "ftp://example.invalid"},
    ],
)
async def test_invalid_entries_are_422(
    http: httpx.AsyncClient, token_for: Headers, changes: dict[str, Any]
) -> None:
    answer = await http.post(
        "/subprocessors", json=_entry(**changes), headers=token_for(Role.PLATFORM_STAFF)
    )
    assert_problem(answer, 422)


@pytest.mark.parametrize("role", [Role.LEARNER, Role.ORG_ADMIN, Role.CONTACT_PERSON])
async def test_only_staff_see_the_register(
    http: httpx.AsyncClient, token_for: Headers, role: Role
) -> None:
    assert_problem(await http.get("/subprocessors", headers=token_for(role)), 403)
    assert_problem(await http.get("/subprocessors"), 401)
    assert_problem(await http.post("/subprocessors", json=_entry(), headers=token_for(role)), 403)


async def test_past_the_deadline_a_request_is_escalated_without_sending(
    runtime: Runtime,
) -> None:
    clock = MovableClock()
    ctx = replace(runtime.subprocessors, clock=clock)
    subprocessor = await heihallo_id(runtime)
    request_id = uuid4()
    async with transaction(runtime.pool) as conn:
        await send_privacy_request(
            conn,
            ctx,
            subprocessor,
            request_id=request_id,
            action=PrivacyAction.ERASURE,
            subject_ref="subj_" + uuid4().hex,
            callback_url="http://127.0.0.1:9/callbacks",
        )
    clock.advance(ctx.policy.delivery_deadline + timedelta(seconds=1))
    assert await DeliveryWorker(ctx).deliver_due() == 1
    [row] = await delivery_rows(runtime, request_id)
    assert (row["state"], row["escalation_reason"], row["attempts"]) == ("escalated", "deadline", 0)


async def test_an_accepted_request_never_confirmed_is_escalated(runtime: Runtime) -> None:
    clock = MovableClock()
    ctx = replace(runtime.subprocessors, clock=clock)
    _, request_id, _ = await send(runtime, "http://127.0.0.1:9")
    async with runtime.pool.acquire() as conn:
        await conn.execute(
            "UPDATE subprocessor_deliveries SET state = 'delivered', delivered_at = $2"
            " WHERE request_id = $1",
            request_id,
            clock(),
        )
    await DeliveryWorker(ctx).deliver_due()
    assert (await delivery_rows(runtime, request_id))[0]["state"] == "delivered"
    clock.advance(ctx.policy.confirmation_deadline + timedelta(seconds=1))
    await DeliveryWorker(ctx).deliver_due()
    [row] = await delivery_rows(runtime, request_id)
    assert (row["state"], row["escalation_reason"]) == ("escalated", "no_confirmation")


async def test_sending_twice_queues_one_delivery(runtime: Runtime) -> None:
    subprocessor, request_id, subject = await send(runtime, "http://127.0.0.1:9")
    async with transaction(runtime.pool) as conn:
        again = await send_privacy_request(
            conn,
            runtime.subprocessors,
            subprocessor,
            request_id=request_id,
            action=PrivacyAction.ERASURE,
            subject_ref=subject,
            callback_url="http://127.0.0.1:9/callbacks",
        )
    async with runtime.pool.acquire() as conn:
        ids = await conn.fetch("SELECT id FROM subprocessor_deliveries")
    assert [row["id"] for row in ids] == [again]
