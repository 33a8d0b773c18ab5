"""The sub-processor simulator (HeiHallo) as a real process: signed requests in, signed callbacks.

Each test starts its own simulator (deploy/subprocessor_sim, fresh secrets, a free port) and a
real HTTP receiver that verifies the callbacks with byggrygg_shared.webhooks, as the
orchestrator does; every mode of docs/runbook.md is exercised, and the simulator is stopped by
its pid.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from byggrygg_shared.sources import utc_now
from byggrygg_shared.webhooks import generate_secret, read_secret_file

from ..platform_processes import free_port
from ..subprocessor_sim_process import (
    CallbackReceiver,
    SimProcess,
    callback_receiver,
    running_subprocessor_sim,
)

RECORD = {"name": "Kari Nordmann", "phone": "+47 912 34 567"}


def new_ref(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def send(
    sim: SimProcess,
    receiver: CallbackReceiver,
    action: str = "erasure",
    *,
    request_id: str | None = None,
    subject_ref: str,
    changes: dict[str, str] | None = None,
    webhook_id: str | None = None,
) -> httpx.Response:
    body = sim.request_body(
        action,
        request_id=request_id or new_ref("req"),
        subject_ref=subject_ref,
        callback_url=receiver.url,
        changes=changes,
    )
    return await sim.post_signed(body, webhook_id=webhook_id)


async def test_a_signed_erasure_is_done_and_confirmed_by_a_signed_callback(tmp_path: Path) -> None:
    async with (
        running_subprocessor_sim(tmp_path) as sim,
        callback_receiver(sim.secret) as receiver,
    ):
        subject = new_ref("subj")
        await sim.seed(subject, RECORD)
        response = await send(sim, receiver, request_id="req-erase-1", subject_ref=subject)
        assert response.status_code == 202, response.text
        assert response.json() == {"request_id": "req-erase-1", "status": "accepted"}

        [delivered] = await receiver.wait_for(1)
        assert delivered.payload["type"] == "privacy.erasure.completed"
        data = delivered.payload["data"]
        assert data["request_id"] == "req-erase-1"
        assert data["subject_ref"] == subject
        assert data["action"] == "erasure"
        assert data["outcome"] == "erased"
        assert data["counts"] == {"records": 1, "fields": 2}
        assert data["processor"] == {
            "name": "HeiHallo (Anders Heim)",
            "organisation_number": "992 797 010",
        }
        assert "completed_at" in data
        # The confirmation carries counts, never the erased data itself.
        assert "Kari" not in delivered.message.body.decode()
        assert await sim.held(subject) is None
        assert receiver.refused == []


async def test_a_badly_signed_request_gets_401_and_nothing_is_done(tmp_path: Path) -> None:
    async with (
        running_subprocessor_sim(tmp_path) as sim,
        callback_receiver(sim.secret) as receiver,
    ):
        subject = new_ref("subj")
        await sim.seed(subject, RECORD)
        body = sim.request_body(
            "erasure", request_id="req-forged", subject_ref=subject, callback_url=receiver.url
        )
        response = await sim.post_signed(body, secret=generate_secret())
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        unsigned = await sim.http.post("/privacy-requests", content=body)
        assert unsigned.status_code == 401

        # A correctly signed request afterwards is the only one acted on and confirmed.
        other = new_ref("subj")
        await sim.seed(other, RECORD)
        assert (await send(sim, receiver, subject_ref=other)).status_code == 202
        [delivered] = await receiver.wait_for(1)
        assert delivered.payload["data"]["subject_ref"] == other
        assert await sim.held(subject) == RECORD
        received = await sim.received()
        assert [item["request_id"] for item in received["accepted"]] == [
            delivered.payload["data"]["request_id"]
        ]
        assert received["refused"] == {"401": 2}
        assert receiver.attempts == [delivered.message.webhook_id]


async def test_a_stale_request_gets_401(tmp_path: Path) -> None:
    async with (
        running_subprocessor_sim(tmp_path) as sim,
        callback_receiver(sim.secret) as receiver,
    ):
        subject = new_ref("subj")
        await sim.seed(subject, RECORD)
        body = sim.request_body(
            "erasure", request_id="req-old", subject_ref=subject, callback_url=receiver.url
        )
        response = await sim.post_signed(body, clock=lambda: utc_now() - timedelta(minutes=10))
        assert response.status_code == 401
        assert await sim.held(subject) == RECORD
        assert (await sim.received())["accepted"] == []


async def test_a_replayed_request_is_refused_with_409_and_acted_on_once(tmp_path: Path) -> None:
    async with (
        running_subprocessor_sim(tmp_path) as sim,
        callback_receiver(sim.secret) as receiver,
    ):
        subject = new_ref("subj")
        await sim.seed(subject, RECORD)
        first = await send(sim, receiver, subject_ref=subject, webhook_id="msg_replayed")
        again = await send(sim, receiver, subject_ref=subject, webhook_id="msg_replayed")
        assert (first.status_code, again.status_code) == (202, 409)
        await receiver.wait_for(1)
        assert len((await sim.received())["accepted"]) == 1


async def test_a_request_sent_again_is_confirmed_under_the_same_callback_id(
    tmp_path: Path,
) -> None:
    # The orchestrator re-sends a request it escalated: a new webhook-id, the same request id.
    # The confirmation keeps its id, so the orchestrator's replay protection sees it once (409
    # counts as delivered for the simulator).
    async with (
        running_subprocessor_sim(tmp_path) as sim,
        callback_receiver(sim.secret) as receiver,
    ):
        subject = new_ref("subj")
        await sim.seed(subject, RECORD)
        assert (
            await send(sim, receiver, request_id="req-twice", subject_ref=subject)
        ).status_code == 202
        [first] = await receiver.wait_for(1)
        assert (
            await send(sim, receiver, request_id="req-twice", subject_ref=subject)
        ).status_code == 202
        # Both confirmations went out under the first one's id; the second was a replay (409).
        deadline = time.monotonic() + 30
        while len(receiver.attempts) < 2 or receiver.refused != ["replayed"]:
            assert time.monotonic() < deadline, "the second confirmation never came"
            await asyncio.sleep(0.05)
        assert receiver.attempts == [first.message.webhook_id] * 2
        while True:
            callbacks = [item["callback"] for item in (await sim.received())["accepted"]]
            if all(c["outcome"] == "delivered" for c in callbacks):
                break
            assert time.monotonic() < deadline, f"not all delivered: {callbacks}"
            await asyncio.sleep(0.05)
        assert [c["webhook_id"] for c in callbacks] == [first.message.webhook_id] * 2
        assert [c["last_status"] for c in callbacks] == [204, 409]
        assert receiver.refused == ["replayed"]
        assert len(receiver.accepted) == 1


async def test_rectification_changes_the_held_fields_and_counts_them(tmp_path: Path) -> None:
    async with (
        running_subprocessor_sim(tmp_path) as sim,
        callback_receiver(sim.secret) as receiver,
    ):
        subject = new_ref("subj")
        await sim.seed(subject, RECORD)
        changes = {"phone": "+47 400 00 000", "unknown_field": "x"}
        response = await send(sim, receiver, "rectification", subject_ref=subject, changes=changes)
        assert response.status_code == 202
        [delivered] = await receiver.wait_for(1)
        assert delivered.payload["type"] == "privacy.rectification.completed"
        assert delivered.payload["data"]["outcome"] == "rectified"
        assert delivered.payload["data"]["counts"] == {"records": 1, "fields": 1}
        assert await sim.held(subject) == {**RECORD, "phone": "+47 400 00 000"}


async def test_access_returns_what_is_held_about_the_subject_only(tmp_path: Path) -> None:
    async with (
        running_subprocessor_sim(tmp_path) as sim,
        callback_receiver(sim.secret) as receiver,
    ):
        subject, someone_else = new_ref("subj"), new_ref("subj")
        await sim.seed(subject, RECORD)
        await sim.seed(someone_else, {"name": "Ola Nordmann", "phone": "+47 999 99 999"})
        assert (await send(sim, receiver, "access", subject_ref=subject)).status_code == 202
        [delivered] = await receiver.wait_for(1)
        assert delivered.payload["data"]["outcome"] == "exported"
        assert delivered.payload["data"]["export"] == RECORD
        assert "Ola" not in delivered.message.body.decode()
        assert await sim.held(subject) == RECORD


async def test_an_erasure_of_a_subject_not_held_is_confirmed_as_not_held(tmp_path: Path) -> None:
    async with (
        running_subprocessor_sim(tmp_path) as sim,
        callback_receiver(sim.secret) as receiver,
    ):
        assert (await send(sim, receiver, subject_ref=new_ref("nobody"))).status_code == 202
        [delivered] = await receiver.wait_for(1)
        assert delivered.payload["data"]["outcome"] == "not_held"
        assert delivered.payload["data"]["counts"] == {"records": 0, "fields": 0}


async def test_a_signed_request_it_cannot_act_on_gets_422(tmp_path: Path) -> None:
    async with running_subprocessor_sim(tmp_path) as sim:
        response = await sim.post_signed(b'{"type": "privacy.erasure.requested", "data": {}}')
        assert response.status_code == 422
        response = await sim.post_signed(b"not json")
        assert response.status_code == 400
        assert (await sim.received())["accepted"] == []


async def test_mode_fail_answers_500_and_never_calls_back(tmp_path: Path) -> None:
    async with (
        running_subprocessor_sim(tmp_path, mode="fail") as sim,
        callback_receiver(sim.secret) as receiver,
    ):
        subject = new_ref("subj")
        await sim.seed(subject, RECORD)
        response = await send(sim, receiver, subject_ref=subject)
        assert response.status_code == 500
        assert await sim.held(subject) == RECORD
        received = await sim.received()
        assert received["accepted"] == []
        assert received["refused"] == {"500": 1}
        assert receiver.attempts == []


async def test_mode_delay_calls_back_after_the_delay(tmp_path: Path) -> None:
    async with (
        running_subprocessor_sim(tmp_path) as sim,
        callback_receiver(sim.secret) as receiver,
    ):
        subject = new_ref("subj")
        await sim.set_mode("delay=1.5", subject_ref=subject)
        started = time.monotonic()
        assert (await send(sim, receiver, subject_ref=subject)).status_code == 202
        [delivered] = await receiver.wait_for(1)
        # A lower bound only: the callback cannot come before the delay has passed.
        assert delivered.received_at - started >= 1.5
        [accepted] = (await sim.received())["accepted"]
        assert accepted["mode"] == "delay=1.5"


async def test_mode_wrong_signature_calls_back_with_a_signature_that_fails(
    tmp_path: Path,
) -> None:
    async with (
        running_subprocessor_sim(tmp_path, mode="wrong-signature") as sim,
        callback_receiver(sim.secret) as receiver,
    ):
        subject = new_ref("subj")
        await sim.seed(subject, RECORD)
        response = await send(sim, receiver, request_id="req-wrong", subject_ref=subject)
        assert response.status_code == 202
        state = await sim.wait_for_callback("req-wrong", lambda c: c["outcome"] != "pending")
        # The receiver refused it (401): a retry cannot fix a signature, so it is not repeated.
        assert state == {**state, "outcome": "refused", "last_status": 401, "attempts": 1}
        assert receiver.refused == ["bad_signature"]
        assert receiver.accepted == []


async def test_mode_fail_first_refuses_n_deliveries_with_503_then_works(tmp_path: Path) -> None:
    async with (
        running_subprocessor_sim(tmp_path) as sim,
        callback_receiver(sim.secret) as receiver,
    ):
        subject = new_ref("subj")
        await sim.seed(subject, RECORD)
        await sim.set_mode("fail-first=2")
        # The orchestrator's retries keep the message's webhook-id.
        statuses = [
            (await send(sim, receiver, subject_ref=subject, webhook_id="msg_ff")).status_code
            for _ in range(3)
        ]
        assert statuses == [503, 503, 202]
        await receiver.wait_for(1)
        assert await sim.held(subject) is None
        assert (await sim.received())["refused"] == {"503": 2}


async def test_a_mode_set_for_one_request_leaves_the_others_alone(tmp_path: Path) -> None:
    async with (
        running_subprocessor_sim(tmp_path) as sim,
        callback_receiver(sim.secret) as receiver,
    ):
        await sim.set_mode("fail", request_id="req-failing")
        failing = await send(sim, receiver, request_id="req-failing", subject_ref=new_ref("s"))
        working = await send(sim, receiver, request_id="req-working", subject_ref=new_ref("s"))
        assert (failing.status_code, working.status_code) == (500, 202)
        mode = (await sim.http.get("/admin/mode")).json()
        assert mode == {"default": "normal", "requests": {"req-failing": "fail"}, "subjects": {}}
        await receiver.wait_for(1)


async def test_an_unknown_mode_is_refused(tmp_path: Path) -> None:
    async with running_subprocessor_sim(tmp_path) as sim:
        for mode in ("sometimes", "delay=-1", "fail-first=x", "delay"):
            response = await sim.http.put("/admin/mode", json={"mode": mode})
            assert response.status_code == 400, mode


async def test_callbacks_are_retried_with_the_same_id_while_the_receiver_fails(
    tmp_path: Path,
) -> None:
    async with (
        running_subprocessor_sim(tmp_path) as sim,
        callback_receiver(sim.secret) as receiver,
    ):
        receiver.answers = [503, 500]
        assert (
            await send(sim, receiver, request_id="req-retry", subject_ref=new_ref("s"))
        ).status_code == 202
        [delivered] = await receiver.wait_for(1)
        assert receiver.attempts == [delivered.message.webhook_id] * 3
        state = await sim.wait_for_callback("req-retry", lambda c: c["outcome"] == "delivered")
        assert state["attempts"] == 3


async def test_a_callback_reaches_a_receiver_that_was_down_when_it_was_first_sent(
    tmp_path: Path,
) -> None:
    async with running_subprocessor_sim(tmp_path, backoff_s=0.2) as sim:
        port = free_port()
        body = sim.request_body(
            "erasure",
            request_id="req-down",
            subject_ref=new_ref("s"),
            callback_url=f"http://127.0.0.1:{port}/callbacks",
        )
        assert (await sim.post_signed(body)).status_code == 202
        # Nobody listens yet: the first attempt fails to connect.
        await sim.wait_for_callback("req-down", lambda c: c["attempts"] >= 1)
        async with callback_receiver(sim.secret, port=port) as receiver:
            [delivered] = await receiver.wait_for(1)
            assert delivered.payload["data"]["request_id"] == "req-down"
            state = await sim.wait_for_callback("req-down", lambda c: c["outcome"] == "delivered")
            assert state["attempts"] >= 2


async def test_the_holdings_survive_a_restart_through_the_state_file(tmp_path: Path) -> None:
    subject = new_ref("subj")
    async with running_subprocessor_sim(tmp_path) as sim:
        await sim.seed(subject, RECORD)
    async with running_subprocessor_sim(tmp_path) as restarted:
        assert await restarted.held(subject) == RECORD
    assert oct((tmp_path / "holdings.json").stat().st_mode & 0o777) == "0o600"


async def test_the_simulator_stops_cleanly_on_sigterm_to_its_pid(tmp_path: Path) -> None:
    async with running_subprocessor_sim(tmp_path) as sim:
        os.killpg(sim.pid, signal.SIGTERM)
        assert sim.process is not None
        assert await asyncio.wait_for(sim.process.wait(), timeout=30) == 0
        with pytest.raises(httpx.ConnectError):
            await sim.http.get("/healthz")


async def test_the_simulator_of_make_up_uses_the_secrets_named_in_run_env() -> None:
    # The wiring of secrets.sh, env.sh and subprocessor_sim.sh: the orchestrator's secret file
    # signs requests the running simulator accepts, its own secret file verifies its callbacks.
    url = os.environ.get("BYGGRYGG_SUBPROCESSOR_SIM_URL")
    own = os.environ.get("BYGGRYGG_SUBPROCESSOR_SIM_SECRET_FILE")
    orchestrator = os.environ.get("BYGGRYGG_SUBPROCESSOR_SIM_ORCHESTRATOR_SECRET_FILE")
    if not (url and own and orchestrator):
        pytest.fail("run `make up` and export .run/env (make test does both)", pytrace=False)
    async with httpx.AsyncClient(base_url=url, timeout=10.0) as http:
        try:
            await http.get("/healthz")
        except httpx.ConnectError:
            pytest.fail(f"no simulator at {url}: run `make up`", pytrace=False)
        sim = SimProcess(
            base_url=url,
            pid=0,
            secret=read_secret_file(Path(own))[0],
            orchestrator_secret=read_secret_file(Path(orchestrator))[0],
            secret_file=Path(own),
            orchestrator_secret_file=Path(orchestrator),
            log_file=Path(os.devnull),
            process=None,
            http=http,
        )
        async with callback_receiver(sim.secret) as receiver:
            subject, request_id = new_ref("make-up-subj"), new_ref("make-up-req")
            await sim.seed(subject, RECORD)
            response = await send(sim, receiver, request_id=request_id, subject_ref=subject)
            assert response.status_code == 202, response.text
            [delivered] = await receiver.wait_for(1)
            assert delivered.payload["data"]["request_id"] == request_id
            assert await sim.held(subject) is None
