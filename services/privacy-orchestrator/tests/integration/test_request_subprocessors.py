"""Sub-processors inside the request workflow (R13) and rectification (R15), against the REAL
simulator process (HeiHallo), real PostgreSQL and real Kafka: the orchestrator app is served
on a real port (its public URL is where HeiHallo calls back), the delivery worker and the
replies' subscriber run as in a served process.

- an erasure completes only once HeiHallo has confirmed, even with every participant's reply
  in; the completion record lists HeiHallo with its attempts and times;
- with HeiHallo failing, the delivery is escalated, the request shows it and never completes;
- a rectification reaches the participants as key-ring tokens of the corrected values and
  HeiHallo as the plain values of its categories, which it applies;
- an access export holds every participant's part and HeiHallo's record (sealed on arrival);
- a callback lost on our side (refused, as while the orchestrator is down) is recovered: the
  accepted but unconfirmed request is sent again as a new message and the request completes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import uvicorn
from fastapi import FastAPI

from byggrygg_shared.auth import Principal, Role, TokenIssuer, TokenVerifier
from byggrygg_shared.background import running
from byggrygg_shared.contracts.privacy import Evidence
from privacy_orchestrator.bootstrap import Runtime, build_runtime, close_runtime, install
from privacy_orchestrator.domain.subprocessors import DeliveryPolicy
from privacy_orchestrator.entrypoints.api import create_app
from privacy_orchestrator.service_layer.subprocessors import DeliveryWorker
from privacy_orchestrator.settings import OrchestratorSettings

from .support import FAST_BACKOFF, eventually, on_topics, own_topics, person, produce
from .test_requests import PARTICIPANTS, commands_of, reply_record
from .test_subprocessors import FAST, sim_process

DEADLINE_S = 60.0


class _Server(uvicorn.Server):
    """uvicorn inside the test's event loop: the test runner keeps its signal handlers."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def served_on(app: FastAPI, listener: socket.socket) -> AsyncIterator[None]:
    server = _Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        deadline = time.monotonic() + DEADLINE_S
        while not server.started:
            assert not task.done(), "server stopped"
            assert time.monotonic() < deadline, "server did not start"
            await asyncio.sleep(0.01)
        yield
    finally:
        server.should_exit = True
        await task


def sub_states(found: dict[str, Any]) -> list[str]:
    return [s["state"] for s in found["sub_processors"]]


def all_replied(found: dict[str, Any]) -> bool:
    return all(p["replied"] for p in found["participants"].values())


@dataclass
class Live:
    runtime: Runtime
    http: httpx.AsyncClient  # the served app, over real HTTP
    sim: Any
    issuer: TokenIssuer
    replies_topic: str
    kafka_bootstrap: str
    worker: DeliveryWorker

    def headers(self, principal: Principal) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.issuer.issue(principal)}"}

    async def reply_all(
        self,
        request_id: UUID,
        subject: str,
        command: str,
        action: str,
        exports: dict[str, str] | None = None,
    ) -> None:
        """Every participant's reply, published on the replies topic as their relays do."""
        await produce(
            self.kafka_bootstrap,
            [
                reply_record(
                    self.replies_topic,
                    request_id,
                    subject,
                    participant,
                    [Evidence(location=f"column {participant}.x", action=action, count=1)],  # type: ignore[arg-type]
                    command=command,
                    export=(exports or {}).get(participant),
                )
                for participant in PARTICIPANTS
            ],
        )

    async def request(self, request_id: UUID) -> dict[str, Any]:
        staff = self.headers(person(Role.PLATFORM_STAFF))
        answer = await self.http.get(f"/requests/{request_id}", headers=staff)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    async def file(self, requester: Principal, body: dict[str, Any]) -> UUID:
        """File a request as ``requester``; its id."""
        filed = await self.http.post("/requests", json=body, headers=self.headers(requester))
        assert filed.status_code == 201, filed.text
        return UUID(filed.json()["request_id"])

    async def until(
        self, request_id: UUID, check: Callable[[dict[str, Any]], bool], what: str
    ) -> dict[str, Any]:
        """Poll the request's view until ``check`` holds of it; that view."""

        async def holds() -> dict[str, Any] | None:
            found = await self.request(request_id)
            return found if check(found) else None

        return dict(await eventually(holds, what))

    async def until_completed(self, request_id: UUID, what: str) -> dict[str, Any]:
        return await self.until(request_id, lambda found: found["state"] == "completed", what)

    async def until_heihallo(self, request_id: UUID, state: str, what: str) -> dict[str, Any]:
        """Poll until HeiHallo (the one sub-processor) is in ``state``."""
        return await self.until(request_id, lambda found: sub_states(found) == [state], what)

    async def record(self, request_id: UUID) -> dict[str, Any] | None:
        async with self.runtime.pool.acquire() as conn:
            found = await self.runtime.deps.records.for_request(conn, request_id)
        return None if found is None else dict(found.entry()["record"])


