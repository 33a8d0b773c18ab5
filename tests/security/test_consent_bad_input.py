"""Bad input, wrong callers and bad tokens against the REAL consent process (DESIGN §7).

consent's own integration tests drive its app in process; these go through `consent serve`
over HTTP (uvicorn's parsing, the real settings and lifespan, tokens identity issued and
verified through its JWKS URL, the mail sender and outbox relay running). For each refused
request: the status, an `application/problem+json` body without traceback and without the
addresses, names or tokens it carried, and nothing written in consent's database or the key
ring database (tests/security/platform_guard.py).

Documented choices checked here (docs/services/consent.md): every correspondence, complaint,
send-list and analytics-count route is platform staff only (403 for every other role, 401
without a valid token); a withdrawal link of one subscription does nothing to another (404,
like an unknown one); adding a message or resolving a complaint needs If-Match (428 without,
409 stale, 400 malformed).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import pytest_asyncio

from ..identity_client import IdentityApi
from ..mail_reader import MailReader
from ..platform_processes import Platform
from .platform_guard import Guard, Send, Tokens

NUL = "\u0000"
SECRET_NAME = "Hemmelig Navnesen"


def unique_address(role: str) -> str:
    return f"{role}-{uuid.uuid4().hex[:12]}@e2e.example.no"


@dataclass(frozen=True)
class Subscriber:
    email: str
    subscription_id: str
    withdrawal_token: str


@dataclass
class World:
    platform: Platform
    http: httpx.AsyncClient
    guard: Guard
    tokens: Tokens
    staff: dict[str, str]
    organisation_id: str
    subscriber_a: Subscriber
    subscriber_b: Subscriber
    correspondence_id: str
    subject_ref: str
    complaint_id: str

    async def refused(
        self, status: int, send: Send, *, not_echoed: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        return await self.guard.refused(status, send, not_echoed=not_echoed)

    async def wording_sha256(self, what: str = "newsletter") -> str:
        response = await self.http.get(f"/{what}/wording")
        assert response.status_code == 200, response.text
        return str(response.json()["sha256"])

    async def etag(self, url: str) -> str:
        response = await self.http.get(url, headers=self.staff)
        assert response.status_code == 200, response.text
        return str(response.headers["etag"])

    def role(self, *roles: str) -> dict[str, str]:
        return self.tokens.headers(*roles, organisation_id=self.organisation_id)


async def _ensure_current_policy(http: httpx.AsyncClient, staff: dict[str, str]) -> None:
    if (await http.get("/policies/current")).status_code == 200:
        return
    published = await http.post(
        "/policies",
        json={
            "version": f"sec-{uuid.uuid4().hex[:8]}",
            "text": "Personvernerklæring for sikkerhetstestene.",
            "effective_on": datetime.now(UTC).date().isoformat(),
        },
        headers=staff,
    )
    assert published.status_code == 201, published.text


async def _confirmed_subscriber(
    http: httpx.AsyncClient, staff: dict[str, str], mails: MailReader, consent_url: str
) -> Subscriber:
    email = unique_address("nyhetsbrev")
    wording = (await http.get("/newsletter/wording")).json()["sha256"]
    signed_up = await http.post(
        "/newsletter/subscriptions",
        json={
            "name": "Kari Nordmann",
            "email": email,
            "role": "daglig leder",
            "wording_sha256": wording,
        },
    )
    assert signed_up.status_code == 202, signed_up.text
    [mail] = await mails.wait_for(email)
    [link] = mail.links(f"{consent_url}/newsletter/confirm?token=")
    token = parse_qs(urlsplit(link).query)["token"][0]
    confirmed = await http.post("/newsletter/confirm", params={"token": token})
    assert confirmed.status_code == 200, confirmed.text
    recipients = await http.get("/newsletter/recipients", headers=staff)
    assert recipients.status_code == 200, recipients.text
    [row] = [r for r in recipients.json() if r["email"] == email]
    query = parse_qs(urlsplit(row["withdrawal_url"]).query)
    return Subscriber(
        email=email,
        subscription_id=query["subscription_id"][0],
        withdrawal_token=query["token"][0],
    )


def message_body(**changes: Any) -> dict[str, Any]:
    return {
        "direction": "inbound",
        "sent_at": "2025-03-01T09:30:00+01:00",
        "subject": "Spørsmål om faktura",
        "text": "Hei,\nhvorfor er fakturaen så høy?",
        **changes,
    }


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(platform: Platform) -> AsyncIterator[World]:
    async with (
        httpx.AsyncClient(base_url=platform.url("identity"), timeout=30.0) as identity_http,
        httpx.AsyncClient(base_url=platform.url("consent"), timeout=30.0) as http,
    ):
        identity = IdentityApi(
            http=identity_http,
            staff_email=platform.staff_email,
            staff_password=platform.staff_password,
        )
        await identity.log_in_staff()
        staff = identity.staff
        organisation_id = str(uuid.uuid4())
        await _ensure_current_policy(http, staff)
        mails = MailReader(platform.mail_sink.maildir)
        consent_url = platform.url("consent")  # where the mailed links lead (this session's)
        subscriber_a = await _confirmed_subscriber(http, staff, mails, consent_url)
        subscriber_b = await _confirmed_subscriber(http, staff, mails, consent_url)
        logged = await http.post(
            "/correspondence/email",
            json={
                "organisation_id": organisation_id,
                "email_address": unique_address("kunde"),
                "messages": [message_body()],
            },
            headers=staff,
        )
        assert logged.status_code == 201, logged.text
        opened = await http.post(
            "/complaints",
            json={
                "kind": "complaint",
                "subject_ref": logged.json()["subject_ref"],
                "organisation_id": organisation_id,
                "summary": "Klager på behandlingen.",
                "concerns": ["correspondence"],
            },
            headers=staff,
        )
        assert opened.status_code == 201, opened.text
        yield World(
            platform=platform,
            http=http,
            guard=Guard(platform["consent"].database_url, platform.keyring_database_url),
            tokens=Tokens.of(platform, identity.staff_token),
            staff=staff,
            organisation_id=organisation_id,
            subscriber_a=subscriber_a,
            subscriber_b=subscriber_b,
            correspondence_id=str(logged.json()["correspondence_id"]),
            subject_ref=str(logged.json()["subject_ref"]),
            complaint_id=str(opened.json()["complaint_id"]),
        )


JSON = {"Content-Type": "application/json"}


def _body_routes(world: World) -> list[tuple[str, dict[str, str]]]:
    """(url, headers) of every POST that takes a JSON body, as a caller allowed to."""
    with_version = {**world.staff, "If-Match": '"1"'}
    return [
        ("/policies", world.staff),
        ("/newsletter/subscriptions", {}),
        ("/cookies/choice", {}),
        ("/analytics/events", {}),
        ("/correspondence/email", world.staff),
        ("/correspondence/phone", world.staff),
        (f"/correspondence/{world.correspondence_id}/messages", with_version),
        ("/correspondence/deletion-requests", world.staff),
        ("/complaints", world.staff),
        (f"/complaints/{world.complaint_id}/resolution", with_version),
    ]


# --- malformed and wrongly shaped bodies: 400 / 422 ----------------------------------------


@pytest.mark.parametrize(
    "content",
    [b'{"name": "Broken', b"not json at all", b'{"name": "x",}', b'{"name": "\xff\xfe"}'],
)
async def test_malformed_json_is_400_on_every_body_route(world: World, content: bytes) -> None:
    for url, headers in _body_routes(world):
        await world.refused(
            400,
            lambda url=url, headers=headers: world.http.post(
                url, content=content, headers={**headers, **JSON}
            ),
            not_echoed=("Broken",),
        )


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"[]", "application/json"),
        (b'"a string"', "application/json"),
        (b"null", "application/json"),
        (b"", "application/json"),
        (b"name=Broken", "application/x-www-form-urlencoded"),
    ],
)
async def test_a_body_of_the_wrong_shape_is_422_on_every_body_route(
    world: World, content: bytes, content_type: str
) -> None:
    for url, headers in _body_routes(world):
        await world.refused(
            422,
            lambda url=url, headers=headers: world.http.post(
                url, content=content, headers={**headers, "Content-Type": content_type}
            ),
        )


async def _invalid_bodies(world: World) -> list[tuple[str, dict[str, str], dict[str, Any]]]:
    """(url, headers, body): wrong types, unknown fields, oversize strings, control characters,
    impossible values; each refused by validation (422)."""
    staff = world.staff
    newsletter = await world.wording_sha256("newsletter")
    banner = await world.wording_sha256("cookies")
    today = datetime.now(UTC).date().isoformat()
    email = unique_address("ny")
    subscribe = {
        "name": SECRET_NAME,
        "email": email,
        "role": "daglig leder",
        "wording_sha256": newsletter,
    }
    policy = {"version": f"sec-{uuid.uuid4().hex[:8]}", "text": "Tekst.", "effective_on": today}
    choice = {"analytics": True, "wording_sha256": banner}
    event = {"event_name": "page.view", "page_path": "/kurs"}
    org = world.organisation_id
    mail_log = {"organisation_id": org, "email_address": email, "messages": [message_body()]}
    phone = {
        "organisation_id": org,
        "phone_number": "+47 900 11 222",
        "person_name": SECRET_NAME,
        "summary": "Ringte om kurs.",
        "contacted_at": "2025-03-01T10:00:00Z",
    }
    deletion = {"subject_ref": world.subject_ref, "notify_address": email}
    complaint = {"kind": "question", "subject_ref": world.subject_ref, "summary": "Spørsmål."}
    messages = f"/correspondence/{world.correspondence_id}/messages"
    resolution = f"/complaints/{world.complaint_id}/resolution"
    versioned = {
        **staff,
        "If-Match": await world.etag(f"/correspondence/{world.correspondence_id}"),
    }
    resolving = {**staff, "If-Match": await world.etag(f"/complaints/{world.complaint_id}")}
    return [
        # policies
        ("/policies", staff, {**policy, "version": "../etc"}),
        ("/policies", staff, {**policy, "version": f"v{NUL}1"}),
        ("/policies", staff, {**policy, "text": f"Tekst{NUL}"}),
        ("/policies", staff, {**policy, "text": "T" * 200_001}),
        ("/policies", staff, {**policy, "effective_on": "9999-12-31"}),
        ("/policies", staff, {**policy, "effective_on": "yesterday"}),
        ("/policies", staff, {**policy, "author": "me"}),
        # the newsletter sign-up: personal input never echoed
        ("/newsletter/subscriptions", {}, {**subscribe, "email": "not-an-address"}),
        ("/newsletter/subscriptions", {}, {**subscribe, "email": f"x{NUL}@e2e.example.no"}),
        ("/newsletter/subscriptions", {}, {**subscribe, "name": f"{SECRET_NAME}{NUL}"}),
        ("/newsletter/subscriptions", {}, {**subscribe, "name": "N" * 201}),
        ("/newsletter/subscriptions", {}, {**subscribe, "name": ["Kari"]}),
        ("/newsletter/subscriptions", {}, {**subscribe, "role": "r\u0007"}),
        ("/newsletter/subscriptions", {}, {**subscribe, "wording_sha256": "abc"}),
        ("/newsletter/subscriptions", {}, {**subscribe, "consent": True}),
        ("/newsletter/subscriptions", {}, {k: v for k, v in subscribe.items() if k != "name"}),
        # cookies and analytics
        ("/cookies/choice", {}, {**choice, "analytics": "maybe"}),
        ("/cookies/choice", {}, {**choice, "necessary": False}),
        ("/cookies/choice", {}, {**choice, "visitor_id": f"v{NUL}" * 20}),
        ("/cookies/choice", {}, {**choice, "visitor_id": "short"}),
        ("/cookies/choice", {}, {**choice, "marketing": True}),
        ("/analytics/events", {}, {**event, "event_name": "Page View"}),
        ("/analytics/events", {}, {**event, "page_path": "/" + "p" * 2048}),
        ("/analytics/events", {}, {**event, "page_path": f"/kurs{NUL}"}),
        ("/analytics/events", {}, {**event, "visitor_id": 42}),
        ("/analytics/events", {}, {**event, "ip": "127.0.0.1"}),
        # correspondence
        ("/correspondence/email", staff, {**mail_log, "messages": []}),
        ("/correspondence/email", staff, {**mail_log, "email_address": "nobody"}),
        ("/correspondence/email", staff, {**mail_log, "organisation_id": "acme"}),
        ("/correspondence/email", staff, {**mail_log, "subject_ref": "subj_' OR 1=1 --"}),
        (
            "/correspondence/email",
            staff,
            {**mail_log, "messages": [message_body(sent_at="2025-03-01T09:30:00")]},
        ),
        (
            "/correspondence/email",
            staff,
            {**mail_log, "messages": [message_body(subject=f"Emne{NUL}")]},
        ),
        ("/correspondence/email", staff, {**mail_log, "messages": [message_body()] * 201}),
        ("/correspondence/phone", staff, {**phone, "phone_number": "ring meg"}),
        ("/correspondence/phone", staff, {**phone, "person_name": f"{SECRET_NAME}\u001b"}),
        ("/correspondence/phone", staff, {**phone, "summary": "S" * 20_001}),
        ("/correspondence/phone", staff, {**phone, "contacted_at": 1_700_000_000_000_000}),
        # times at the calendar's edge with an offset have no UTC value: once a 500, after
        # the key ring had made the item's key (a partial write)
        ("/correspondence/phone", staff, {**phone, "contacted_at": "0001-01-01T00:00:00+14:00"}),
        (
            "/correspondence/email",
            staff,
            {**mail_log, "messages": [message_body(sent_at="9999-12-31T23:59:59-14:00")]},
        ),
        (messages, versioned, message_body(sent_at="0001-01-01T00:00:00+14:00")),
        (messages, versioned, message_body(direction="sideways")),
        (messages, versioned, message_body(text=f"Tekst{NUL}")),
        (messages, versioned, message_body(cc="someone")),
        ("/correspondence/deletion-requests", staff, {**deletion, "subject_ref": "kari"}),
        ("/correspondence/deletion-requests", staff, {**deletion, "notify_address": "kari"}),
        # complaints
        ("/complaints", staff, {**complaint, "kind": "rant"}),
        ("/complaints", staff, {**complaint, "concerns": ["everything"]}),
        ("/complaints", staff, {**complaint, "summary": f"Sak{NUL}"}),
        ("/complaints", staff, {**complaint, "summary": "S" * 20_001}),
        ("/complaints", staff, {**complaint, "organisation_id": 7}),
        (resolution, resolving, {"outcome": "maybe", "resolution_text": "Svar."}),
        (resolution, resolving, {"outcome": "upheld", "resolution_text": ""}),
        (resolution, resolving, {"outcome": "upheld", "resolution_text": f"Svar{NUL}"}),
    ]


async def test_invalid_bodies_are_422_and_write_nothing(world: World) -> None:
    for url, headers, body in await _invalid_bodies(world):
        personal = tuple(
            value
            for key in ("name", "email", "email_address", "person_name", "notify_address")
            if isinstance(value := body.get(key), str)
        )
        await world.refused(
            422,
            lambda url=url, headers=headers, body=body: world.http.post(
                url, json=body, headers=headers
            ),
            not_echoed=(*personal, SECRET_NAME),
        )


async def test_a_stale_wording_or_a_reused_policy_label_is_409(world: World) -> None:
    current = (await world.http.get("/policies/current")).json()
    sends: list[Send] = [
        lambda: world.http.post(
            "/newsletter/subscriptions",
            json={
                "name": SECRET_NAME,
                "email": unique_address("gammel"),
                "role": "leder",
                "wording_sha256": "0" * 64,
            },
        ),
        lambda: world.http.post(
            "/cookies/choice", json={"analytics": True, "wording_sha256": "0" * 64}
        ),
        lambda: world.http.post(
            "/policies",
            json={
                "version": current["version"],
                "text": "Ny tekst.",
                "effective_on": current["effective_on"],
            },
            headers=world.staff,
        ),
    ]
    for send in sends:
        await world.refused(409, send, not_echoed=(SECRET_NAME,))


@pytest.mark.parametrize(
    "query",
    [
        "/newsletter/confirm?token=short",
        "/newsletter/confirm?token=" + "t" * 129,
        "/newsletter/confirm?token=%00AAAAAAAAAAAAAAAAAAAA",
        "/newsletter/confirm",
        "/newsletter/withdraw?subscription_id=nope&token=" + "A" * 43,
        "/newsletter/withdraw?token=" + "A" * 43,
    ],
)
async def test_malformed_link_parameters_are_422(world: World, query: str) -> None:
    await world.refused(422, lambda: world.http.post(query))


async def test_invalid_query_and_path_values_are_422(world: World) -> None:
    staff = world.staff
    sends: list[Send] = [
        lambda: world.http.get("/cookies/choice?visitor_id=%00%00%00%00%00%00%00%00%00%00%00%00"),
        lambda: world.http.get("/cookies/choice?visitor_id=short"),
        lambda: world.http.get("/correspondence?subject_ref=kari", headers=staff),
        lambda: world.http.get("/correspondence?organisation_id=acme", headers=staff),
        lambda: world.http.get("/complaints?status=angry", headers=staff),
        lambda: world.http.get("/complaints?subject_ref=%00", headers=staff),
        lambda: world.http.get("/complaints/not-a-uuid", headers=staff),
        lambda: world.http.get("/correspondence/not-a-uuid", headers=staff),
        lambda: world.http.get("/newsletter/subscriptions/x", headers=staff),
    ]
    for send in sends:
        await world.refused(422, send)


async def test_a_correspondence_listing_without_a_filter_is_400(world: World) -> None:
    await world.refused(400, lambda: world.http.get("/correspondence", headers=world.staff))


# --- unknown ids: 404 ---------------------------------------------------------------------


async def test_unknown_ids_and_links_are_404(world: World) -> None:
    unknown = str(uuid.uuid4())
    staff = world.staff
    unknown_token = "A" * 43
    sends: list[Send] = [
        lambda: world.http.get("/policies/no-such-version"),
        # A NUL in the label was a 500 (PostgreSQL refuses it in text).
        lambda: world.http.get("/policies/%00"),
        lambda: world.http.get("/policies/2025-1%00"),
        lambda: world.http.get(f"/newsletter/subscriptions/{unknown}", headers=staff),
        lambda: world.http.post(f"/newsletter/subscriptions/{unknown}/withdraw", headers=staff),
        lambda: world.http.post("/newsletter/confirm", params={"token": unknown_token}),
        lambda: world.http.post(
            "/newsletter/withdraw", params={"subscription_id": unknown, "token": unknown_token}
        ),
        lambda: world.http.get("/cookies/choice", params={"visitor_id": "v" * 30}),
        lambda: world.http.get("/cookies/choice"),
        lambda: world.http.get(f"/correspondence/{unknown}", headers=staff),
        lambda: world.http.post(
            f"/correspondence/{unknown}/messages",
            json=message_body(),
            headers={**staff, "If-Match": '"1"'},
        ),
        lambda: world.http.get(f"/correspondence/deletion-requests/{unknown}", headers=staff),
        lambda: world.http.get(f"/complaints/{unknown}", headers=staff),
        lambda: world.http.post(
            f"/complaints/{unknown}/resolution",
            json={"outcome": "upheld", "resolution_text": "Svar."},
            headers={**staff, "If-Match": '"1"'},
        ),
        lambda: world.http.get("/nope"),
    ]
    for send in sends:
        await world.refused(404, send, not_echoed=(unknown_token,))


def _comparable(problem: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in problem.items() if k not in ("instance", "request_id")}


async def test_one_subscriptions_withdrawal_link_does_nothing_to_another(world: World) -> None:
    """The link's token is bound to its subscription: B's id with A's token is refused exactly
    like an unknown id, and A's own link is not used up by it (the send list keeps both)."""
    a, b = world.subscriber_a, world.subscriber_b
    crossed = await world.refused(
        404,
        lambda: world.http.post(
            "/newsletter/withdraw",
            params={"subscription_id": b.subscription_id, "token": a.withdrawal_token},
        ),
        not_echoed=(a.withdrawal_token,),
    )
    nowhere = await world.refused(
        404,
        lambda: world.http.post(
            "/newsletter/withdraw",
            params={"subscription_id": str(uuid.uuid4()), "token": a.withdrawal_token},
        ),
        not_echoed=(a.withdrawal_token,),
    )
    assert _comparable(crossed) == _comparable(nowhere)
    listed = await world.http.get("/newsletter/recipients", headers=world.staff)
    emails = {row["email"] for row in listed.json()}
    assert {a.email, b.email} <= emails


