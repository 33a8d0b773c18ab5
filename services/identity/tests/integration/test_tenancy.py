"""Every query is scoped to the caller's organisation (DESIGN §7): another tenant's ids answer
404 exactly like ids that do not exist; a role that may not act in its own tenant gets 403."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from .support import ORG_NUMBERS, Flow, Member, snapshot


class TwoTenants:
    def __init__(self, flow: Flow) -> None:
        self.flow = flow

    async def build(self) -> TwoTenants:
        self.a = await self.flow.register(ORG_NUMBERS[0])
        self.b = await self.flow.register(ORG_NUMBERS[1], name="Rørlegger Berg AS")
        self.admin_a = await self.flow.admin(self.a["organisation_id"], "admin@a.example.no")
        self.admin_b = await self.flow.admin(self.b["organisation_id"], "admin@b.example.no")
        self.learner_b = await self.flow.learner(
            self.b["organisation_id"], self.admin_b, "learner@b.example.no"
        )
        granted = await self.flow.http.post(
            f"/users/{self.learner_b.user_id}/licences", headers=self.admin_b.headers
        )
        self.licence_b = granted.json()["licence_id"]
        return self


@pytest.fixture
async def tenants(flow: Flow) -> TwoTenants:
    return await TwoTenants(flow).build()


def _comparable(response: httpx.Response) -> dict[str, Any]:
    body = dict(response.json())
    body.pop("instance", None)  # the path differs by construction
    body.pop("request_id", None)
    return body


async def test_another_tenants_ids_look_like_missing_ones(tenants: TwoTenants) -> None:
    http, admin_a = tenants.flow.http, tenants.admin_a.headers
    b_org, b_user = tenants.b["organisation_id"], tenants.learner_b.user_id
    missing_org, missing_user = uuid.uuid4(), uuid.uuid4()
    pairs = [
        (
            lambda o: http.get(f"/organisations/{o}", headers=admin_a),
            b_org,
            missing_org,
        ),
        (
            lambda o: http.post(
                f"/organisations/{o}/users", json={"email": "x@a.example.no"}, headers=admin_a
            ),
            b_org,
            missing_org,
        ),
        (lambda u: http.get(f"/users/{u}", headers=admin_a), b_user, missing_user),
        (
            lambda u: http.patch(
                f"/users/{u}", json={"name": "Hacked"}, headers={**admin_a, "If-Match": '"2"'}
            ),
            b_user,
            missing_user,
        ),
        (lambda u: http.post(f"/users/{u}/licences", headers=admin_a), b_user, missing_user),
        (
            lambda u: http.delete(f"/users/{u}/licences/{tenants.licence_b}", headers=admin_a),
            b_user,
            missing_user,
        ),
    ]
    before = await snapshot(tenants.flow.runtime.pool)
    for send, foreign, missing in pairs:
        other_tenant = await send(foreign)
        nowhere = await send(missing)
        assert other_tenant.status_code == 404, other_tenant.text
        assert _comparable(other_tenant) == _comparable(nowhere)
    assert await snapshot(tenants.flow.runtime.pool) == before


async def test_the_other_tenants_data_is_untouched(tenants: TwoTenants) -> None:
    user = await tenants.flow.http.get(
        f"/users/{tenants.learner_b.user_id}", headers=tenants.admin_b.headers
    )
    assert user.json()["name"] == "Kari Nordmann"
    assert user.json()["licences"][0]["active"] is True


async def test_within_a_tenant_roles_decide(tenants: TwoTenants) -> None:
    http = tenants.flow.http
    learner: Member = tenants.learner_b
    # Own organisation, but a learner is not an administrator or contact person: 403, not 404.
    response = await http.get(
        f"/organisations/{tenants.b['organisation_id']}", headers=learner.headers
    )
    assert response.status_code == 403
    # Platform staff see organisations but not users' profiles (the customer's data, R7).
    staff = tenants.flow.staff
    assert (
        await http.get(f"/organisations/{tenants.b['organisation_id']}", headers=staff)
    ).status_code == 200
    assert (await http.get(f"/users/{learner.user_id}", headers=staff)).status_code == 403
    # Staff cannot invite users into an organisation either: customers add users (R7).
    invited = await http.post(
        f"/organisations/{tenants.b['organisation_id']}/users",
        json={"email": "x@b.example.no"},
        headers=staff,
    )
    assert invited.status_code == 403
