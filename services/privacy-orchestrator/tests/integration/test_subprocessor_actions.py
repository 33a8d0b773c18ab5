"""Staff acting on an escalated sub-processor request (R13), against the REAL simulator
(HeiHallo), real PostgreSQL and Kafka:

- resend: HeiHallo was failing and the request escalated; once HeiHallo works again, staff
  send it again and the request completes on its confirmation;
- close: staff close it with a written reason; the request ends partially_completed, its
  record lists HeiHallo as closed_by_operator with the reason, the history names the action;
- only staff (403), only an escalated delivery (409), only a sub-processor of the request
  (404), a reason without personal data (422).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from byggrygg_shared.auth import Role, TokenIssuer
from privacy_orchestrator.settings import OrchestratorSettings

from ....service_testing import assert_problem
from .support import person, rows
from .test_request_subprocessors import Live, all_replied, live_orchestrator, sub_states


async def _escalated_erasure(live: Live) -> tuple[UUID, dict[str, Any]]:
    """An erasure every participant answered while HeiHallo fails: escalated, open."""
    await live.sim.set_mode("fail")
    learner = person(Role.LEARNER)
    request_id = await live.file(learner, {"kind": "erasure"})
    await live.reply_all(request_id, learner.subject_ref, "erase", "erased")
    found = await live.until(
        request_id,
        lambda found: all_replied(found) and sub_states(found) == ["escalated"],
        "HeiHallo escalated with every reply in",
    )
    return request_id, found


async def test_staff_send_an_escalated_request_again_and_it_completes(
    settings: OrchestratorSettings,
    issuer: TokenIssuer,
    tmp_path: Path,
    kafka_bootstrap: str,
    new_topic: Any,
) -> None:
    async with live_orchestrator(
        settings, issuer, tmp_path, kafka_bootstrap, new_topic, deliver=True
    ) as live:
        request_id, found = await _escalated_erasure(live)
        [heihallo] = found["sub_processors"]
        path = f"/requests/{request_id}/subprocessors/{heihallo['subprocessor_id']}/resend"
        staff = live.headers(person(Role.PLATFORM_STAFF))
        assert_problem(await live.http.post(path, headers=live.headers(person(Role.LEARNER))), 403)
        other = f"/requests/{request_id}/subprocessors/{uuid4()}/resend"
        assert_problem(await live.http.post(other, headers=staff), 404)
        unknown = f"/requests/{uuid4()}/subprocessors/{heihallo['subprocessor_id']}/resend"
        assert_problem(await live.http.post(unknown, headers=staff), 404)

        await live.sim.set_mode("normal")
        sent = await live.http.post(path, headers=staff)
        assert sent.status_code == 200, sent.text
        assert sent.json()["sub_processors"][0]["escalated_at"] is None
        final = await live.until_completed(request_id, "completion after the resend")
        [confirmed] = final["sub_processors"]
        assert confirmed["state"] == "confirmed"
        assert confirmed["attempts"] > heihallo["attempts"]
        # Confirmed now: nothing to send again.
        assert_problem(await live.http.post(path, headers=staff), 409)
        record = await live.record(request_id)
        assert record is not None
        assert record["outcome"] == "completed"
        assert record["sub_processors"][0]["outcome"] == "completed"
        history = await rows(
            live.runtime.pool,
            "SELECT event_type FROM request_events WHERE stream_id = $1",
            f"dsr-{request_id}",
        )
        assert "no.byggrygg.privacy-orchestrator.SubProcessorResentByOperator" in {
            row["event_type"] for row in history
        }


async def test_staff_close_an_escalated_request_with_a_reason_and_it_ends_partially(
    settings: OrchestratorSettings,
    issuer: TokenIssuer,
    tmp_path: Path,
    kafka_bootstrap: str,
    new_topic: Any,
) -> None:
    async with live_orchestrator(
        settings, issuer, tmp_path, kafka_bootstrap, new_topic, deliver=True
    ) as live:
        request_id, found = await _escalated_erasure(live)
        [heihallo] = found["sub_processors"]
        path = f"/requests/{request_id}/subprocessors/{heihallo['subprocessor_id']}/close"
        staff = live.headers(person(Role.PLATFORM_STAFF))
        reason = "Leverandøren bekreftet sletting per telefon; avtalen er avsluttet."
        learner_headers = live.headers(person(Role.LEARNER))
        refused = await live.http.post(path, json={"reason": reason}, headers=learner_headers)
        assert_problem(refused, 403)
        for body in ({}, {"reason": ""}, {"reason": "Kontakt kari@example.no"}):
            assert_problem(await live.http.post(path, json=body, headers=staff), 422)

        closed = await live.http.post(path, json={"reason": reason}, headers=staff)
        assert closed.status_code == 200, closed.text
        view = closed.json()
        assert view["state"] == "partially_completed"
        [shown] = view["sub_processors"]
        assert (shown["state"], shown["close_reason"]) == ("closed", reason)
        assert shown["closed_at"] is not None
        # Closed (and the request ended): neither action again.
        assert_problem(await live.http.post(path, json={"reason": reason}, headers=staff), 409)
        resend = path.removesuffix("/close") + "/resend"
        assert_problem(await live.http.post(resend, headers=staff), 409)
        # The worker sends nothing more for it.
        assert await live.worker.deliver_due() == 0

        record = await live.record(request_id)
        assert record is not None
        assert record["outcome"] == "partially_completed"
        [reported] = record["sub_processors"]
        assert reported["outcome"] == "closed_by_operator"
        assert reported["reason"] == reason
        assert reported["confirmed_at"] is None
        assert reported["name"] == "HeiHallo (Anders Heim)"
        history = await rows(
            live.runtime.pool,
            "SELECT event_type, payload FROM request_events WHERE stream_id = $1 ORDER BY version",
            f"dsr-{request_id}",
        )
        [action] = [
            row["payload"]
            for row in history
            if row["event_type"].endswith(".SubProcessorClosedByOperator")
        ]
        assert action["reason"] == reason
        assert action["by"]["role"] == "platform_staff"
        listed = await live.http.get("/requests", params={"escalated": "true"}, headers=staff)
        assert str(request_id) not in [r["request_id"] for r in listed.json()]


async def test_a_delivery_that_is_not_escalated_is_left_alone(
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
        request_id = await live.file(learner, {"kind": "erasure"})
        [pending] = (await live.request(request_id))["sub_processors"]
        assert pending["state"] == "pending"
        staff = live.headers(person(Role.PLATFORM_STAFF))
        base = f"/requests/{request_id}/subprocessors/{pending['subprocessor_id']}"
        assert_problem(await live.http.post(f"{base}/resend", headers=staff), 409)
        closing = await live.http.post(f"{base}/close", json={"reason": "why"}, headers=staff)
        assert_problem(closing, 409)
        assert sub_states(await live.request(request_id)) == ["pending"]
