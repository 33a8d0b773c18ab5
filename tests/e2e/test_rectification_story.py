"""A person corrects their name and phone through the privacy orchestrator (R15), end to end.

The learner files a rectification with the real orchestrator (`privacy-orchestrator serve`);
the corrections are sealed under their key and sent as `RectifySubject` on this session's
topics; identity decrypts them and corrects the profile through its own correction path;
courses and consent answer; HeiHallo (the simulator) gets the plain values of its categories
as a signed request and confirms by signed callback. Only then is the request completed, and
identity's API and HeiHallo's holdings show the new values.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from ..identity_client import IdentityApi, unique_name, unique_phone
from ..platform_processes import Platform

DEADLINE_S = 120.0


async def _until_ended(http: httpx.AsyncClient, request_id: str, headers: dict[str, str]) -> Any:
    deadline = time.monotonic() + DEADLINE_S
    while True:
        response = await http.get(f"/requests/{request_id}", headers=headers)
        assert response.status_code == 200, response.text
        view = response.json()
        if view["state"] in {"completed", "partially_completed"}:
            return view
        assert time.monotonic() < deadline, f"not ended within {DEADLINE_S}s: {view}"
        await asyncio.sleep(0.25)


async def test_a_learner_rectifies_name_and_phone_everywhere(
    platform: Platform, platform_identity: IdentityApi
) -> None:
    organisation = await platform_identity.register_organisation()
    admin = await platform_identity.add_admin(organisation["organisation_id"])
    learner = await platform_identity.add_learner(organisation["organisation_id"], admin)
    await platform.simulator.seed(
        learner.subject_ref, {"name": learner.name, "phone": learner.phone}
    )
    name, phone = unique_name("Kari"), unique_phone()

    async with httpx.AsyncClient(
        base_url=platform.url("privacy-orchestrator"), timeout=30.0
    ) as orchestrator:
        filed = await orchestrator.post(
            "/requests",
            json={"kind": "rectification", "corrections": {"name": name, "phone": phone}},
            headers=learner.headers,
        )
        assert filed.status_code == 201, filed.text
        assert filed.json()["state"] == "in_progress"
        assert [s["action"] for s in filed.json()["sub_processors"]] == ["rectification"]
        view = await _until_ended(orchestrator, filed.json()["request_id"], learner.headers)

    assert view["state"] == "completed", view
    commands = {p: v["command"] for p, v in view["participants"].items()}
    assert commands.items() >= {
        ("identity", "rectify"),
        ("courses", "rectify"),
        ("consent", "rectify"),
    }
    assert view["participants"]["identity"]["outcome"] == "completed"
    assert [s["state"] for s in view["sub_processors"]] == ["confirmed"]
    profile = await platform_identity.http.get(f"/users/{learner.user_id}", headers=learner.headers)
    assert profile.status_code == 200, profile.text
    assert (profile.json()["name"], profile.json()["phone"]) == (name, phone)
    held = await platform.simulator.held(learner.subject_ref)
    assert held == {"name": name, "phone": phone}