@contextlib.asynccontextmanager
async def live_orchestrator(
    settings: OrchestratorSettings,
    issuer: TokenIssuer,
    workdir: Path,
    kafka_bootstrap: str,
    new_topic: Any,
    *,
    deliver: bool,
    policy: DeliveryPolicy = FAST,
) -> AsyncIterator[Live]:
    """The simulator, and the orchestrator served with HeiHallo pointing at it; the replies'
    subscriber runs; the delivery worker runs when ``deliver`` (else the test runs it)."""
    topics = await own_topics(new_topic)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    async with sim_process.running_subprocessor_sim(workdir / "sim", backoff_s=0.02) as sim:
        # Topics of this test's own: nothing else's events file requests here.
        configured = on_topics(settings, topics, kafka_bootstrap, "po-test").model_copy(
            update={
                "subprocessor_sim_url": sim.base_url,
                "subprocessor_sim_orchestrator_secret_file": workdir / "sim" / "orchestrator.whsec",
                "subprocessor_sim_secret_file": workdir / "sim" / "sim.whsec",
                "privacy_orchestrator_public_url": base_url,
            }
        )
        runtime = await build_runtime(
            configured,
            verifier=TokenVerifier.from_public_keys([issuer.public_key]),
            delivery_policy=policy,
            participants=PARTICIPANTS,  # reporting is installed too; replies come from these
        )
        app = create_app()
        install(app, runtime)
        worker = DeliveryWorker(runtime.subprocessors, poll_interval=0.02)
        workers = {"deliveries": worker.run} if deliver else {}
        try:
            async with (
                served_on(app, listener),
                runtime.subscriptions_for(backoff=FAST_BACKOFF).running(),
                running(workers, service="test", shutdown_timeout=10.0),
                httpx.AsyncClient(base_url=base_url, timeout=10.0) as http,
            ):
                yield Live(runtime, http, sim, issuer, topics.replies, kafka_bootstrap, worker)
        finally:
            await close_runtime(runtime)
            listener.close()


async def test_an_erasure_completes_only_after_heihallo_confirmed(
    settings: OrchestratorSettings,
    issuer: TokenIssuer,
    tmp_path: Path,
    kafka_bootstrap: str,
    new_topic: Any,
) -> None:
    async with live_orchestrator(
        settings, issuer, tmp_path, kafka_bootstrap, new_topic, deliver=False
    ) as live:
        learner = person(Role.LEARNER)
        await live.sim.seed(learner.subject_ref, {"name": "Kari Nordmann", "phone": "+47 400"})
        request_id = await live.file(learner, {"kind": "erasure"})
        await live.reply_all(request_id, learner.subject_ref, "erase", "erased")
        await live.until(request_id, all_replied, "every participant's reply")
        # Every participant has replied; HeiHallo has not even been sent the request yet.
        waiting = await live.request(request_id)
        assert waiting["state"] == "in_progress"
        assert sub_states(waiting) == ["pending"]
        assert await live.record(request_id) is None

        # The delivery worker sends the signed request; HeiHallo erases and calls back.
        async with running({"deliveries": live.worker.run}, service="t", shutdown_timeout=10.0):
            final = await live.until_completed(
                request_id, "completion after HeiHallo's confirmation"
            )
        [heihallo] = final["sub_processors"]
        assert heihallo["state"] == "confirmed"
        assert heihallo["attempts"] == 1
        assert heihallo["confirmed_at"] is not None
        assert await live.sim.held(learner.subject_ref) is None  # HeiHallo erased it
        record = await live.record(request_id)
        assert record is not None
        [reported] = record["sub_processors"]
        assert reported["name"] == "HeiHallo (Anders Heim)"
        assert reported["organisation_number"] == "992797010"
        assert reported["attempts"] == 1
        assert reported["outcome"] == "completed"
        assert reported["confirmed_at"] is not None
        assert reported["sent_at"] <= reported["confirmed_at"]
        assert reported["evidence"][0]["action"] == "erased"
        # The record was appended with the confirmation, after every participant's reply.
        assert all(p["replied_at"] <= reported["confirmed_at"] for p in record["participants"])


