"""An erasure filed with the real privacy orchestrator reaches the session's participants.

Platform staff file an erasure (R16) for a learner the session just created, through the
orchestrator's API as served by `privacy-orchestrator serve`. The orchestrator's outbox relay
sends one command to each participant on this session's topics, identity, courses and consent
answer on this session's `privacy.replies.v1`, and the orchestrator records each reply: GET
/requests/{id} shows all three as replied. Since every session has topics of its own, no other
session's participants can answer (or fail to answer) for them.

How the request ends is not asserted here: completion also waits for the sub-processors.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from ..identity_client import IdentityApi
from ..platform_processes import Platform

PARTICIPANTS = {"identity", "courses", "consent"}
REPLY_DEADLINE_S = 90.0


async def _request(http: httpx.AsyncClient, request_id: str, staff: dict[str, str]) -> Any:
    response = await http.get(f"/requests/{request_id}", headers=staff)
    assert response.status_code == 200, response.text
    return response.json()


async def test_staff_erasure_of_a_new_learner_is_answered_by_every_participant(
    platform: Platform, platform_identity: IdentityApi
) -> None:
    organisation = await platform_identity.register_organisation()
    admin = await platform_identity.add_admin(organisation["organisation_id"])
    learner = await platform_identity.add_learner(organisation["organisation_id"], admin)
    staff = platform_identity.staff

    async with httpx.AsyncClient(
        base_url=platform.url("privacy-orchestrator"), timeout=30.0
    ) as orchestrator:
        filed = await orchestrator.post(
            "/requests",
            json={"kind": "erasure", "subject_ref": learner.subject_ref},
            headers=staff,
        )
        assert filed.status_code == 201, filed.text
        request_id = filed.json()["request_id"]
        assert filed.json()["subject_ref"] == learner.subject_ref
        assert set(filed.json()["participants"]) >= PARTICIPANTS

        deadline = time.monotonic() + REPLY_DEADLINE_S
        while True:
            view = await _request(orchestrator, request_id, staff)
            replied = {
                name for name, progress in view["participants"].items() if progress["replied"]
            }
            if replied >= PARTICIPANTS:
                break
            assert time.monotonic() < deadline, (
                f"replied within {REPLY_DEADLINE_S}s: {sorted(replied)}, "
                f"expected {sorted(PARTICIPANTS)}"
            )
            await asyncio.sleep(0.25)

    for name in PARTICIPANTS:
        progress = view["participants"][name]
        assert progress["command"] == "erase", progress
        assert progress["outcome"], f"{name} replied without an outcome: {progress}"
