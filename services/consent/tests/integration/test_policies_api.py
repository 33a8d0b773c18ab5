"""Privacy-policy versions (R20) through the API: staff publish, anyone reads; versions are
immutable, older ones stay retrievable, bad input writes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from byggrygg_shared.auth import Role
from consent.bootstrap import Runtime

from ....service_testing import MovableClock, assert_problem
from .conftest import TokenFor
from .support import snapshot


async def test_publish_then_read_current_and_older_versions(
    http: httpx.AsyncClient, publish_policy: Any, clock: MovableClock, runtime: Runtime
) -> None:
    assert_problem(await http.get("/policies/current"), 404)
    first = await publish_policy("2024-1", text="Versjon én.\n\nMed avsnitt.")
    assert first["text_sha256"]
    assert first["text"] == "Versjon én.\n\nMed avsnitt."
    assert (await http.get("/policies/current")).json()["version"] == "2024-1"

    # A version published for tomorrow is not current until tomorrow.
    tomorrow = clock().date() + timedelta(days=1)
    await publish_policy("2025-1", text="Versjon to.", effective_on=tomorrow)
    assert (await http.get("/policies/current")).json()["version"] == "2024-1"
    clock.advance(timedelta(days=1))
    current = (await http.get("/policies/current")).json()
    assert (current["version"], current["text"]) == ("2025-1", "Versjon to.")

    older = await http.get("/policies/2024-1")
    assert older.status_code == 200
    assert older.json()["text"] == "Versjon én.\n\nMed avsnitt."
    listed = (await http.get("/policies")).json()
    assert [v["version"] for v in listed] == ["2025-1", "2024-1"]
    assert "text" not in listed[0]
    # One PolicyPublished event per version, in the outbox.
    rows = await runtime.pool.fetch("SELECT stream_id, event_type FROM events ORDER BY 1")
    assert [(r["stream_id"], r["event_type"]) for r in rows] == [
        ("policy-2024-1", "no.byggrygg.consent.PolicyPublished"),
        ("policy-2025-1", "no.byggrygg.consent.PolicyPublished"),
    ]


async def test_a_published_version_never_changes(
    http: httpx.AsyncClient, publish_policy: Any, staff: dict[str, str], runtime: Runtime
) -> None:
    await publish_policy("2024-1", text="Original.")
    before = await snapshot(runtime.pool)
    response = await http.post(
        "/policies",
        json={"version": "2024-1", "text": "Endret!", "effective_on": "2999-01-01"},
        headers=staff,
    )
    assert assert_problem(response, 409)["type"].endswith("/policy-version-exists")
    assert await snapshot(runtime.pool) == before
    assert (await http.get("/policies/2024-1")).json()["text"] == "Original."


async def test_only_staff_publish(
    http: httpx.AsyncClient, token_for: TokenFor, runtime: Runtime
) -> None:
    body = {"version": "2024-1", "text": "x", "effective_on": "2999-01-01"}
    before = await snapshot(runtime.pool)
    assert_problem(await http.post("/policies", json=body), 401)
    for role in (Role.LEARNER, Role.ORG_ADMIN, Role.CONTACT_PERSON):
        headers = token_for(
            role, user_id="u1", organisation_id="5b0f6a5e-0000-4000-8000-000000000001"
        )
        assert_problem(await http.post("/policies", json=body, headers=headers), 403)
    assert await snapshot(runtime.pool) == before


async def test_bad_input_is_refused_and_writes_nothing(
    http: httpx.AsyncClient, staff: dict[str, str], runtime: Runtime, clock: MovableClock
) -> None:
    yesterday = (clock().date() - timedelta(days=1)).isoformat()
    today = clock().date().isoformat()
    before = await snapshot(runtime.pool)
    bad: list[tuple[dict[str, Any], int]] = [
        ({"version": "2024-1", "text": "x", "effective_on": yesterday}, 422),
        ({"version": "current", "text": "x", "effective_on": today}, 422),
        ({"version": "a/b", "text": "x", "effective_on": today}, 422),
        ({"version": "2024-1", "text": "", "effective_on": today}, 422),
        ({"version": "2024-1", "text": "nul\x00", "effective_on": today}, 422),
        ({"version": "2024-1", "text": "x", "effective_on": "99999-01-01"}, 422),
        ({"version": "2024-1", "text": "x", "effective_on": today, "extra": 1}, 422),
        ({"version": "2024-1", "text": "x"}, 422),
    ]
    for body, status in bad:
        assert_problem(await http.post("/policies", json=body, headers=staff), status)
    response = await http.post(
        "/policies", content=b"{not json", headers={**staff, "content-type": "application/json"}
    )
    assert response.status_code in (400, 422)
    assert await snapshot(runtime.pool) == before
    assert_problem(await http.get("/policies/nope"), 404)


async def test_swagger_works_behind_the_gateway_prefix(http: httpx.AsyncClient) -> None:
    page = await http.get("/docs", headers={"X-Forwarded-Prefix": "/api/consent"})
    assert page.status_code == 200
    assert "/api/consent/openapi.json" in page.text
    assert (await http.get("/openapi.json")).status_code == 200