async def test_a_failing_heihallo_is_escalated_shown_and_the_request_never_completes(
    settings: OrchestratorSettings,
    issuer: TokenIssuer,
    tmp_path: Path,
    kafka_bootstrap: str,
    new_topic: Any,
) -> None:
    async with live_orchestrator(
        settings, issuer, tmp_path, kafka_bootstrap, new_topic, deliver=True
    ) as live:
        await live.sim.set_mode("fail")
        learner = person(Role.LEARNER)
        request_id = await live.file(learner, {"kind": "erasure"})
        await live.reply_all(request_id, learner.subject_ref, "erase", "erased")
        found = await live.until(
            request_id,
            lambda found: all_replied(found) and sub_states(found) == ["escalated"],
            "escalation with every reply in",
        )
        [heihallo] = found["sub_processors"]
        assert heihallo["escalation_reason"] == "attempts_exhausted"
        assert heihallo["attempts"] == FAST.max_attempts
        assert heihallo["escalated_at"] is not None
        assert found["state"] == "in_progress"
        assert found["completed_at"] is None
        # Nothing is left to try: the worker makes no further attempt, and it stays open.
        assert await live.worker.deliver_due() == 0
        assert (await live.request(request_id))["state"] == "in_progress"
        assert await live.record(request_id) is None
        staff = live.headers(person(Role.PLATFORM_STAFF))
        listed = await live.http.get("/requests", params={"escalated": "true"}, headers=staff)
        assert [r["request_id"] for r in listed.json()] == [str(request_id)]
        others = await live.http.get("/requests", params={"escalated": "false"}, headers=staff)
        assert str(request_id) not in [r["request_id"] for r in others.json()]


async def test_a_rectification_reaches_participants_as_tokens_and_heihallo_as_values(
    settings: OrchestratorSettings,
    issuer: TokenIssuer,
    tmp_path: Path,
    kafka_bootstrap: str,
    new_topic: Any,
) -> None:
    async with live_orchestrator(
        settings, issuer, tmp_path, kafka_bootstrap, new_topic, deliver=True
    ) as live:
        learner = person(Role.LEARNER)
        subject = learner.subject_ref
        await live.sim.seed(subject, {"name": "Kari Nordman", "phone": "+47 400 00 000"})
        corrections = {"name": " Kari Nordmann ", "phone": "+47 411 11 111", "language": "nn"}
        request_id = await live.file(learner, {"kind": "rectification", "corrections": corrections})

        # One RectifySubject per participant; the values travel as tokens under the key.
        commands = await commands_of(live.runtime.pool, str(request_id))
        assert [c["event_type"] for c in commands] == ["no.byggrygg.privacy.RectifySubject"] * 3
        keyring = live.runtime.deps.keyring
        assert keyring is not None
        for command in commands:
            tokens = command["payload"]["corrections"]
            assert set(tokens) == {"name", "phone", "language"}
            assert all(token.startswith("enc:v1:") for token in tokens.values())
            plain = {name: await keyring.decrypt(subject, t) for name, t in tokens.items()}
            assert plain == {"name": "Kari Nordmann", "phone": "+47 411 11 111", "language": "nn"}
        # The values are nowhere in plain text in the request's own history.
        async with live.runtime.pool.acquire() as conn:
            history = await conn.fetchval(
                "SELECT string_agg(payload::text, ' ') FROM request_events"
            )
        assert "Nordmann" not in history
        assert "411 11 111" not in history

        # HeiHallo (identity + contact) gets name and phone, not the language (profile).
        async def applied() -> dict[str, Any] | None:
            held = await live.sim.held(subject)
            return held if held and held.get("name") == "Kari Nordmann" else None

        held = await eventually(applied, "HeiHallo applying the corrections")
        assert held == {"name": "Kari Nordmann", "phone": "+47 411 11 111"}

        # Once HeiHallo's acceptance is recorded (just after it applied them), no copy is
        # kept here (R15).
        async def accepted() -> str | None:
            async with live.runtime.pool.acquire() as conn:
                row = await conn.fetchrow(
                    "SELECT state, changes FROM subprocessor_deliveries WHERE request_id = $1",
                    request_id,
                )
            return str(row["state"]) if row["state"] != "pending" else None

        assert await eventually(accepted, "HeiHallo's acceptance recorded") in {
            "delivered",
            "confirmed",
        }
        async with live.runtime.pool.acquire() as conn:
            changes = await conn.fetchval(
                "SELECT changes FROM subprocessor_deliveries WHERE request_id = $1", request_id
            )
        assert changes is None

        await live.reply_all(request_id, subject, "rectify", "rectified")
        final = await live.until_completed(request_id, "the rectification to complete")
        assert sub_states(final) == ["confirmed"]
        record = await live.record(request_id)
        assert record is not None
        assert record["request"]["kind"] == "rectification"
        [reported] = record["sub_processors"]
        assert reported["evidence"][0]["action"] == "rectified"
        assert reported["evidence"][0]["count"] == 2
        assert "Nordmann" not in str(record)


