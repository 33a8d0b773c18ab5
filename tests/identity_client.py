"""Talk to a running identity service as its clients do: request bodies, the onboarding steps
(staff registers an organisation, lists an administrator, the administrator invites a user
who accepts the terms), unique test data, and checks of problem documents and of writes.

Every value a test creates is unique (organisation numbers with a valid MOD11 check digit,
e-mail addresses, names), so tests can share one identity process and run in any order.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

TERMS_VERSION = "2024-1"  # identity's default BYGGRYGG_IDENTITY_TERMS_VERSION
PROBLEM_JSON = "application/problem+json"
_MOD11_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)


def organisation_number(rng: random.Random | None = None) -> str:
    """A random, valid Norwegian organisation number (nine digits, MOD11 check digit)."""
    rng = rng or random.Random()
    while True:
        first_eight = [rng.randint(0, 9) for _ in range(8)]
        first_eight[0] = rng.choice((8, 9))  # real organisation numbers start with 8 or 9
        remainder = sum(d * w for d, w in zip(first_eight, _MOD11_WEIGHTS, strict=True)) % 11
        if remainder == 1:  # no valid check digit exists for these eight digits
            continue
        check = 0 if remainder == 0 else 11 - remainder
        return "".join(map(str, first_eight)) + str(check)


def invalid_organisation_number(rng: random.Random | None = None) -> str:
    """Nine digits whose check digit is wrong."""
    valid = organisation_number(rng)
    return valid[:8] + str((int(valid[8]) + 1) % 10)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def unique_email(role: str) -> str:
    return f"{unique(role)}@e2e.example.no"


def unique_name(first: str) -> str:
    # Letters only after the first name: a space and a name never occur inside base64.
    tail = "".join(random.choice("bcdfghjklmnpqrstvwxz") for _ in range(10)).capitalize()
    return f"{first} {tail}"


def unique_phone() -> str:
    return f"+47 9{random.randint(0, 9)} {random.randint(10, 99)} {random.randint(100, 999)}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def organisation_body(number: str | None = None, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": unique("Byggmester E2E AS"),
        "organisation_number": number or organisation_number(),
        "phone": "+47 22 33 44 55",
        "email": unique_email("post"),
        "postal_address": {"street": "Storgata 1", "postal_code": "0155", "city": "Oslo"},
        "payment": {"invoice_email": unique_email("faktura"), "billing_reference": "P-17"},
        "contract_starts_on": "2024-01-01",
    }
    body.update(changes)
    return body


def acceptance_body(token: str, *, name: str, phone: str, password: str) -> dict[str, Any]:
    return {
        "token": token,
        "accept_terms": True,
        "terms_version": TERMS_VERSION,
        "name": name,
        "phone": phone,
        "gender": "female",
        "language": "nb",
        "password": password,
    }


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem document with `status`."""
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body = response.json()
    assert body["status"] == status, body
    assert body["title"], body
    return dict(body)


@dataclass
class Member:
    """A person who accepted an invitation and logged in."""

    user_id: str
    subject_ref: str
    organisation_id: str
    email: str
    name: str
    phone: str
    password: str
    token: str
    profile: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


@dataclass
class IdentityApi:
    """The onboarding steps through identity's public HTTP API."""

    http: httpx.AsyncClient
    staff_email: str
    staff_password: str
    staff_token: str = ""

    @property
    def staff(self) -> dict[str, str]:
        return bearer(self.staff_token)

    async def log_in(self, email: str, password: str) -> str:
        response = await self.http.post("/auth/token", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["token_type"] == "bearer"
        return str(body["access_token"])

    async def log_in_staff(self) -> None:
        self.staff_token = await self.log_in(self.staff_email, self.staff_password)

    async def register_organisation(self, **changes: Any) -> dict[str, Any]:
        response = await self.http.post(
            "/organisations", json=organisation_body(**changes), headers=self.staff
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def accept(self, token: str, *, email: str, first_name: str) -> Member:
        name, phone, password = unique_name(first_name), unique_phone(), unique("pw-e2e-secret")
        response = await self.http.post(
            "/invitations/accept",
            json=acceptance_body(token, name=name, phone=phone, password=password),
        )
        assert response.status_code == 201, response.text
        profile = dict(response.json())
        return Member(
            user_id=str(profile["user_id"]),
            subject_ref=str(profile["subject_ref"]),
            organisation_id=str(profile["organisation_id"]),
            email=email,
            name=name,
            phone=phone,
            password=password,
            token=await self.log_in(email, password),
            profile=profile,
        )

    async def add_admin(self, organisation_id: str) -> Member:
        """Staff list an administrator; the administrator accepts the invitation and logs in."""
        email = unique_email("admin")
        response = await self.http.post(
            f"/organisations/{organisation_id}/admins",
            json={"name": unique_name("Ola"), "email": email, "phone": unique_phone()},
            headers=self.staff,
        )
        assert response.status_code == 201, response.text
        token = response.json()["invitation"]["token"]
        return await self.accept(token, email=email, first_name="Ola")

    async def invite(self, organisation_id: str, admin: Member, email: str) -> dict[str, Any]:
        response = await self.http.post(
            f"/organisations/{organisation_id}/users", json={"email": email}, headers=admin.headers
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def add_learner(self, organisation_id: str, admin: Member) -> Member:
        """The administrator invites a learner, who accepts the terms and logs in."""
        email = unique_email("learner")
        invitation = await self.invite(organisation_id, admin, email)
        return await self.accept(invitation["token"], email=email, first_name="Kari")


async def row_counts(dsn: str) -> dict[str, int]:
    """Rows of every table of a database (plus the newest event position, if it has events)."""
    conn = await asyncpg.connect(dsn)
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
        counts: dict[str, int] = {}
        for row in tables:
            name = row["tablename"]
            counts[name] = int(await conn.fetchval(f'SELECT count(*) FROM "{name}"'))
        if "events" in counts:
            position = await conn.fetchval("SELECT coalesce(max(global_position), 0) FROM events")
            counts["events.max_global_position"] = int(position)
        return counts
    finally:
        await conn.close()