# --- tokens: 401, roles: 403 --------------------------------------------------------------


def _staff_routes(world: World) -> list[tuple[str, str, dict[str, Any] | None]]:
    """(method, url, body) of every route that is platform staff's only."""
    subscription = world.subscriber_a.subscription_id
    return [
        (
            "POST",
            "/policies",
            {"version": "sec-x", "text": "Tekst.", "effective_on": "2999-01-01"},
        ),
        ("GET", "/newsletter/recipients", None),
        ("GET", f"/newsletter/subscriptions/{subscription}", None),
        ("POST", f"/newsletter/subscriptions/{subscription}/withdraw", None),
        ("GET", "/analytics/drops", None),
        ("GET", "/analytics/summary", None),
        (
            "POST",
            "/correspondence/email",
            {
                "organisation_id": world.organisation_id,
                "email_address": unique_address("x"),
                "messages": [message_body()],
            },
        ),
        (
            "POST",
            "/correspondence/phone",
            {
                "organisation_id": world.organisation_id,
                "phone_number": "+47 900 11 222",
                "person_name": SECRET_NAME,
                "summary": "Ringte.",
                "contacted_at": "2025-03-01T10:00:00Z",
            },
        ),
        ("GET", f"/correspondence?subject_ref={world.subject_ref}", None),
        ("GET", f"/correspondence?organisation_id={world.organisation_id}", None),
        ("GET", f"/correspondence/{world.correspondence_id}", None),
        ("POST", f"/correspondence/{world.correspondence_id}/messages", message_body()),
        (
            "POST",
            "/correspondence/deletion-requests",
            {"subject_ref": world.subject_ref, "notify_address": unique_address("slett")},
        ),
        ("GET", f"/correspondence/deletion-requests/{uuid.uuid4()}", None),
        (
            "POST",
            "/complaints",
            {"kind": "question", "subject_ref": world.subject_ref, "summary": "Spørsmål."},
        ),
        ("GET", f"/complaints?subject_ref={world.subject_ref}", None),
        ("GET", f"/complaints/{world.complaint_id}", None),
        (
            "POST",
            f"/complaints/{world.complaint_id}/resolution",
            {"outcome": "upheld", "resolution_text": "Svar."},
        ),
    ]


