"""Organisations through the real API, PostgreSQL and key ring (R1, R2)."""

from __future__ import annotations

from datetime import date

from byggrygg_shared.keyring import is_token

from ....service_testing import assert_problem
from .support import ORG_NUMBERS, PASSWORD, Flow


async def test_staff_register_an_organisation_and_read_it_back(flow: Flow) -> None:
    created = await flow.register(ORG_NUMBERS[0], name="  Byggmester Hansen AS ")
    assert created["name"] == "Byggmester Hansen AS"
    assert created["organisation_number"] == "992797010"
    assert created["status"] == "active"
    assert created["postal_address"] == {
        "street": "Storgata 1",
        "postal_code": "0155",
        "city": "Oslo",
        "country": "NO",
    }
    assert created["payment"] == {
        "invoice_email": "faktura@hansen.example.no",
        "billing_reference": "P-17",
    }
    response = await flow.http.get(
        f"/organisations/{created['organisation_id']}", headers=flow.staff
    )
    assert response.status_code == 200
    assert response.json() == created


async def test_the_event_holds_ciphertext_that_the_key_ring_opens(flow: Flow) -> None:
    created = await flow.register(ORG_NUMBERS[1])
    async with flow.runtime.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT event_type, payload, metadata FROM events WHERE stream_id = $1",
            f"organisation-{created['organisation_id']}",
        )
    assert row["event_type"] == "no.byggrygg.identity.OrganisationRegistered"
    payload = row["payload"]
    assert "hansen.example.no" not in str(payload)
    assert payload["name"] == "Byggmester Hansen AS"  # public register data stays plain
    for field in ("email", "phone", "street_address", "invoice_email", "billing_reference"):
        assert is_token(payload[field]), field
    assert row["metadata"]["tenant_id"] == created["organisation_id"]
    keyring = flow.runtime.keyring
    assert await keyring.decrypt(payload["data_key_ref"], payload["email"]) == (
        "post@hansen.example.no"
    )
    assert await keyring.decrypt(payload["billing_key_ref"], payload["invoice_email"]) == (
        "faktura@hansen.example.no"
    )


async def test_contact_persons_and_admins_are_listed_and_invited(flow: Flow) -> None:
    organisation = await flow.register()
    org_id = organisation["organisation_id"]
    contact = await flow.http.post(
        f"/organisations/{org_id}/contact-persons",
        json={"name": "Per Kontakt", "email": "Per@Hansen.example.no"},
        headers=flow.staff,
    )
    assert contact.status_code == 201, contact.text
    body = contact.json()
    assert body["person"]["email"] == "per@hansen.example.no"
    assert body["person"]["role"] == "contact_person"
    assert body["person"]["subject_ref"].startswith("subj_")
    assert body["invitation"]["roles"] == ["contact_person"]
    assert len(body["invitation"]["token"]) >= 32

    admin = await flow.admin(org_id, "ola@hansen.example.no")
    read = (await flow.http.get(f"/organisations/{org_id}", headers=flow.staff)).json()
    assert [p["name"] for p in read["contact_persons"]] == ["Per Kontakt"]
    assert [p["email"] for p in read["admins"]] == ["ola@hansen.example.no"]
    assert read["version"] == 3

    # The administrator's user account carries the subject_ref of the listing: one person,
    # one key (erasure finds every copy).
    assert admin.body["subject_ref"] == read["admins"][0]["subject_ref"]
    assert admin.body["roles"] == ["org_admin"]

    # The contact person logs in with their own role and sees their organisation.
    contact_person = await flow.accept(body["invitation"]["token"], "per@hansen.example.no")
    seen = await flow.http.get(f"/organisations/{org_id}", headers=contact_person.headers)
    assert seen.status_code == 200


async def test_ending_the_contract_records_retention_and_stops_logins(flow: Flow) -> None:
    organisation = await flow.register()
    org_id = organisation["organisation_id"]
    admin = await flow.admin(org_id, "ola@hansen.example.no")
    pending = await flow.http.post(
        f"/organisations/{org_id}/users",
        json={"email": "ny@hansen.example.no"},
        headers=admin.headers,
    )
    assert pending.status_code == 201

    response = await flow.http.post(
        f"/organisations/{org_id}/end-contract",
        json={"ended_on": "2025-06-30", "retention_reasons": ["outstanding_debt", "bookkeeping"]},
        headers=flow.staff,
    )
    assert response.status_code == 200, response.text
    ended = response.json()
    assert ended["status"] == "ended"
    assert ended["ended_on"] == "2025-06-30"
    assert ended["retention"] == [
        {"reason": "bookkeeping", "keep_until": date(2030, 6, 30).isoformat(), "settled_on": None},
        {"reason": "outstanding_debt", "keep_until": None, "settled_on": None},
    ]
    # Users of an ended customer can no longer log in (R6), and its pending invitations are gone.
    login = await flow.http.post(
        "/auth/token",
        json={"email": "ola@hansen.example.no", "password": PASSWORD},
    )
    assert_problem(login, 401)
    accept = await flow.http.post(
        "/invitations/accept",
        json={
            "token": pending.json()["token"],
            "accept_terms": True,
            "terms_version": "2024-1",
            "name": "Ny",
            "language": "nb",
            "password": "another long password",
        },
    )
    assert_problem(accept, 404)
    async with flow.runtime.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM invitations") == 0
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM login_emails WHERE holder_kind = 'invitation'"
            )
            == 0
        )
    again = await flow.http.post(
        f"/organisations/{org_id}/end-contract", json={"ended_on": "2025-07-01"}, headers=flow.staff
    )
    assert_problem(again, 409)
