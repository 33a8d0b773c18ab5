"""Deleting a person's correspondence on request (R10), holds from complaints (R21), and the
notice the person receives by e-mail through a real SMTP server."""

from __future__ import annotations

import uuid
from typing import Any

from byggrygg_shared.keyring import ERASED

from .correspondence_support import Env, email_body, phone_body

ORG = uuid.uuid4()
NOTIFY = "kari.privat@example.no"


async def log_two_items(env: Env) -> tuple[str, list[str]]:
    first = await env.http.post("/correspondence/email", json=email_body(ORG), headers=env.staff)
    person = first.json()["subject_ref"]
    second = await env.http.post(
        "/correspondence/phone", json=phone_body(ORG, subject_ref=person), headers=env.staff
    )
    return person, [first.json()["correspondence_id"], second.json()["correspondence_id"]]


async def request_deletion(env: Env, person: str) -> dict[str, Any]:
    response = await env.http.post(
        "/correspondence/deletion-requests",
        json={"subject_ref": person, "notify_address": NOTIFY},
        headers=env.staff,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def stored_tokens(env: Env, field: str) -> list[tuple[str, str]]:
    rows = await env.runtime.pool.fetch(
        "SELECT payload->>'key_ref' AS key_ref, payload->>$1 AS token FROM events "
        "WHERE payload ? $1",
        field,
    )
    return [(row["key_ref"], row["token"]) for row in rows]


async def test_deletion_without_holds_deletes_everything_and_shreds_only_correspondence(
    consent_env: Env,
) -> None:
    env = consent_env
    person, items = await log_two_items(env)
    other_person = (
        await env.http.post("/correspondence/email", json=email_body(ORG), headers=env.staff)
    ).json()
    other_key = await _key_of(env, other_person)
    # Data of the same person outside correspondence (e.g. newsletter) uses their own key.
    keyring = env.runtime.keyring
    own_token = await keyring.encrypt(person, "newsletter name")

    result = await request_deletion(env, person)

    assert result["status"] == "completed"
    assert result["deleted_count"] == 2
    assert result["kept_count"] == 0
    assert result["kept"] == []
    assert result["notices"] == []  # nothing kept: nothing to explain
    for item in items:
        gone = await env.http.get(f"/correspondence/{item}", headers=env.staff)
        assert gone.status_code == 404
    assert await env.count("correspondence_items") == 1  # the other person's
    assert await env.count("correspondence_messages") == 1
    # Every copy of the person's correspondence in the event store is unreadable now; the
    # other person's is not.
    checked = 0
    for field in ("email_address", "phone_number", "person_name", "summary", "message_text"):
        for key_ref, token in await stored_tokens(env, field):
            readable = await keyring.decrypt(key_ref, token)
            assert (readable is ERASED) == (key_ref != other_key), field
            checked += 1
    assert checked == 7  # 2 addresses, 1 number, 1 name, 1 summary, 2 message texts
    # The person's own key and the other person's correspondence are untouched.
    assert await keyring.decrypt(person, own_token) == "newsletter name"
    kept = await env.http.get(
        f"/correspondence/{other_person['correspondence_id']}", headers=env.staff
    )
    assert kept.json()["email_address"] == "kari.nordmann@example.no"
    erased = await env.runtime.pool.fetchval(
        "SELECT count(*) FROM events WHERE event_type = 'no.byggrygg.consent.CorrespondenceErased'"
    )
    assert erased == 2
    assert await env.send_mail() == 0
    assert env.smtp.messages == []


async def _key_of(env: Env, item: dict[str, Any]) -> str:
    key: str = await env.runtime.pool.fetchval(
        "SELECT key_ref FROM correspondence_items WHERE correspondence_id = $1",
        uuid.UUID(item["correspondence_id"]),
    )
    return key


async def test_open_complaint_keeps_correspondence_and_the_person_is_told_why(
    consent_env: Env,
) -> None:
    env = consent_env
    person, items = await log_two_items(env)
    complaint = await env.http.post(
        "/complaints",
        json={
            "kind": "complaint",
            "subject_ref": person,
            "organisation_id": str(ORG),
            "summary": "Klager på hvordan henvendelsen ble behandlet.",
            "concerns": ["correspondence"],
        },
        headers=env.staff,
    )
    assert complaint.status_code == 201, complaint.text
    complaint_id = complaint.json()["complaint_id"]

    result = await request_deletion(env, person)

    assert result["status"] == "pending"
    assert result["deleted_count"] == 0
    assert result["kept_count"] == 2
    assert {k["correspondence_id"] for k in result["kept"]} == set(items)
    assert {k["reason"] for k in result["kept"]} == {"open_complaint"}
    [notice] = result["notices"]
    assert notice["reasons"] == ["open_complaint"]
    assert notice["subject_ref"] == person
    for item in items:
        still = await env.http.get(f"/correspondence/{item}", headers=env.staff)
        assert still.status_code == 200
    # The notice is mailed through the real SMTP server, to the address given.
    assert await env.send_mail() == 1
    [mail] = env.smtp.messages
    assert mail["To"] == NOTIFY
    text = mail.get_payload(decode=True).decode()
    assert "klage fra deg er under behandling" in text
    assert "Beholdt foreløpig: 2" in text
    assert "kursbeviset" not in text  # the notice names no correspondence content
    # The audit: a DeletionNoticeSent event without the text, and the mail's id as notice id.
    audit = await env.runtime.pool.fetchrow(
        "SELECT payload FROM events WHERE event_type = 'no.byggrygg.consent.DeletionNoticeSent'"
    )
    assert audit["payload"]["notice_id"] == notice["notice_id"]
    assert NOTIFY not in str(audit["payload"])
    assert mail["Message-ID"]
    assert notice["notice_id"] in mail["Message-ID"]

    # Resolving the complaint releases the hold: the pending request completes, and the person
    # is told that what was kept is now deleted.
    read = await env.http.get(f"/complaints/{complaint_id}", headers=env.staff)
    resolved = await env.http.post(
        f"/complaints/{complaint_id}/resolution",
        json={"outcome": "rejected", "resolution_text": "Behandlet etter rutinen."},
        headers={**env.staff, "If-Match": read.headers["ETag"]},
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["holds"] is False
    final = await env.http.get(
        f"/correspondence/deletion-requests/{result['request_id']}", headers=env.staff
    )
    body = final.json()
    assert body["status"] == "completed"
    assert body["deleted_count"] == 2
    assert body["kept"] == []
    assert len(body["notices"]) == 2
    for item in items:
        gone = await env.http.get(f"/correspondence/{item}", headers=env.staff)
        assert gone.status_code == 404
    # The address given for the notices is cleared and its key scope destroyed.
    row = await env.runtime.pool.fetchrow(
        "SELECT notify_address, key_ref FROM correspondence_deletions WHERE request_id = $1",
        uuid.UUID(result["request_id"]),
    )
    assert row["notify_address"] is None
    assert await env.runtime.keyring.is_shredded(row["key_ref"])
    assert await env.send_mail() == 1
    assert "nå også slettet" in env.smtp.messages[1].get_payload(decode=True).decode()


async def test_a_question_or_a_complaint_about_other_data_holds_no_correspondence(
    consent_env: Env,
) -> None:
    env = consent_env
    person, _ = await log_two_items(env)
    for kind, concerns in (("question", ["correspondence"]), ("complaint", ["newsletter"])):
        response = await env.http.post(
            "/complaints",
            json={
                "kind": kind,
                "subject_ref": person,
                "summary": "Hva lagrer dere?",
                "concerns": concerns,
            },
            headers=env.staff,
        )
        assert response.status_code == 201
    result = await request_deletion(env, person)
    assert result["status"] == "completed"
    assert result["deleted_count"] == 2


async def test_bad_deletion_request_writes_nothing(consent_env: Env) -> None:
    env = consent_env
    person, _ = await log_two_items(env)
    before = await env.count("events")
    for body in (
        {"subject_ref": person, "notify_address": "nope"},
        {"subject_ref": "not-a-ref", "notify_address": NOTIFY},
        {"subject_ref": person},
        {"subject_ref": person, "notify_address": NOTIFY, "extra": True},
    ):
        response = await env.http.post(
            "/correspondence/deletion-requests", json=body, headers=env.staff
        )
        assert response.status_code == 422, body
    assert await env.count("events") == before
    assert await env.count("correspondence_deletions") == 0
    assert await env.count("mail_outbox") == 0
    missing = await env.http.get(
        f"/correspondence/deletion-requests/{uuid.uuid4()}", headers=env.staff
    )
    assert missing.status_code == 404