async def test_every_staff_route_refuses_other_roles_with_403(world: World) -> None:
    callers = {
        "org_admin": world.role("org_admin"),
        "contact_person": world.role("contact_person"),
        "learner": world.role("learner"),
        "admin_and_contact": world.role("org_admin", "contact_person"),
    }
    for name, headers in callers.items():
        for method, url, body in _staff_routes(world):
            problem = await world.refused(
                403,
                lambda method=method, url=url, body=body, headers=headers: world.http.request(
                    method, url, json=body, headers={**headers, "If-Match": '"1"'}
                ),
                not_echoed=(SECRET_NAME,),
            )
            assert problem["status"] == 403, (name, method, url)


async def test_every_staff_route_without_a_valid_token_is_401(world: World) -> None:
    bad = world.tokens.refused_kinds("platform_staff")
    headers_list = [
        {},
        {"Authorization": "Basic eDp5"},
        *({"Authorization": f"Bearer {token}"} for token in bad.values()),
    ]
    for headers in headers_list:
        for method, url, body in _staff_routes(world):
            await world.refused(
                401,
                lambda method=method, url=url, body=body, headers=headers: world.http.request(
                    method, url, json=body, headers={**headers, "If-Match": '"1"'}
                ),
                not_echoed=tuple(v.removeprefix("Bearer ") for v in headers.values()),
            )


