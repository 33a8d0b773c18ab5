"""Bad requests get a problem document, never a 500, and change nothing: the tables, the
projections and the events table are byte-for-byte what they were before (DESIGN §7)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from ....service_testing import MovableClock, assert_problem
from .support import ORG_NUMBERS, PASSWORD, Flow, Member, acceptance, organisation_body, snapshot


class World:
    """An organisation with an administrator and a learner who holds a licence."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow

    async def build(self) -> World:
        self.org = await self.flow.register(ORG_NUMBERS[0])
        self.org_id = self.org["organisation_id"]
        self.admin = await self.flow.admin(self.org_id, "ola@hansen.example.no")
        self.kari = await self.flow.learner(self.org_id, self.admin, "kari@hansen.example.no")
        invited = await self.flow.http.post(
            f"/organisations/{self.org_id}/users",
            json={"email": "pending@hansen.example.no"},
            headers=self.admin.headers,
        )
        self.pending_token = invited.json()["token"]
        granted = await self.flow.http.post(
            f"/users/{self.kari.user_id}/licences", headers=self.admin.headers
        )
        self.licence_id = granted.json()["licence_id"]
        return self


@pytest.fixture
async def world(flow: Flow) -> World:
    return await World(flow).build()


async def rejected(
    flow: Flow, status: int, send: Callable[[], Awaitable[httpx.Response]]
) -> dict[str, Any]:
    """Send a request that must be refused with `status` and must write nothing."""
    before = await snapshot(flow.runtime.pool)
    response = await send()
    problem = assert_problem(response, status)
    assert await snapshot(flow.runtime.pool) == before, "a refused request changed the database"
    return problem


def staff_post(flow: Flow, url: str, **kw: Any) -> Callable[[], Awaitable[httpx.Response]]:
    return lambda: flow.http.post(url, headers=flow.staff, **kw)


# --- organisations ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number", ["992797011", "99279701", "abcdefghi", "992 797 01X", "123456789"]
)
async def test_an_invalid_organisation_number_is_422(world: World, number: str) -> None:
    problem = await rejected(
        world.flow, 422, staff_post(world.flow, "/organisations", json=organisation_body(number))
    )
    assert problem["errors"][0]["loc"] == ["body", "organisation_number"]


async def test_a_registered_organisation_number_is_409(world: World) -> None:
    await rejected(
        world.flow,
        409,
        staff_post(world.flow, "/organisations", json=organisation_body("992 797 010")),
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"email": "not-an-email"},
        {"phone": "call me"},
        {"name": ""},
        {"contract_starts_on": "yesterday"},
        {"unexpected": "field"},
        {"postal_address": {"street": "Gate 1", "city": "Oslo"}},
    ],
)
async def test_invalid_organisation_fields_are_422(world: World, changes: dict[str, Any]) -> None:
    body = organisation_body(ORG_NUMBERS[1], **changes)
    await rejected(world.flow, 422, staff_post(world.flow, "/organisations", json=body))


async def test_a_contract_ending_before_it_starts_is_422(world: World) -> None:
    body = organisation_body(ORG_NUMBERS[1], contract_ends_on="2023-12-31")
    await rejected(world.flow, 422, staff_post(world.flow, "/organisations", json=body))
    end = {"ended_on": "2023-12-31"}
    url = f"/organisations/{world.org_id}/end-contract"
    await rejected(world.flow, 422, staff_post(world.flow, url, json=end))


async def test_a_repeated_retention_reason_is_422(world: World) -> None:
    body = {"ended_on": "2025-01-01", "retention_reasons": ["bookkeeping", "bookkeeping"]}
    url = f"/organisations/{world.org_id}/end-contract"
    await rejected(world.flow, 422, staff_post(world.flow, url, json=body))


@pytest.mark.parametrize(
    "content",
    [b'{"name": "Broken', b"not json at all", b'{"name": "x",}'],
)
async def test_malformed_json_is_400(world: World, content: bytes) -> None:
    headers = {**world.flow.staff, "Content-Type": "application/json"}
    problem = await rejected(
        world.flow,
        400,
        lambda: world.flow.http.post("/organisations", content=content, headers=headers),
    )
    assert "Broken" not in str(problem)  # the input is never echoed


