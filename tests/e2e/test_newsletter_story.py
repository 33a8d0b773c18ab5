"""The newsletter story (R8) end to end on the platform of `make up`, through the gateway.

A visitor reads the consent wording, signs up, and the confirmation mail arrives in the local
mail sink (real SMTP, read from its Maildir). Its link leads through the gateway
(http://127.0.0.1:8080/api/consent/...): opening it only shows a page (a mail scanner confirms
nothing); its button confirms. Then, and only then, the address is on the send list, with the
evidence of the consent (policy version, the hash of the exact wording). The one-click link of
the mail (RFC 8058 List-Unsubscribe) withdraws it, and it leaves the list.

Needs `make up` (consent, identity, the gateway and the mail sink); fails, never skips, with
"run make up" when they are not running.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from ..local_platform import GATEWAY, make_staff_account, require_gateway_route
from ..mail_reader import MailReader
from ..platform_processes import MailSink

CONSENT = f"{GATEWAY}/api/consent"


@dataclass(frozen=True)
class Consent:
    """consent behind the gateway, with a platform-staff token for the staff-only routes."""

    http: httpx.AsyncClient
    staff_token: str

    @property
    def staff(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.staff_token}"}

    async def send_list(self) -> list[dict[str, Any]]:
        response = await self.http.get(f"{CONSENT}/newsletter/recipients", headers=self.staff)
        assert response.status_code == 200, response.text
        return list(response.json())

    async def on_send_list(self, email: str) -> list[dict[str, Any]]:
        return [row for row in await self.send_list() if row["email"].lower() == email.lower()]


@pytest_asyncio.fixture(loop_scope="session")
async def consent(tmp_path: Path) -> AsyncIterator[Consent]:
    async with httpx.AsyncClient(timeout=30.0) as http:
        await require_gateway_route(http, "identity")
        await require_gateway_route(http, "consent")
        _, token = await make_staff_account(http, tmp_path)
        yield Consent(http=http, staff_token=token)


async def _current_policy(consent: Consent) -> str:
    """The version in effect; publishes one when the platform has none yet (a fresh `.run`)."""
    current = await consent.http.get(f"{CONSENT}/policies/current")
    if current.status_code == 200:
        return str(current.json()["version"])
    assert current.status_code == 404, current.text
    version = f"e2e-{uuid.uuid4().hex[:8]}"
    published = await consent.http.post(
        f"{CONSENT}/policies",
        headers=consent.staff,
        json={
            "version": version,
            "effective_on": datetime.now(UTC).date().isoformat(),
            "text": "Personvernerklæring for ByggRygg (publisert av ende-til-ende-testen).",
        },
    )
    assert published.status_code in (201, 409), published.text  # 409: another test was first
    current = await consent.http.get(f"{CONSENT}/policies/current")
    assert current.status_code == 200, current.text
    return str(current.json()["version"])


async def test_sign_up_confirm_by_mail_then_withdraw_by_one_click_link(
    consent: Consent, mail_sink: MailSink
) -> None:
    policy_version = await _current_policy(consent)
    email = f"nyhetsbrev-{uuid.uuid4().hex[:12]}@e2e.example.no"
    mails = MailReader(mail_sink.maildir)

    # The wording to show, and its hash, which the sign-up sends back.
    wording = await consent.http.get(f"{CONSENT}/newsletter/wording")
    assert wording.status_code == 200, wording.text
    shown = wording.json()
    assert shown["policy_version"] == policy_version
    assert shown["sha256"] == hashlib.sha256(shown["text"].encode()).hexdigest()

    signup = await consent.http.post(
        f"{CONSENT}/newsletter/subscriptions",
        json={
            "name": "Åse Nyhetsleser",
            "email": email,
            "role": "daglig leder",
            "wording_sha256": shown["sha256"],
        },
    )
    assert signup.status_code == 202, signup.text
    # Unconfirmed: not on the send list (double opt-in).
    assert await consent.on_send_list(email) == []

    # The confirmation mail reaches the sink; its links lead through the gateway.
    [mail] = await mails.wait_for(email)
    [confirm_link] = mail.links(f"{CONSENT}/newsletter/confirm?token=")
    one_click = str(mail.message["List-Unsubscribe"]).strip("<>")
    assert one_click.startswith(f"{CONSENT}/newsletter/withdraw?")
    assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert one_click in mail.links()

    # Opening the link shows a page; only its button (a POST) confirms.
    page = await consent.http.get(confirm_link)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert await consent.on_send_list(email) == []
    confirmed = await consent.http.post(confirm_link)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "confirmed"
    subscription_id = confirmed.json()["subscription_id"]

    # On the send list now, with the evidence of the consent.
    [row] = await consent.on_send_list(email)
    assert row["subscription_id"] == subscription_id
    assert row["name"] == "Åse Nyhetsleser"
    assert row["role"] == "daglig leder"
    assert row["policy_version"] == policy_version
    evidence = await consent.http.get(
        f"{CONSENT}/newsletter/subscriptions/{subscription_id}", headers=consent.staff
    )
    assert evidence.status_code == 200, evidence.text
    assert evidence.json()["status"] == "confirmed"
    assert evidence.json()["wording_sha256"] == shown["sha256"]
    assert evidence.json()["policy_version"] == policy_version
    assert evidence.json()["confirmed_at"] is not None

    # One click (RFC 8058: a POST with this body) withdraws it; it leaves the list.
    withdrawn = await consent.http.post(
        one_click,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json() == {"status": "withdrawn", "changed": True}
    assert await consent.on_send_list(email) == []
    again = await consent.http.post(one_click)
    assert again.status_code == 200, again.text
    assert again.json()["changed"] is False
    after = await consent.http.get(
        f"{CONSENT}/newsletter/subscriptions/{subscription_id}", headers=consent.staff
    )
    assert after.json()["status"] == "withdrawn"
    assert after.json()["withdrawn_at"] is not None


async def test_the_send_list_is_for_platform_staff_only(consent: Consent) -> None:
    anonymous = await consent.http.get(f"{CONSENT}/newsletter/recipients")
    assert anonymous.status_code == 401, anonymous.text


@pytest.mark.parametrize("field", ["token", "subscription_id"])
async def test_a_tampered_one_click_link_withdraws_nothing(consent: Consent, field: str) -> None:
    link = {
        "token": f"{CONSENT}/newsletter/withdraw?subscription_id={uuid.uuid4()}&token=" + "A" * 43,
        "subscription_id": f"{CONSENT}/newsletter/withdraw?subscription_id=not-a-uuid&token="
        + "A" * 43,
    }[field]
    response = await consent.http.post(link)
    assert response.status_code in (404, 422), response.text
    assert response.headers["content-type"].startswith("application/problem+json")