async def test_an_access_export_holds_the_participants_and_heihallos_parts(
    settings: OrchestratorSettings,
    issuer: TokenIssuer,
    tmp_path: Path,
    kafka_bootstrap: str,
    new_topic: Any,
) -> None:
    async with live_orchestrator(
        settings, issuer, tmp_path, kafka_bootstrap, new_topic, deliver=True
    ) as live:
        learner = person(Role.LEARNER)
        subject = learner.subject_ref
        await live.sim.seed(subject, {"name": "Kari Nordmann", "phone": "+47 400"})
        request_id = await live.file(learner, {"kind": "access"})
        await live.until_heihallo(
            request_id, "confirmed", "HeiHallo's confirmation with its export"
        )
        assert (await live.request(request_id))["state"] == "in_progress"
        keyring = live.runtime.deps.keyring
        assert keyring is not None
        parts = {p: await keyring.encrypt(subject, json.dumps({"table": p})) for p in PARTICIPANTS}
        await live.reply_all(request_id, subject, "export", "exported", parts)
        await live.until_completed(request_id, "the access request to complete")
        answer = await live.http.get(
            f"/requests/{request_id}/export", headers=live.headers(learner)
        )
        assert answer.status_code == 200, answer.text
        document = answer.json()
        assert document["services"] == {p: {"table": p} for p in PARTICIPANTS}
        assert document["sub_processors"] == {
            "HeiHallo (Anders Heim)": {"name": "Kari Nordmann", "phone": "+47 400"}
        }
        record = await live.record(request_id)
        assert record is not None
        [reported] = record["sub_processors"]
        assert reported["evidence"][0]["action"] == "exported"
        assert "Nordmann" not in str(record)


async def test_the_delivery_worker_wakes_at_the_commit_not_at_its_next_poll(
    settings: OrchestratorSettings,
    issuer: TokenIssuer,
    tmp_path: Path,
    kafka_bootstrap: str,
    new_topic: Any,
) -> None:
    async with live_orchestrator(
        settings, issuer, tmp_path, kafka_bootstrap, new_topic, deliver=False
    ) as live:
        # Polling once an hour: only the NOTIFY of the fan-out's commit can wake it in time.
        sleepy = DeliveryWorker(live.runtime.subprocessors, poll_interval=3600.0)
        async with running({"deliveries": sleepy.run}, service="t", shutdown_timeout=10.0):
            await asyncio.sleep(0)  # let it make its first (empty) pass and start waiting
            learner = person(Role.LEARNER)
            request_id = await live.file(learner, {"kind": "erasure"})
            await live.until_heihallo(
                request_id, "confirmed", "HeiHallo's confirmation without a poll"
            )


async def test_a_lost_confirmation_is_recovered_by_sending_the_request_again(
    settings: OrchestratorSettings,
    issuer: TokenIssuer,
    tmp_path: Path,
    kafka_bootstrap: str,
    new_topic: Any,
) -> None:
    policy = replace(FAST, resend_unconfirmed_after=timedelta(milliseconds=300))
    async with live_orchestrator(
        settings, issuer, tmp_path, kafka_bootstrap, new_topic, deliver=True, policy=policy
    ) as live:
        # HeiHallo's callbacks do not get through (as while the orchestrator is down): it
        # gives up on them; the delivery stays accepted and unconfirmed.
        await live.sim.set_mode("wrong-signature")
        learner = person(Role.LEARNER)
        request_id = await live.file(learner, {"kind": "erasure"})
        await live.sim.wait_for_callback(str(request_id), lambda c: c["outcome"] == "refused")
        await live.reply_all(request_id, learner.subject_ref, "erase", "erased")
        await live.sim.set_mode("normal")
        final = await live.until_completed(
            request_id, "completion after the request was sent again"
        )
        [heihallo] = final["sub_processors"]
        assert heihallo["state"] == "confirmed"
        accepted = [
            item
            for item in (await live.sim.received())["accepted"]
            if item["request_id"] == str(request_id)
        ]
        assert len(accepted) >= 2
        assert len({item["webhook_id"] for item in accepted}) == len(accepted)
        record = await live.record(request_id)
        assert record is not None
        [reported] = record["sub_processors"]
        assert reported["attempts"] >= 2
        assert reported["outcome"] == "completed"
