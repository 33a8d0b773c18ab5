"""Users for the privacy benchmarks, made the way clients make them: through identity's API.

Platform staff register an organisation (a contact person and an administrator listed), the
administrator invites learners, each accepts the terms (R3) and gets a licence (R7). The
same calls tests/identity_client.py makes; every value is made up and unique to the run (the
bench never sees a real person), from a seeded ``random.Random`` where it can be.

Learners are made ``concurrency`` at a time: accepting hashes a password with argon2id, which
is what limits the rate on this machine.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

import httpx

__all__ = ["IdentityAdmin", "Learner", "Organisation", "SeedFailed", "organisation_number"]

TERMS_VERSION: Final = "2024-1"  # identity's default BYGGRYGG_IDENTITY_TERMS_VERSION
_MOD11_WEIGHTS: Final = (3, 2, 7, 6, 5, 4, 3, 2)
_LETTERS: Final = "bcdfghjklmnpqrstvwxz"
TOKEN_RENEWAL_S: Final = 600.0  # identity's access tokens live 15 minutes


class SeedFailed(RuntimeError):
    """identity refused a seeding call; the message has the status (never a request body)."""


def organisation_number(rng: random.Random) -> str:
    """A valid Norwegian organisation number (nine digits, MOD11 check digit)."""
    while True:
        first = [rng.choice((8, 9)), *(rng.randint(0, 9) for _ in range(7))]
        remainder = sum(d * w for d, w in zip(first, _MOD11_WEIGHTS, strict=True)) % 11
        if remainder != 1:  # no check digit exists for these eight digits
            return "".join(map(str, first)) + str(0 if remainder == 0 else 11 - remainder)


@dataclass(frozen=True)
class Learner:
    user_id: str
    subject_ref: str


@dataclass
class Organisation:
    """An organisation and its people's logins (tokens live 15 minutes: renewed when older)."""

    organisation_id: str
    logins: dict[str, tuple[str, str]] = field(repr=False)  # role: (e-mail, password)
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict, repr=False)


def _checked(response: httpx.Response, expected: int, what: str) -> dict[str, Any]:
    if response.status_code != expected:
        raise SeedFailed(f"{what}: {response.status_code} {response.text[:300]}")
    return dict(response.json()) if response.content else {}


class IdentityAdmin:
    """Seeding calls on one identity process, as staff and as an organisation's people."""

    def __init__(self, http: httpx.AsyncClient, *, run_id: str, rng: random.Random) -> None:
        self._http = http
        self._run_id = run_id
        self._rng = rng
        self._count = 0

    def _unique(self, what: str) -> str:
        self._count += 1
        return f"{what}-{self._run_id}-{self._count}"

    def _email(self, role: str) -> str:
        return f"{self._unique(role)}@bench.example.no"

    def _name(self, first: str) -> str:
        # Letters only after the first name (identity's name rules).
        return f"{first} {''.join(self._rng.choice(_LETTERS) for _ in range(10)).capitalize()}"

    def _phone(self) -> str:
        r = self._rng
        return f"+47 9{r.randint(0, 9)} {r.randint(10, 99)} {r.randint(100, 999)}"

    async def log_in(self, email: str, password: str) -> str:
        response = await self._http.post("/auth/token", json={"email": email, "password": password})
        return str(_checked(response, 200, "log in")["access_token"])

    async def register_organisation(self, staff_token: str) -> Organisation:
        """An organisation with one administrator and one contact person, both logged in."""
        body = {
            "name": self._unique("Byggmester Bench AS"),
            "organisation_number": organisation_number(self._rng),
            "phone": "+47 22 33 44 55",
            "email": self._email("post"),
            "postal_address": {"street": "Storgata 1", "postal_code": "0155", "city": "Oslo"},
            "payment": {"invoice_email": self._email("faktura"), "billing_reference": "B-1"},
            "contract_starts_on": "2024-01-01",
        }
        staff = {"Authorization": f"Bearer {staff_token}"}
        response = await self._http.post("/organisations", json=body, headers=staff)
        organisation_id = str(_checked(response, 201, "register organisation")["organisation_id"])
        logins = {}
        for role, listing, first in (
            ("admin", "admins", "Ola"),
            ("contact", "contact-persons", "Kari"),
        ):
            email = self._email(listing)
            person = {"name": self._name(first), "email": email, "phone": self._phone()}
            response = await self._http.post(
                f"/organisations/{organisation_id}/{listing}", json=person, headers=staff
            )
            invitation = _checked(response, 201, f"add {listing}")["invitation"]
            _, password = await self._accept(str(invitation["token"]), first)
            logins[role] = (email, password)
        return Organisation(organisation_id, logins)

    async def headers_of(self, organisation: Organisation, role: str) -> dict[str, str]:
        """A bearer header of the organisation's ``role`` ("admin", "contact"), fresh enough."""
        token, at = organisation.tokens.get(role, ("", 0.0))
        if time.monotonic() - at > TOKEN_RENEWAL_S:
            token = await self.log_in(*organisation.logins[role])
            organisation.tokens[role] = (token, time.monotonic())
        return {"Authorization": f"Bearer {token}"}

    async def _accept(self, invitation_token: str, first: str) -> tuple[dict[str, Any], str]:
        password = secrets.token_urlsafe(18)
        body = {
            "token": invitation_token,
            "accept_terms": True,
            "terms_version": TERMS_VERSION,
            "name": self._name(first),
            "phone": self._phone(),
            "gender": "female",
            "language": "nb",
            "password": password,
        }
        response = await self._http.post("/invitations/accept", json=body)
        return _checked(response, 201, "accept invitation"), password

    async def add_learner(self, organisation: Organisation) -> Learner:
        """Invite a learner, who accepts the terms; the administrator grants a licence."""
        admin = await self.headers_of(organisation, "admin")
        response = await self._http.post(
            f"/organisations/{organisation.organisation_id}/users",
            json={"email": self._email("learner")},
            headers=admin,
        )
        invitation = _checked(response, 201, "invite learner")
        profile, _ = await self._accept(str(invitation["token"]), "Kari")
        learner = Learner(str(profile["user_id"]), str(profile["subject_ref"]))
        response = await self._http.post(f"/users/{learner.user_id}/licences", headers=admin)
        _checked(response, 201, "grant licence")
        return learner

    async def add_learners(
        self,
        organisation: Organisation,
        count: int,
        *,
        concurrency: int,
        on_progress: Callable[[int], None] | None = None,
    ) -> list[Learner]:
        """``count`` learners, ``concurrency`` at a time, in the order they were made."""
        learners: list[Learner] = []
        gate = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with gate:
                learners.append(await self.add_learner(organisation))
                if on_progress is not None:
                    on_progress(len(learners))

        await asyncio.gather(*(one() for _ in range(count)))
        return learners

    async def end_contract(self, staff_token: str, organisation_id: str, ended_on: date) -> None:
        """Staff end the organisation's contract, no retention reason (identity: ContractEnded)."""
        response = await self._http.post(
            f"/organisations/{organisation_id}/end-contract",
            json={"ended_on": ended_on.isoformat(), "retention_reasons": []},
            headers={"Authorization": f"Bearer {staff_token}"},
        )
        _checked(response, 200, "end contract")
