"""Concurrent writers: exactly one of two conflicting requests wins, the other gets 409."""

from __future__ import annotations

import asyncio

from .support import ORG_NUMBERS, Flow, organisation_body


async def test_concurrent_patches_with_the_same_version_give_exactly_one_409(flow: Flow) -> None:
    org = await flow.register()
    admin = await flow.admin(org["organisation_id"], "ola@hansen.example.no")
    kari = await flow.learner(org["organisation_id"], admin, "kari@hansen.example.no")
    url = f"/users/{kari.user_id}"
    for round_ in range(5):
        version = (await flow.http.get(url, headers=kari.headers)).json()["version"]
        responses = await asyncio.gather(
            flow.http.patch(
                url,
                json={"name": f"Kari {round_}"},
                headers={**kari.headers, "If-Match": f'"{version}"'},
            ),
            flow.http.patch(
                url,
                json={"phone": f"+47 900 00 00{round_}"},
                headers={**admin.headers, "If-Match": f'"{version}"'},
            ),
        )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200, 409], [r.text for r in responses]
        after = (await flow.http.get(url, headers=kari.headers)).json()
        assert after["version"] == version + 1
        async with flow.runtime.pool.acquire() as conn:
            events = await conn.fetchval(
                "SELECT count(*) FROM events WHERE stream_id = $1", f"user-{kari.user_id}"
            )
        assert events == after["version"]


async def test_concurrent_invitations_of_one_address_give_exactly_one_409(flow: Flow) -> None:
    org = await flow.register()
    admin = await flow.admin(org["organisation_id"], "ola@hansen.example.no")
    url = f"/organisations/{org['organisation_id']}/users"
    responses = await asyncio.gather(
        *(
            flow.http.post(url, json={"email": "same@hansen.example.no"}, headers=admin.headers)
            for _ in range(4)
        )
    )
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]


async def test_concurrent_registrations_of_one_number_give_one_organisation(flow: Flow) -> None:
    responses = await asyncio.gather(
        *(
            flow.http.post(
                "/organisations",
                json=organisation_body(ORG_NUMBERS[2]),
                headers=flow.staff,
            )
            for _ in range(3)
        )
    )
    assert sorted(r.status_code for r in responses) == [201, 409, 409]
    async with flow.runtime.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM organisations") == 1
        assert await conn.fetchval("SELECT count(*) FROM events") == 1