async def test_unknown_organisation_ids_are_404(world: World) -> None:
    unknown = uuid.uuid4()
    for url, body in [
        (f"/organisations/{unknown}/end-contract", {"ended_on": "2025-01-01"}),
        (f"/organisations/{unknown}/admins", {"name": "A", "email": "a@hansen.example.no"}),
        (
            f"/organisations/{unknown}/contact-persons",
            {"name": "A", "email": "a@hansen.example.no"},
        ),
    ]:
        await rejected(world.flow, 404, staff_post(world.flow, url, json=body))
    await rejected(
        world.flow,
        404,
        lambda: world.flow.http.get(f"/organisations/{unknown}", headers=world.flow.staff),
    )


async def test_a_non_uuid_id_is_422(world: World) -> None:
    await rejected(
        world.flow, 422, lambda: world.flow.http.get("/organisations/42", headers=world.flow.staff)
    )


@pytest.mark.parametrize("who", ["admin", "kari"])
async def test_only_staff_register_organisations_and_end_contracts(world: World, who: str) -> None:
    member: Member = getattr(world, who)
    body = organisation_body(ORG_NUMBERS[1])
    await rejected(
        world.flow,
        403,
        lambda: world.flow.http.post("/organisations", json=body, headers=member.headers),
    )
    url = f"/organisations/{world.org_id}/end-contract"
    await rejected(
        world.flow,
        403,
        lambda: world.flow.http.post(url, json={"ended_on": "2025-01-01"}, headers=member.headers),
    )
    person = {"name": "A", "email": "a@hansen.example.no"}
    await rejected(
        world.flow,
        403,
        lambda: world.flow.http.post(
            f"/organisations/{world.org_id}/admins", json=person, headers=member.headers
        ),
    )


async def test_no_or_a_bad_token_is_401(world: World) -> None:
    body = organisation_body(ORG_NUMBERS[1])
    await rejected(world.flow, 401, lambda: world.flow.http.post("/organisations", json=body))
    bad = {"Authorization": "Bearer " + world.flow.staff_token[:-4] + "AAAA"}
    await rejected(
        world.flow, 401, lambda: world.flow.http.post("/organisations", json=body, headers=bad)
    )


# --- e-mail uniqueness --------------------------------------------------------------------


@pytest.mark.parametrize(
    "email",
    [
        "kari@hansen.example.no",
        " KARI@Hansen.example.no",
        "pending@hansen.example.no",
        "staff@byggrygg.example.no",
    ],
)
async def test_an_address_in_use_cannot_be_invited_again(world: World, email: str) -> None:
    await rejected(
        world.flow,
        409,
        lambda: world.flow.http.post(
            f"/organisations/{world.org_id}/users",
            json={"email": email},
            headers=world.admin.headers,
        ),
    )


async def test_listing_a_person_whose_address_is_taken_is_409(world: World) -> None:
    url = f"/organisations/{world.org_id}/contact-persons"
    # Taken by a user (the listing itself would be new): the whole command is undone, event too.
    body = {"name": "Kari", "email": "kari@hansen.example.no"}
    await rejected(world.flow, 409, staff_post(world.flow, url, json=body))
    # Already listed as this organisation's administrator.
    body = {"name": "Ola", "email": "ola@hansen.example.no"}
    await rejected(world.flow, 409, staff_post(world.flow, url, json=body))


async def test_correcting_to_an_address_in_use_is_409(world: World) -> None:
    await rejected(
        world.flow,
        409,
        lambda: world.flow.http.patch(
            f"/users/{world.kari.user_id}",
            json={"email": "ola@hansen.example.no"},
            headers={**world.kari.headers, "If-Match": '"2"'},
        ),
    )


# --- users --------------------------------------------------------------------------------


