"""Cookie choices (R11) and the analytics intake that honours them: events of visitors
without analytics consent are dropped (counted, not stored), from the moment they withdraw."""

from __future__ import annotations

from typing import Any

import httpx

from byggrygg_shared.auth import Role
from consent.bootstrap import Runtime
from consent.domain.cookies import visitor_ref

from ....service_testing import assert_problem
from .conftest import TokenFor
from .support import snapshot


async def _wording(http: httpx.AsyncClient) -> str:
    response = await http.get("/cookies/wording")
    assert response.status_code == 200, response.text
    return str(response.json()["sha256"])


async def _choose(http: httpx.AsyncClient, analytics: bool, **extra: Any) -> dict[str, Any]:
    body = {"analytics": analytics, "wording_sha256": await _wording(http), **extra}
    response = await http.post("/cookies/choice", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _event(http: httpx.AsyncClient, visitor_id: str | None, page: str = "/kurs/1") -> bool:
    body: dict[str, Any] = {"event_name": "page_view", "page_path": page}
    if visitor_id is not None:
        body["visitor_id"] = visitor_id
    response = await http.post("/analytics/events", json=body)
    assert response.status_code == 202, response.text
    return bool(response.json()["stored"])


async def _counts(runtime: Runtime) -> tuple[int, dict[str, int]]:
    stored = await runtime.pool.fetchval("SELECT count(*) FROM analytics_events")
    drops = await runtime.pool.fetch("SELECT reason, dropped FROM analytics_drops")
    return int(stored), {r["reason"]: int(r["dropped"]) for r in drops}


async def test_a_choice_is_recorded_with_evidence_under_a_new_visitor_id(
    http: httpx.AsyncClient, runtime: Runtime, publish_policy: Any
) -> None:
    await publish_policy("2025-1")
    choice = await _choose(http, analytics=True)
    visitor_id = choice["visitor_id"]
    assert (choice["necessary"], choice["analytics"], choice["policy_version"]) == (
        True,
        True,
        "2025-1",
    )
    # The cookie is set, a session cookie (R11: necessary cookies end with the session).
    cookie = http.cookies.get("byggrygg_visitor")
    assert cookie == visitor_id

    read = await http.get("/cookies/choice")  # by cookie
    assert read.status_code == 200
    assert read.json()["analytics"] is True
    # The visitor id itself is stored nowhere; its one-way ref is.
    ref = visitor_ref(visitor_id)
    rows = await runtime.pool.fetch("SELECT payload::text AS p, stream_id FROM events")
    assert all(visitor_id not in r["p"] and visitor_id not in r["stream_id"] for r in rows)
    [payload] = await runtime.pool.fetch(
        "SELECT payload FROM events WHERE event_type = 'no.byggrygg.consent.CookieChoiceRecorded'"
    )
    assert payload["payload"]["subject_ref"] == ref
    assert payload["payload"]["wording_sha256"] == choice["wording_sha256"]


async def test_the_intake_stores_only_with_consent_and_stops_at_withdrawal(
    http: httpx.AsyncClient, runtime: Runtime, publish_policy: Any, staff: dict[str, str]
) -> None:
    await publish_policy()
    # No choice at all, or an unknown visitor: dropped.
    assert await _event(http, None) is False
    assert await _event(http, "n" * 32) is False

    declined = (await _choose(http, analytics=False, visitor_id="d" * 32))["visitor_id"]
    assert await _event(http, declined) is False

    allowed = (await _choose(http, analytics=True, visitor_id="a" * 32))["visitor_id"]
    assert await _event(http, allowed, "/kurs/1?email=kari@example.no#x") is True
    assert await _event(http, allowed) is True

    # Withdrawal: the very next event is dropped.
    assert (await _choose(http, analytics=False, visitor_id=allowed))["analytics"] is False
    assert await _event(http, allowed) is False
    # ... and consenting again lets them in again.
    await _choose(http, analytics=True, visitor_id=allowed)
    assert await _event(http, allowed) is True

    stored, drops = await _counts(runtime)
    assert stored == 3
    assert drops == {"no_choice": 2, "analytics_declined": 2}
    paths = await runtime.pool.fetch("SELECT DISTINCT page_path FROM analytics_events")
    assert [r["page_path"] for r in paths] == ["/kurs/1"]  # the query string is never stored

    # Counts for staff, without visitor ids.
    response = await http.get("/analytics/drops", headers=staff)
    assert response.status_code == 200
    assert {(d["reason"], d["dropped"]) for d in response.json()} == {
        ("no_choice", 2),
        ("analytics_declined", 2),
    }
    summary = (await http.get("/analytics/summary", headers=staff)).json()
    assert [(s["event_kind"], s["page_path"], s["events"]) for s in summary] == [
        ("page_view", "/kurs/1", 3)
    ]
    assert "visitor" not in str(summary)
    assert "visitor" not in response.text

    # The visitor's stream holds every choice, each superseding the last.
    versions = await runtime.pool.fetchval(
        "SELECT count(*) FROM events WHERE stream_id = $1", f"visitor-{visitor_ref(allowed)}"
    )
    assert versions == 3


async def test_bad_input_and_stale_wording_write_nothing(
    http: httpx.AsyncClient, runtime: Runtime, publish_policy: Any, token_for: TokenFor
) -> None:
    assert_problem(await http.get("/cookies/wording"), 409)
    await publish_policy()
    sha = await _wording(http)
    before = await snapshot(runtime.pool)
    bad_choices: list[tuple[dict[str, Any], int]] = [
        ({"analytics": True, "wording_sha256": "0" * 64}, 409),
        ({"analytics": True, "wording_sha256": sha, "necessary": False}, 422),
        ({"analytics": "maybe", "wording_sha256": sha}, 422),
        ({"analytics": True, "wording_sha256": sha, "visitor_id": "short"}, 422),
        ({"analytics": True, "wording_sha256": sha, "visitor_id": "x" * 30 + "\x00"}, 422),
        ({"analytics": True}, 422),
    ]
    for body, status in bad_choices:
        assert_problem(await http.post("/cookies/choice", json=body), status)
    bad_events: list[dict[str, Any]] = [
        {"event_name": "Page View", "page_path": "/"},
        {"event_name": "page_view", "page_path": "kurs/1"},
        {"event_name": "page_view", "page_path": "/" + "x" * 3000},
        {"event_name": "page_view"},
        {"event_name": "page_view", "page_path": "/", "visitor_id": "bad id"},
    ]
    for body in bad_events:
        assert_problem(await http.post("/analytics/events", json=body), 422)
    assert await snapshot(runtime.pool) == before
    assert_problem(await http.get("/cookies/choice?visitor_id=" + "z" * 32), 404)
    assert_problem(await http.get("/cookies/choice"), 404)
    learner = token_for(
        Role.LEARNER, user_id="u1", organisation_id="5b0f6a5e-0000-4000-8000-000000000001"
    )
    assert_problem(await http.get("/analytics/drops", headers=learner), 403)
    assert_problem(await http.get("/analytics/drops"), 401)
