"""The correspondence log over HTTP on real PostgreSQL and the real key ring (R9)."""

from __future__ import annotations

import json
import uuid

import pytest

from byggrygg_shared.auth import Role
from byggrygg_shared.keyring import is_token

from .correspondence_support import Env, email_body, phone_body

ORG = uuid.uuid4()


async def test_staff_log_email_and_phone_and_read_them_back(consent_env: Env) -> None:
    env = consent_env
    created = await env.http.post("/correspondence/email", json=email_body(ORG), headers=env.staff)
    assert created.status_code == 201, created.text
    person = created.json()["subject_ref"]
    assert person.startswith("subj_")
    phone = await env.http.post(
        "/correspondence/phone", json=phone_body(ORG, subject_ref=person), headers=env.staff
    )
    assert phone.status_code == 201, phone.text
    assert phone.json()["subject_ref"] == person

    listed = await env.http.get(
        "/correspondence", params={"subject_ref": person}, headers=env.staff
    )
    assert listed.status_code == 200
    items = {item["channel"]: item for item in listed.json()}
    assert items["email"]["email_address"] == "kari.nordmann@example.no"
    assert items["email"]["messages"][0]["text"] == "Hei!\nKan dere sende meg kursbeviset?"
    assert items["phone"]["person_name"] == "Kari Nordmann"
    assert items["phone"]["phone_number"] == "+47 911 22 333"
    assert items["phone"]["summary"].startswith("Ringte om innlogging.")
    # Still a customer: no retention date yet (R9).
    assert items["email"]["retain_until"] is None
    assert items["email"]["contract_ended_on"] is None


async def test_personal_fields_are_ciphertext_in_events_and_projections(consent_env: Env) -> None:
    env = consent_env
    await env.http.post("/correspondence/email", json=email_body(ORG), headers=env.staff)
    await env.http.post("/correspondence/phone", json=phone_body(ORG), headers=env.staff)
    pool = env.runtime.pool
    dump = json.dumps(
        [dict(r) for r in await pool.fetch("SELECT payload FROM events")], default=str
    )
    for plain in ("kari.nordmann@example.no", "Kari Nordmann", "911 22 333", "kursbeviset"):
        assert plain not in dump
    row = await pool.fetchrow(
        "SELECT email_address FROM correspondence_items WHERE channel = 'email'"
    )
    assert is_token(row["email_address"])
    phone = await pool.fetchrow(
        "SELECT phone_number, person_name, summary FROM correspondence_items "
        "WHERE channel = 'phone'"
    )
    assert all(is_token(value) for value in phone.values())
    message = await pool.fetchrow(
        "SELECT message_subject, message_text FROM correspondence_messages"
    )
    assert all(is_token(value) for value in message.values())


@pytest.mark.parametrize(
    "roles",
    [(Role.ORG_ADMIN,), (Role.CONTACT_PERSON,), (Role.LEARNER,), (Role.ORG_ADMIN, Role.LEARNER)],
)
async def test_only_platform_staff_reach_correspondence(
    consent_env: Env, roles: tuple[Role, ...]
) -> None:
    env = consent_env
    created = await env.http.post("/correspondence/email", json=email_body(ORG), headers=env.staff)
    item = created.json()
    other = env.token_for(*roles, organisation_id=str(ORG))
    requests = [
        ("POST", "/correspondence/email", email_body(ORG)),
        ("POST", "/correspondence/phone", phone_body(ORG)),
        ("GET", f"/correspondence?organisation_id={ORG}", None),
        ("GET", f"/correspondence/{item['correspondence_id']}", None),
        (
            "POST",
            "/correspondence/deletion-requests",
            {"subject_ref": item["subject_ref"], "notify_address": "kari@example.no"},
        ),
    ]
    for method, url, body in requests:
        response = await env.http.request(method, url, json=body, headers=other)
        assert response.status_code == 403, (method, url, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        anonymous = await env.http.request(method, url, json=body)
        assert anonymous.status_code == 401, (method, url)
    assert await env.count("correspondence_items") == 1
    assert await env.count("correspondence_deletions") == 0


@pytest.mark.parametrize(
    "changes",
    [
        {"email_address": "not-an-address"},
        {"messages": []},
        {
            "messages": [
                {
                    "direction": "sideways",
                    "sent_at": "2025-01-01T00:00:00Z",
                    "subject": "x",
                    "text": "y",
                }
            ]
        },
        {
            "messages": [
                {
                    "direction": "inbound",
                    "sent_at": "2025-01-01T00:00:00",
                    "subject": "x",
                    "text": "y",
                }
            ]
        },
        {"subject_ref": "kari@example.no"},
        {"organisation_id": "not-a-uuid"},
        {"unexpected": 1},
        {"email_address": "kari\u0000@example.no"},
    ],
)
async def test_bad_input_is_a_problem_and_writes_nothing(
    consent_env: Env, changes: dict[str, object]
) -> None:
    env = consent_env
    response = await env.http.post(
        "/correspondence/email", json=email_body(ORG, **changes), headers=env.staff
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await env.count("events") == 0
    assert await env.count("correspondence_items") == 0


async def test_bad_phone_contact_writes_nothing(consent_env: Env) -> None:
    env = consent_env
    for changes in ({"phone_number": "call me"}, {"person_name": ""}, {"summary": " "}):
        response = await env.http.post(
            "/correspondence/phone", json=phone_body(ORG, **changes), headers=env.staff
        )
        assert response.status_code == 422, changes
    assert await env.count("events") == 0


async def test_adding_a_message_needs_the_current_version(consent_env: Env) -> None:
    env = consent_env
    created = await env.http.post("/correspondence/email", json=email_body(ORG), headers=env.staff)
    item_id = created.json()["correspondence_id"]
    read = await env.http.get(f"/correspondence/{item_id}", headers=env.staff)
    etag = read.headers["ETag"]
    message = {
        "direction": "outbound",
        "sent_at": "2025-03-01T11:00:00+01:00",
        "subject": "Sv: Spørsmål om kurs",
        "text": "Her er kursbeviset.",
    }
    missing = await env.http.post(
        f"/correspondence/{item_id}/messages", json=message, headers=env.staff
    )
    assert missing.status_code == 428
    added = await env.http.post(
        f"/correspondence/{item_id}/messages",
        json=message,
        headers={**env.staff, "If-Match": etag},
    )
    assert added.status_code == 201, added.text
    assert [m["direction"] for m in added.json()["messages"]] == ["inbound", "outbound"]
    events_before = await env.count("events")
    stale = await env.http.post(
        f"/correspondence/{item_id}/messages",
        json=message,
        headers={**env.staff, "If-Match": etag},
    )
    assert stale.status_code == 409
    assert stale.json()["type"].endswith("edit-conflict")
    assert await env.count("events") == events_before
    phone = await env.http.post("/correspondence/phone", json=phone_body(ORG), headers=env.staff)
    not_email = await env.http.post(
        f"/correspondence/{phone.json()['correspondence_id']}/messages",
        json=message,
        headers={**env.staff, "If-Match": '"1"'},
    )
    assert not_email.status_code == 409


async def test_unknown_item_is_404(consent_env: Env) -> None:
    env = consent_env
    response = await env.http.get(f"/correspondence/{uuid.uuid4()}", headers=env.staff)
    assert response.status_code == 404
    listing = await env.http.get("/correspondence", headers=env.staff)
    assert listing.status_code == 400
