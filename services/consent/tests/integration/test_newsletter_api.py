"""Newsletter consent (R8) through the API with real mail: double opt-in, evidence, one-click
withdrawal, and a send list that never holds an unconfirmed or withdrawn address."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from byggrygg_shared.auth import Role
from byggrygg_shared.keyring import is_token
from consent.bootstrap import Runtime

from ....service_testing import MovableClock, assert_problem
from .conftest import PUBLIC_URL, TokenFor
from .support import MailSink, links_in, relative, snapshot

KARI = "kari@example.no"


def signup(wording: dict[str, Any], email: str = KARI, **changes: Any) -> dict[str, Any]:
    body = {
        "name": "Kari Nordmann",
        "email": email,
        "role": "daglig leder",
        "wording_sha256": wording["sha256"],
    }
    body.update(changes)
    return body


class Newsletter:
    """The sign-up story through the real API and the real mail."""

    def __init__(self, http: httpx.AsyncClient, runtime: Runtime, sink: MailSink) -> None:
        self.http = http
        self.runtime = runtime
        self.sink = sink

    async def wording(self) -> dict[str, Any]:
        response = await self.http.get("/newsletter/wording")
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def subscribe(self, email: str = KARI, **changes: Any) -> tuple[str, str]:
        """Sign up; returns the (confirm, withdraw) paths from the mail that arrives."""
        already = len(self.sink.messages)
        response = await self.http.post(
            "/newsletter/subscriptions", json=signup(await self.wording(), email, **changes)
        )
        assert response.status_code == 202, response.text
        await self.runtime.mail_sender.send_due()
        assert len(self.sink.messages) == already + 1
        mail = self.sink.messages[-1]
        assert mail["To"] == email
        confirm, withdraw = links_in(mail)
        assert mail["List-Unsubscribe"] == f"<{withdraw}>"
        return relative(confirm, PUBLIC_URL), relative(withdraw, PUBLIC_URL)

    async def recipients(self, staff: dict[str, str]) -> list[str]:
        response = await self.http.get("/newsletter/recipients", headers=staff)
        assert response.status_code == 200, response.text
        return [r["email"] for r in response.json()]


async def _events(runtime: Runtime) -> list[dict[str, Any]]:
    rows = await runtime.pool.fetch(
        "SELECT event_type, payload FROM events WHERE stream_id LIKE 'newsletter-%' "
        "ORDER BY global_position"
    )
    return [{"type": r["event_type"].rsplit(".", 1)[1], **r["payload"]} for r in rows]


async def test_double_opt_in_records_the_consent_with_its_evidence(
    http: httpx.AsyncClient,
    runtime: Runtime,
    mail_sink: MailSink,
    publish_policy: Any,
    staff: dict[str, str],
) -> None:
    await publish_policy("2025-1")
    flow = Newsletter(http, runtime, mail_sink)
    wording = await flow.wording()
    assert wording["policy_version"] == "2025-1"
    assert "2025-1" in wording["text"]

    confirm, _ = await flow.subscribe()
    # Signed up but not confirmed: not on the send list.
    assert await flow.recipients(staff) == []

    # Opening the link shows a page and changes nothing (mail scanners fetch links).
    before = await snapshot(runtime.pool)
    page = await http.get(confirm)
    assert page.status_code == 200
    assert "<form method='post'>" in page.text
    assert await snapshot(runtime.pool) == before

    confirmed = await http.post(confirm)
    assert confirmed.status_code == 200, confirmed.text
    subscription_id = confirmed.json()["subscription_id"]
    assert await flow.recipients(staff) == [KARI]

    requested, given = await _events(runtime)
    assert requested["type"] == "NewsletterSubscriptionRequested"
    for field in ("name", "email", "role"):
        assert is_token(requested[field]), field  # never plaintext in the event store
    assert given == {
        "type": "ConsentGiven",
        "subscription_id": subscription_id,
        "subject_ref": requested["subject_ref"],
        "purpose": "newsletter",
        "given_at": given["given_at"],
        "policy_version": "2025-1",
        "wording_sha256": wording["sha256"],
        "wording_text": wording["text"],
        "method": "web_form+double_opt_in",
    }
    evidence = (
        await http.get(f"/newsletter/subscriptions/{subscription_id}", headers=staff)
    ).json()
    assert evidence["status"] == "confirmed"
    assert evidence["wording_sha256"] == wording["sha256"]

    # The link works once.
    assert_problem(await http.post(confirm), 404)


async def test_one_click_withdrawal_takes_the_address_off_the_list(
    http: httpx.AsyncClient,
    runtime: Runtime,
    mail_sink: MailSink,
    publish_policy: Any,
    staff: dict[str, str],
) -> None:
    await publish_policy()
    flow = Newsletter(http, runtime, mail_sink)
    confirm, withdraw = await flow.subscribe()
    await http.post(confirm)
    other_confirm, _ = await flow.subscribe("ola@example.no", name="Ola")
    await http.post(other_confirm)
    listed = (await http.get("/newsletter/recipients", headers=staff)).json()
    assert sorted(r["email"] for r in listed) == [KARI, "ola@example.no"]
    # The send list's withdrawal link for Kari is the one in her mail.
    kari = next(r for r in listed if r["email"] == KARI)
    assert relative(kari["withdrawal_url"], PUBLIC_URL) == withdraw

    # RFC 8058 one-click: a bare POST to the link.
    response = await http.post(withdraw, content=b"List-Unsubscribe=One-Click")
    assert response.status_code == 200
    assert response.json()["changed"] is True
    assert await flow.recipients(staff) == ["ola@example.no"]
    row = await runtime.pool.fetchrow(
        "SELECT status, name, email, role FROM newsletter_subscriptions "
        "WHERE subscription_id = $1::uuid",
        kari["subscription_id"],
    )
    assert dict(row) == {"status": "withdrawn", "name": None, "email": None, "role": None}
    withdrawn = (await _events(runtime))[-1]
    assert withdrawn["type"] == "ConsentWithdrawn"
    assert (withdrawn["was_confirmed"], withdrawn["method"], withdrawn["by"]) == (
        True,
        "one_click_link",
        "subscriber",
    )
    # Again: nothing changes.
    assert (await http.post(withdraw)).json()["changed"] is False
    # A forged token is refused.
    query = parse_qs(urlsplit(withdraw).query)
    forged = f"/newsletter/withdraw?subscription_id={query['subscription_id'][0]}&token={'A' * 43}"
    assert_problem(await http.post(forged), 404)


async def test_resubscribing_after_withdrawal_is_a_new_consent(
    http: httpx.AsyncClient,
    runtime: Runtime,
    mail_sink: MailSink,
    publish_policy: Any,
    staff: dict[str, str],
    clock: MovableClock,
) -> None:
    await publish_policy("2025-1")
    flow = Newsletter(http, runtime, mail_sink)
    confirm, withdraw = await flow.subscribe()
    await http.post(confirm)
    await http.post(withdraw)
    clock.advance(timedelta(days=1))
    await publish_policy("2025-2")
    confirm_again, _ = await flow.subscribe()
    assert await flow.recipients(staff) == []
    await http.post(confirm_again)
    assert await flow.recipients(staff) == [KARI]

    given = [e for e in await _events(runtime) if e["type"] == "ConsentGiven"]
    assert [g["policy_version"] for g in given] == ["2025-1", "2025-2"]
    assert given[0]["subscription_id"] != given[1]["subscription_id"]
    assert given[0]["wording_sha256"] != given[1]["wording_sha256"]


async def test_signing_up_again_while_pending_replaces_the_link(
    http: httpx.AsyncClient,
    runtime: Runtime,
    mail_sink: MailSink,
    publish_policy: Any,
    staff: dict[str, str],
) -> None:
    await publish_policy()
    flow = Newsletter(http, runtime, mail_sink)
    first, _ = await flow.subscribe()
    second, _ = await flow.subscribe(name="Kari N.")
    assert_problem(await http.post(first), 404)  # replaced
    assert (await http.post(second)).status_code == 200
    listed = (await http.get("/newsletter/recipients", headers=staff)).json()
    assert [(r["email"], r["name"]) for r in listed] == [(KARI, "Kari N.")]
    # Already confirmed: the same answer, nothing written, no mail.
    before = await snapshot(runtime.pool)
    response = await http.post("/newsletter/subscriptions", json=signup(await flow.wording()))
    assert response.status_code == 202
    assert await snapshot(runtime.pool) == before


async def test_an_expired_link_confirms_nothing(
    http: httpx.AsyncClient,
    runtime: Runtime,
    mail_sink: MailSink,
    publish_policy: Any,
    staff: dict[str, str],
    clock: MovableClock,
) -> None:
    await publish_policy()
    confirm, _ = await Newsletter(http, runtime, mail_sink).subscribe()
    clock.advance(timedelta(hours=49))
    assert_problem(await http.post(confirm), 410)
    assert (await http.get("/newsletter/recipients", headers=staff)).json() == []


async def test_stale_or_unknown_wording_and_bad_input_write_nothing(
    http: httpx.AsyncClient,
    runtime: Runtime,
    mail_sink: MailSink,
    publish_policy: Any,
    clock: MovableClock,
) -> None:
    flow = Newsletter(http, runtime, mail_sink)
    # No policy in effect: no consent can be asked for.
    assert_problem(await http.get("/newsletter/wording"), 409)
    await publish_policy("2025-1")
    old = await flow.wording()
    clock.advance(timedelta(days=1))
    await publish_policy("2025-2")
    before = await snapshot(runtime.pool)
    bad: list[tuple[dict[str, Any], int]] = [
        (signup(old), 409),  # stale: shown under the previous policy version
        (signup(old, wording_sha256="0" * 64), 409),  # unknown
        (signup(old, wording_sha256="not-a-hash"), 422),
        (signup(old, email="not an address"), 422),
        (signup(old, name=""), 422),
        (signup(old, name="Kari\x00"), 422),
        (signup(old, role="x" * 201), 422),
        ({**signup(old), "ip": "10.0.0.1"}, 422),
    ]
    for body, status in bad:
        assert_problem(await http.post("/newsletter/subscriptions", json=body), status)
    assert_problem(await http.post("/newsletter/confirm?token=short"), 422)
    assert_problem(await http.post("/newsletter/confirm?token=" + "x" * 40), 404)
    assert await snapshot(runtime.pool) == before
    await runtime.mail_sender.send_due()
    assert mail_sink.messages == []


async def test_staff_withdraw_and_only_staff_see_the_list(
    http: httpx.AsyncClient,
    runtime: Runtime,
    mail_sink: MailSink,
    publish_policy: Any,
    staff: dict[str, str],
    token_for: TokenFor,
) -> None:
    await publish_policy()
    flow = Newsletter(http, runtime, mail_sink)
    confirm, _ = await flow.subscribe()
    subscription_id = (await http.post(confirm)).json()["subscription_id"]

    learner = token_for(
        Role.LEARNER, user_id="u1", organisation_id="5b0f6a5e-0000-4000-8000-000000000001"
    )
    assert_problem(await http.get("/newsletter/recipients"), 401)
    assert_problem(await http.get("/newsletter/recipients", headers=learner), 403)
    path = f"/newsletter/subscriptions/{subscription_id}/withdraw"
    assert_problem(await http.post(path, headers=learner), 403)
    assert await flow.recipients(staff) == [KARI]

    response = await http.post(path, headers=staff)
    assert response.status_code == 200
    assert response.json()["changed"] is True
    assert await flow.recipients(staff) == []
    withdrawn = (await _events(runtime))[-1]
    assert (withdrawn["by"], withdrawn["withdrawn_by"], withdrawn["method"]) == (
        "staff",
        "staff-1",
        "staff_api",
    )
    missing = "/newsletter/subscriptions/5b0f6a5e-0000-4000-8000-000000000009/withdraw"
    assert_problem(await http.post(missing, headers=staff), 404)