async def test_unknown_user_and_licence_ids_are_404(world: World) -> None:
    admin = world.admin.headers
    unknown = uuid.uuid4()
    http = world.flow.http
    await rejected(world.flow, 404, lambda: http.get(f"/users/{unknown}", headers=admin))
    await rejected(
        world.flow,
        404,
        lambda: http.patch(
            f"/users/{unknown}", json={"name": "X"}, headers={**admin, "If-Match": '"1"'}
        ),
    )
    await rejected(world.flow, 404, lambda: http.post(f"/users/{unknown}/licences", headers=admin))
    await rejected(
        world.flow,
        404,
        lambda: http.delete(f"/users/{world.kari.user_id}/licences/{unknown}", headers=admin),
    )


async def test_a_stale_or_missing_if_match_is_refused(world: World) -> None:
    url = f"/users/{world.kari.user_id}"
    headers = world.kari.headers
    http = world.flow.http
    await rejected(
        world.flow,
        409,
        lambda: http.patch(url, json={"name": "X"}, headers={**headers, "If-Match": '"1"'}),
    )
    await rejected(world.flow, 428, lambda: http.patch(url, json={"name": "X"}, headers=headers))
    await rejected(
        world.flow,
        400,
        lambda: http.patch(url, json={"name": "X"}, headers={**headers, "If-Match": "*"}),
    )


@pytest.mark.parametrize(
    "body",
    [
        {"name": None},
        {"email": None},
        {"language": "sv"},
        {"gender": "unknown"},
        {"phone": "12"},
        {"subject_ref": "subj_x"},
    ],
)
async def test_invalid_corrections_are_422(world: World, body: dict[str, Any]) -> None:
    await rejected(
        world.flow,
        422,
        lambda: world.flow.http.patch(
            f"/users/{world.kari.user_id}",
            json=body,
            headers={**world.kari.headers, "If-Match": '"2"'},
        ),
    )


async def test_a_learner_cannot_act_as_administrator(world: World) -> None:
    kari = world.kari.headers
    http = world.flow.http
    await rejected(
        world.flow,
        403,
        lambda: http.post(
            f"/organisations/{world.org_id}/users",
            json={"email": "x@hansen.example.no"},
            headers=kari,
        ),
    )
    await rejected(world.flow, 403, lambda: http.get(f"/users/{world.admin.user_id}", headers=kari))
    await rejected(
        world.flow,
        403,
        lambda: http.delete(
            f"/users/{world.kari.user_id}/licences/{world.licence_id}", headers=kari
        ),
    )
    await rejected(
        world.flow, 403, lambda: http.get(f"/organisations/{world.org_id}", headers=kari)
    )


# --- invitations --------------------------------------------------------------------------


async def test_accepting_outdated_terms_is_409(world: World) -> None:
    body = acceptance(world.pending_token, terms_version="2023-1")
    await rejected(world.flow, 409, lambda: world.flow.http.post("/invitations/accept", json=body))


async def test_not_accepting_the_terms_or_a_short_password_is_422(world: World) -> None:
    for body in (
        acceptance(world.pending_token, accept_terms=False),
        acceptance(world.pending_token, password="short"),
        acceptance(world.pending_token, language="de"),
    ):
        await rejected(
            world.flow,
            422,
            lambda body=body: world.flow.http.post("/invitations/accept", json=body),
        )


async def test_an_unknown_or_used_token_is_404(world: World) -> None:
    body = acceptance("x" * 43)
    await rejected(world.flow, 404, lambda: world.flow.http.post("/invitations/accept", json=body))
    await world.flow.accept(world.pending_token, "pending@hansen.example.no")
    again = acceptance(world.pending_token)
    await rejected(world.flow, 404, lambda: world.flow.http.post("/invitations/accept", json=again))


async def test_an_expired_invitation_is_410(world: World, clock: MovableClock) -> None:
    clock.advance(timedelta(hours=73))
    body = acceptance(world.pending_token)
    await rejected(world.flow, 410, lambda: world.flow.http.post("/invitations/accept", json=body))


async def test_login_with_bad_input(world: World) -> None:
    http = world.flow.http
    await rejected(
        world.flow, 422, lambda: http.post("/auth/token", json={"email": "x", "password": PASSWORD})
    )
    await rejected(
        world.flow,
        401,
        lambda: http.post(
            "/auth/token", json={"email": "kari@hansen.example.no", "password": "no"}
        ),
    )
