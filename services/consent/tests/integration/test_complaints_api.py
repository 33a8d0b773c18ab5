"""Questions and complaints over HTTP (R21): staff only, holds, resolution, bad input."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from byggrygg_shared.auth import Role
from byggrygg_shared.keyring import is_token

from .correspondence_support import Env

PERSON = "subj_" + "a" * 32


def complaint_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "complaint",
        "subject_ref": PERSON,
        "organisation_id": str(uuid.uuid4()),
        "summary": "Kari mener svaret kom for sent.\nØnsker ny vurdering.",
        "concerns": ["correspondence", "newsletter"],
    }
    body.update(changes)
    return body


async def test_complaint_is_opened_with_a_hold_and_resolved_once(consent_env: Env) -> None:
    env = consent_env
    created = await env.http.post("/complaints", json=complaint_body(), headers=env.staff)
    assert created.status_code == 201, created.text
    complaint_id = created.json()["complaint_id"]
    read = await env.http.get(f"/complaints/{complaint_id}", headers=env.staff)
    body = read.json()
    assert body["status"] == "open"
    assert body["holds"] is True
    assert body["summary"].startswith("Kari mener")
    assert sorted(body["concerns"]) == ["correspondence", "newsletter"]
    opened = await env.runtime.pool.fetchrow(
        "SELECT payload FROM events WHERE event_type = 'no.byggrygg.consent.ComplaintOpened'"
    )
    assert is_token(opened["payload"]["summary"])
    assert opened["payload"]["concerns"] == ["correspondence", "newsletter"]

    no_outcome = await env.http.post(
        f"/complaints/{complaint_id}/resolution",
        json={"resolution_text": "Svar."},
        headers={**env.staff, "If-Match": read.headers["ETag"]},
    )
    assert no_outcome.status_code == 422
    resolved = await env.http.post(
        f"/complaints/{complaint_id}/resolution",
        json={"outcome": "upheld", "resolution_text": "Vi beklager."},
        headers={**env.staff, "If-Match": read.headers["ETag"]},
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolved"
    assert resolved.json()["outcome"] == "upheld"
    again = await env.http.post(
        f"/complaints/{complaint_id}/resolution",
        json={"outcome": "rejected", "resolution_text": "Nei."},
        headers={**env.staff, "If-Match": resolved.headers["ETag"]},
    )
    assert again.status_code == 409
    stale = await env.http.post(
        f"/complaints/{complaint_id}/resolution",
        json={"outcome": "rejected", "resolution_text": "Nei."},
        headers={**env.staff, "If-Match": read.headers["ETag"]},
    )
    assert stale.status_code == 409
    types = await env.runtime.pool.fetch("SELECT event_type FROM events ORDER BY global_position")
    assert [row["event_type"].rsplit(".", 1)[1] for row in types] == [
        "ComplaintOpened",
        "ComplaintResolved",
    ]


async def test_question_is_recorded_and_answered_without_hold(consent_env: Env) -> None:
    env = consent_env
    created = await env.http.post(
        "/complaints", json=complaint_body(kind="question", concerns=[]), headers=env.staff
    )
    assert created.status_code == 201
    complaint_id = created.json()["complaint_id"]
    listed = await env.http.get(
        "/complaints", params={"subject_ref": PERSON, "status": "open"}, headers=env.staff
    )
    assert [c["complaint_id"] for c in listed.json()] == [complaint_id]
    assert listed.json()[0]["holds"] is False
    answered = await env.http.post(
        f"/complaints/{complaint_id}/resolution",
        json={"resolution_text": "Vi lagrer navn og e-post."},
        headers={**env.staff, "If-Match": '"1"'},
    )
    assert answered.status_code == 200
    assert answered.json()["outcome"] is None
    kinds = await env.runtime.pool.fetch("SELECT event_type FROM events ORDER BY global_position")
    assert [row["event_type"].rsplit(".", 1)[1] for row in kinds] == [
        "QuestionRecorded",
        "QuestionAnswered",
    ]


@pytest.mark.parametrize("roles", [(Role.ORG_ADMIN,), (Role.CONTACT_PERSON,), (Role.LEARNER,)])
async def test_only_staff_reach_complaints(consent_env: Env, roles: tuple[Role, ...]) -> None:
    env = consent_env
    created = await env.http.post("/complaints", json=complaint_body(), headers=env.staff)
    complaint_id = created.json()["complaint_id"]
    other = env.token_for(*roles, organisation_id=str(uuid.uuid4()))
    for method, url, body in (
        ("POST", "/complaints", complaint_body()),
        ("GET", "/complaints", None),
        ("GET", f"/complaints/{complaint_id}", None),
        ("POST", f"/complaints/{complaint_id}/resolution", {"resolution_text": "x"}),
    ):
        response = await env.http.request(method, url, json=body, headers=other)
        assert response.status_code == 403, (method, url)
    assert await env.count("complaints") == 1


@pytest.mark.parametrize(
    "changes",
    [
        {"kind": "grievance"},
        {"concerns": []},
        {"concerns": ["everything"]},
        {"summary": ""},
        {"subject_ref": "kari"},
        {"summary": "nul\u0000"},
    ],
)
async def test_bad_complaint_writes_nothing(consent_env: Env, changes: dict[str, Any]) -> None:
    env = consent_env
    response = await env.http.post("/complaints", json=complaint_body(**changes), headers=env.staff)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await env.count("events") == 0
    assert await env.count("complaints") == 0
    missing = await env.http.get(f"/complaints/{uuid.uuid4()}", headers=env.staff)
    assert missing.status_code == 404
