"""The demo organisation through identity's API: staff register it, list its administrator and
contact person, the administrator invites the learners, who accept the terms (R3) and get a
licence (which courses turns into enrolments, from `LicenceGranted` on Kafka).

Names, phone numbers and genders come from a seeded `random.Random`, so a run is reproducible.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from gateway import Gateway

TERMS_VERSION = "2024-1"  # identity's default BYGGRYGG_IDENTITY_TERMS_VERSION
EMAIL_DOMAIN = "demo.example.no"
_MOD11_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)
FIRST_NAMES = (
    "Kari", "Ola", "Ingrid", "Lars", "Nora", "Jonas", "Emma", "Henrik", "Sofie", "Magnus",
    "Ida", "Sander", "Maja", "Eirik", "Thea", "Anders", "Sara", "Kristian", "Hanna", "Ole",
    "Silje", "Mats", "Marte", "Sindre", "Line", "Tor", "Hilde", "Per", "Astrid", "Knut",
)  # fmt: skip
LAST_NAMES = (
    "Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Kristiansen",
    "Jensen", "Karlsen", "Johnsen", "Pettersen", "Eriksen", "Berg", "Haugen", "Hagen",
    "Johannessen", "Andreassen", "Jacobsen", "Dahl", "Jørgensen", "Halvorsen", "Lund", "Moen",
)  # fmt: skip
GENDERS = ("female", "male", "other")
LANGUAGES = ("nb", "nb", "nb", "nn", "en")  # mostly bokmål, as in the customer base


def organisation_number(rng: random.Random) -> str:
    """A valid Norwegian organisation number (nine digits, MOD11 check digit)."""
    while True:
        digits = [rng.choice((8, 9))] + [rng.randint(0, 9) for _ in range(7)]
        remainder = sum(d * w for d, w in zip(digits, _MOD11_WEIGHTS, strict=True)) % 11
        if remainder == 1:  # no valid check digit exists for these eight digits
            continue
        return "".join(map(str, digits)) + str(0 if remainder == 0 else 11 - remainder)


def phone(rng: random.Random) -> str:
    return f"+47 9{rng.randint(0, 9)} {rng.randint(10, 99)} {rng.randint(100, 999)}"


@dataclass
class Person:
    """A demo person who accepted an invitation: can log in with `password`."""

    user_id: str
    subject_ref: str
    email: str
    name: str
    password: str
    token: str

    async def refresh(self, gateway: Gateway) -> str:
        """A new access token (they live 15 minutes; a seed run may take longer)."""
        self.token = await gateway.log_in(self.email, self.password)
        return self.token


@dataclass(frozen=True)
class DemoOrganisation:
    organisation_id: str
    name: str
    admin: Person
    contact_person: Person
    learners: list[Person]
    licences: dict[str, str]  # user id -> licence id


class Onboarding:
    """The identity steps of one demo run (run number `run`, seeded by `rng`)."""

    def __init__(
        self, gateway: Gateway, *, staff_token: str, rng: random.Random, run: int, password: str
    ) -> None:
        self.gateway = gateway
        self._gw = gateway
        self._staff = staff_token
        self._rng = rng
        self._run = run
        self._password = password  # one password for every demo person of this run

    def _email(self, local: str) -> str:
        return f"{local}.run{self._run}@{EMAIL_DOMAIN}"

    def _name(self) -> str:
        return f"{self._rng.choice(FIRST_NAMES)} {self._rng.choice(LAST_NAMES)}"

    async def register_organisation(self) -> dict[str, Any]:
        name = f"Demo Bygg AS (demo {self._run})"
        body = {
            "name": name,
            "organisation_number": organisation_number(self._rng),
            "phone": phone(self._rng),
            "email": self._email("post"),
            "postal_address": {"street": "Byggveien 1", "postal_code": "0150", "city": "Oslo"},
            "payment": {"invoice_email": self._email("faktura"), "billing_reference": "DEMO"},
            "contract_starts_on": "2024-01-01",
        }
        return dict(
            await self._gw.call("POST", "identity", "/organisations", token=self._staff, json=body)
        )

    async def _accept(self, token: str, email: str, name: str) -> Person:
        profile = await self._gw.call(
            "POST",
            "identity",
            "/invitations/accept",
            json={
                "token": token,
                "accept_terms": True,
                "terms_version": TERMS_VERSION,
                "name": name,
                "phone": phone(self._rng),
                "gender": self._rng.choice(GENDERS),
                "language": self._rng.choice(LANGUAGES),
                "password": self._password,
            },
        )
        return Person(
            user_id=str(profile["user_id"]),
            subject_ref=str(profile["subject_ref"]),
            email=email,
            name=name,
            password=self._password,
            token=await self._gw.log_in(email, self._password),
        )

    async def list_person(self, organisation_id: str, role_path: str, local: str) -> Person:
        """Staff list an administrator or contact person, who accepts the invitation."""
        email, name = self._email(local), self._name()
        listed = await self._gw.call(
            "POST",
            "identity",
            f"/organisations/{organisation_id}/{role_path}",
            token=self._staff,
            json={"name": name, "email": email, "phone": phone(self._rng)},
        )
        return await self._accept(listed["invitation"]["token"], email, name)

    async def add_learner(self, organisation_id: str, admin: Person, number: int) -> Person:
        """The administrator invites a learner, who accepts the terms."""
        email = self._email(f"learner{number:03d}")
        invitation = await self._gw.call(
            "POST",
            "identity",
            f"/organisations/{organisation_id}/users",
            token=admin.token,
            json={"email": email},
        )
        return await self._accept(invitation["token"], email, self._name())

    async def grant_licence(self, admin: Person, learner: Person) -> str:
        created = await self._gw.call(
            "POST", "identity", f"/users/{learner.user_id}/licences", token=admin.token
        )
        return str(created["licence_id"])
