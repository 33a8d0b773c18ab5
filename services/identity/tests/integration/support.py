"""Helpers of identity's integration tests: request bodies, the onboarding flow, snapshots."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from byggrygg_shared.keyring import create_master_key_file
from byggrygg_shared.keyring_schema import METADATA as KEYRING_METADATA
from identity.adapters.tables import METADATA
from identity.bootstrap import Runtime

from ....service_testing import bearer, table_snapshot

PASSWORD = "correct horse battery staple"
STAFF_EMAIL = "staff@byggrygg.example.no"
TERMS = "2024-1"
ORG_NUMBERS = ("992797010", "923609016", "974760673", "971526920")


def organisation_body(number: str = ORG_NUMBERS[0], **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Byggmester Hansen AS",
        "organisation_number": number,
        "phone": "+47 22 33 44 55",
        "email": "post@hansen.example.no",
        "postal_address": {"street": "Storgata 1", "postal_code": "0155", "city": "Oslo"},
        "payment": {"invoice_email": "faktura@hansen.example.no", "billing_reference": "P-17"},
        "contract_starts_on": date(2024, 1, 1).isoformat(),
    }
    body.update(changes)
    return body


def acceptance(token: str, *, name: str = "Kari Nordmann", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "token": token,
        "accept_terms": True,
        "terms_version": TERMS,
        "name": name,
        "phone": "+47 911 22 333",
        "gender": "female",
        "language": "nb",
        "password": PASSWORD,
    }
    body.update(changes)
    return body


@dataclass
class Member:
    """A person who accepted an invitation and logged in."""

    user_id: str
    email: str
    token: str
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


@dataclass
class Flow:
    """The onboarding story through the real API."""

    http: httpx.AsyncClient
    runtime: Runtime
    staff_token: str = ""

    @property
    def staff(self) -> dict[str, str]:
        return bearer(self.staff_token)

    async def log_in(self, email: str, password: str = PASSWORD) -> str:
        response = await self.http.post("/auth/token", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    async def register(self, number: str = ORG_NUMBERS[0], **changes: Any) -> dict[str, Any]:
        response = await self.http.post(
            "/organisations", json=organisation_body(number, **changes), headers=self.staff
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def accept(self, token: str, email: str, **changes: Any) -> Member:
        response = await self.http.post("/invitations/accept", json=acceptance(token, **changes))
        assert response.status_code == 201, response.text
        body = response.json()
        return Member(body["user_id"], email, await self.log_in(email), body)

    async def admin(self, organisation_id: str, email: str) -> Member:
        response = await self.http.post(
            f"/organisations/{organisation_id}/admins",
            json={"name": "Ola Admin", "email": email, "phone": "+4799887766"},
            headers=self.staff,
        )
        assert response.status_code == 201, response.text
        return await self.accept(response.json()["invitation"]["token"], email, name="Ola Admin")

    async def learner(self, organisation_id: str, admin: Member, email: str) -> Member:
        response = await self.http.post(
            f"/organisations/{organisation_id}/users", json={"email": email}, headers=admin.headers
        )
        assert response.status_code == 201, response.text
        return await self.accept(response.json()["token"], email)


async def snapshot(pool: asyncpg.Pool) -> dict[str, tuple[int, str]]:
    """Row count and a digest of every identity table (events included) and of the key ring
    (in the same test database): equal snapshots before and after a request mean it wrote
    nothing, not even a data key for a person who never came to exist."""
    return await table_snapshot(pool, [*METADATA.sorted_tables, *KEYRING_METADATA.sorted_tables])


def cli_env(dsn: str, tmp_path: Path) -> dict[str, str]:
    master_key = tmp_path / "keyring-master.key"
    create_master_key_file(master_key)
    return {
        "BYGGRYGG_IDENTITY_DATABASE_URL": dsn,
        "BYGGRYGG_KEYRING_DATABASE_URL": dsn,
        "BYGGRYGG_KEYRING_MASTER_KEY_FILE": str(master_key),
        "BYGGRYGG_JWT_PRIVATE_KEY_FILE": str(tmp_path / "jwt.pem"),
    }