async def test_a_token_signed_with_the_session_key_is_accepted(world: World) -> None:
    """The control of the 401s above: a staff token we sign ourselves is valid."""
    response = await world.http.get(
        "/newsletter/recipients", headers=world.tokens.headers("platform_staff")
    )
    assert response.status_code == 200, response.text


# --- If-Match: 428 / 409 / 400 ------------------------------------------------------------


async def test_changes_without_if_match_are_428(world: World) -> None:
    sends: list[Send] = [
        lambda: world.http.post(
            f"/correspondence/{world.correspondence_id}/messages",
            json=message_body(),
            headers=world.staff,
        ),
        lambda: world.http.post(
            f"/complaints/{world.complaint_id}/resolution",
            json={"outcome": "upheld", "resolution_text": "Svar."},
            headers=world.staff,
        ),
    ]
    for send in sends:
        await world.refused(428, send)


async def test_a_stale_if_match_is_409(world: World) -> None:
    url = f"/correspondence/{world.correspondence_id}"
    current = await world.etag(url)
    added = await world.http.post(
        f"{url}/messages", json=message_body(), headers={**world.staff, "If-Match": current}
    )
    assert added.status_code == 201, added.text
    stale = {**world.staff, "If-Match": current}
    await world.refused(
        409, lambda: world.http.post(f"{url}/messages", json=message_body(), headers=stale)
    )
    complaint = f"/complaints/{world.complaint_id}"
    old = str(int((await world.etag(complaint)).strip('"')) - 1)
    await world.refused(
        409,
        lambda: world.http.post(
            f"{complaint}/resolution",
            json={"outcome": "upheld", "resolution_text": "Svar."},
            headers={**world.staff, "If-Match": f'"{old}"'},
        ),
    )


@pytest.mark.parametrize(
    "if_match",
    [b"*", b'"abc"', b'"-1"', b'"1", "2"', b'"\xb2"', b"\xb9", b'"' + b"9" * 5000 + b'"'],
)
async def test_a_malformed_if_match_is_400(world: World, if_match: bytes) -> None:
    """ "\\xb2" is "²" once decoded as latin-1: str.isdigit() says yes, int() says no (was 500)."""
    headers = [(b"authorization", world.staff["Authorization"].encode()), (b"if-match", if_match)]
    sends: list[Send] = [
        lambda: world.http.post(
            f"/correspondence/{world.correspondence_id}/messages",
            json=message_body(),
            headers=headers,
        ),
        lambda: world.http.post(
            f"/complaints/{world.complaint_id}/resolution",
            json={"outcome": "upheld", "resolution_text": "Svar."},
            headers=headers,
        ),
    ]
    for send in sends:
        await world.refused(400, send)
