"""Bad input, wrong callers and forged tokens against the REAL identity process (DESIGN §7).

identity's own integration tests drive its app in process; these go through `identity serve`
over HTTP (uvicorn's parsing, the real settings, lifespan, argon2 and outbox relay) and check,
for each refused request: the status, an `application/problem+json` body, and that nothing
was written, neither in identity's database (every table's row count and the newest event
position) nor in the key ring database.

Documented choices checked here (identity's API description, docs/architecture.md "Tenancy"):
another organisation's ids answer 404 exactly like ids that do not exist; a role that may not
act inside its own organisation gets 403; a bad or missing token gets 401 with
`WWW-Authenticate`. Two edits of the same version: exactly one wins, the other gets 409.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import jwt
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from byggrygg_shared.auth import jwk_thumbprint, load_or_create_ed25519_key

from ..identity_client import (
    IdentityApi,
    Member,
    assert_problem,
    invalid_organisation_number,
    organisation_body,
    row_counts,
    unique_email,
)
from ..identity_process import IdentityProcess

Send = Callable[[], Awaitable[httpx.Response]]


@dataclass
class World:
    """Two customer organisations, each with an administrator and a learner."""

    service: IdentityProcess
    api: IdentityApi
    org_a: dict[str, Any]
    org_b: dict[str, Any]
    admin_a: Member
    learner_a: Member
    admin_b: Member
    learner_b: Member

    @property
    def http(self) -> httpx.AsyncClient:
        return self.api.http

    @property
    def a(self) -> str:
        return str(self.org_a["organisation_id"])

    @property
    def b(self) -> str:
        return str(self.org_b["organisation_id"])

    async def written(self) -> dict[str, dict[str, int]]:
        """Row counts of identity's database and of the key ring database."""
        return {
            "identity": await row_counts(self.service.database_url),
            "keyring": await row_counts(self.service.keyring_database_url),
        }

    async def refused(self, status: int, send: Send) -> dict[str, Any]:
        """Send a request that must be refused with `status` and must write nothing."""
        before = await self.written()
        response = await send()
        problem = assert_problem(response, status)
        after = await self.written()
        assert after["identity"] == before["identity"], "a refused request wrote to identity"
        # A refused command must not leave a data key behind for a subject that never came
        # to exist (the key ring is written outside identity's transaction).
        assert after["keyring"] == before["keyring"], "a refused request wrote to the key ring"
        return problem

    async def version_of(self, member: Member) -> int:
        response = await self.http.get(f"/users/{member.user_id}", headers=member.headers)
        assert response.status_code == 200, response.text
        assert response.headers["etag"] == f'"{response.json()["version"]}"'
        return int(response.json()["version"])


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(identity_service: IdentityProcess) -> AsyncIterator[World]:
    async with httpx.AsyncClient(base_url=identity_service.base_url, timeout=30.0) as http:
        api = IdentityApi(
            http=http,
            staff_email=identity_service.staff_email,
            staff_password=identity_service.staff_password,
        )
        await api.log_in_staff()
        org_a = await api.register_organisation()
        org_b = await api.register_organisation()
        admin_a = await api.add_admin(org_a["organisation_id"])
        admin_b = await api.add_admin(org_b["organisation_id"])
        yield World(
            service=identity_service,
            api=api,
            org_a=org_a,
            org_b=org_b,
            admin_a=admin_a,
            learner_a=await api.add_learner(org_a["organisation_id"], admin_a),
            admin_b=admin_b,
            learner_b=await api.add_learner(org_b["organisation_id"], admin_b),
        )


# --- invalid input: 422 / 400 -------------------------------------------------------------


async def test_an_invalid_organisation_number_is_422(world: World) -> None:
    for number in (invalid_organisation_number(), "12345678", "9927970100", "abcdefghi"):
        body = organisation_body(number)
        problem = await world.refused(
            422,
            lambda body=body: world.http.post("/organisations", json=body, headers=world.api.staff),
        )
        assert problem["errors"][0]["loc"] == ["body", "organisation_number"], problem
        assert number not in json.dumps(problem), "the input was echoed back"


@pytest.mark.parametrize(
    "content",
    [
        b'{"name": "Broken',
        b"not json at all",
        b'{"name": "x",}',
        b'{"name": "\xff\xfe invalid utf-8"}',
    ],
)
async def test_malformed_json_is_400(world: World, content: bytes) -> None:
    headers = {**world.api.staff, "Content-Type": "application/json"}
    problem = await world.refused(
        400, lambda: world.http.post("/organisations", content=content, headers=headers)
    )
    assert "Broken" not in json.dumps(problem), "the input was echoed back"


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
async def test_a_body_of_the_wrong_shape_is_422(
    world: World, content: bytes, content_type: str
) -> None:
    headers = {**world.api.staff, "Content-Type": content_type}
    await world.refused(
        422, lambda: world.http.post("/organisations", content=content, headers=headers)
    )


NUL = "\u0000"  # valid JSON and a valid Python str, but PostgreSQL text and jsonb refuse it


async def _nul_in_organisation_name(world: World) -> Send:
    body = organisation_body(name=f"Evil{NUL} AS")
    return lambda: world.http.post("/organisations", json=body, headers=world.api.staff)


async def _nul_in_street(world: World) -> Send:
    address = {"street": f"Gate{NUL} 1", "postal_code": "0155", "city": "Oslo"}
    body = organisation_body(postal_address=address)
    return lambda: world.http.post("/organisations", json=body, headers=world.api.staff)


async def _nul_in_listed_name(world: World) -> Send:
    body = {"name": f"Ola{NUL} Admin", "email": unique_email("nul")}
    url = f"/organisations/{world.a}/admins"
    return lambda: world.http.post(url, json=body, headers=world.api.staff)


async def _nul_in_accepted_name(world: World) -> Send:
    invitation = await world.api.invite(world.a, world.admin_a, unique_email("nul"))
    body = {
        "token": invitation["token"],
        "accept_terms": True,
        "terms_version": "2024-1",
        "name": f"Kari{NUL} Nordmann",
        "language": "nb",
        "password": "a long enough password",
    }
    return lambda: world.http.post("/invitations/accept", json=body)


async def _nul_in_corrected_name(world: World) -> Send:
    version = await world.version_of(world.learner_a)
    headers = {**world.learner_a.headers, "If-Match": f'"{version}"'}
    url = f"/users/{world.learner_a.user_id}"
    return lambda: world.http.patch(url, json={"name": f"Kari{NUL}"}, headers=headers)


@pytest.mark.parametrize(
    "request_with_nul",
    [
        _nul_in_organisation_name,
        _nul_in_street,
        _nul_in_listed_name,
        _nul_in_accepted_name,
        _nul_in_corrected_name,
    ],
    ids=lambda make: make.__name__.removeprefix("_"),
)
async def test_text_with_a_nul_character_is_422_not_500(
    world: World, request_with_nul: Callable[[World], Awaitable[Send]]
) -> None:
    await world.refused(422, await request_with_nul(world))


async def test_a_contract_end_whose_retention_clock_overflows_is_422_not_500(
    world: World,
) -> None:
    # Bookkeeping keeps data for some years after the end (R2): ending on the last day of the
    # calendar leaves no date for that clock to end on.
    org = await world.api.register_organisation()
    body = {"ended_on": "9999-12-31", "retention_reasons": ["bookkeeping"]}
    url = f"/organisations/{org['organisation_id']}/end-contract"
    await world.refused(422, lambda: world.http.post(url, json=body, headers=world.api.staff))


async def test_a_registered_organisation_number_is_409(world: World) -> None:
    body = organisation_body(world.org_a["organisation_number"])
    await world.refused(
        409, lambda: world.http.post("/organisations", json=body, headers=world.api.staff)
    )


# --- duplicate e-mail: 409 ----------------------------------------------------------------


async def test_inviting_an_address_in_use_is_409(world: World) -> None:
    url = f"/organisations/{world.a}/users"
    for email in (world.learner_a.email, world.admin_b.email.upper(), world.api.staff_email):
        await world.refused(
            409,
            lambda email=email: world.http.post(
                url, json={"email": email}, headers=world.admin_a.headers
            ),
        )


async def test_listing_an_administrator_whose_address_is_in_use_is_409(world: World) -> None:
    # The listing is a new event of the organisation: it must be rolled back with the refusal.
    body = {"name": "Kari Dup", "email": world.learner_b.email}
    await world.refused(
        409,
        lambda: world.http.post(
            f"/organisations/{world.a}/admins", json=body, headers=world.api.staff
        ),
    )


async def test_correcting_an_email_to_one_in_use_is_409(world: World) -> None:
    version = await world.version_of(world.learner_a)
    await world.refused(
        409,
        lambda: world.http.patch(
            f"/users/{world.learner_a.user_id}",
            json={"email": world.admin_b.email},
            headers={**world.learner_a.headers, "If-Match": f'"{version}"'},
        ),
    )


# --- unknown ids: 404 ---------------------------------------------------------------------


async def test_unknown_ids_are_404(world: World) -> None:
    unknown = uuid.uuid4()
    staff, admin = world.api.staff, world.admin_a.headers
    person = {"name": "Nobody", "email": unique_email("nobody")}
    sends: list[Send] = [
        lambda: world.http.get(f"/organisations/{unknown}", headers=staff),
        lambda: world.http.post(f"/organisations/{unknown}/admins", json=person, headers=staff),
        lambda: world.http.post(
            f"/organisations/{unknown}/end-contract", json={"ended_on": "2025-01-01"}, headers=staff
        ),
        lambda: world.http.get(f"/users/{unknown}", headers=admin),
        lambda: world.http.patch(
            f"/users/{unknown}", json={"name": "X"}, headers={**admin, "If-Match": '"1"'}
        ),
        lambda: world.http.post(f"/users/{unknown}/licences", headers=admin),
        lambda: world.http.post(
            "/invitations/accept",
            json={
                "token": "x" * 43,
                "accept_terms": True,
                "terms_version": "2024-1",
                "name": "Nobody",
                "language": "nb",
                "password": "a long enough password",
            },
        ),
        lambda: world.http.get("/nope", headers=admin),
    ]
    for send in sends:
        await world.refused(404, send)


# --- wrong role: 403 ----------------------------------------------------------------------


async def test_a_role_that_may_not_act_gets_403(world: World) -> None:
    body = organisation_body()
    invite = {"email": unique_email("invitee")}
    sends: list[Send] = [
        # Only platform staff register organisations or list administrators.
        lambda: world.http.post("/organisations", json=body, headers=world.admin_a.headers),
        lambda: world.http.post("/organisations", json=body, headers=world.learner_a.headers),
        lambda: world.http.post(
            f"/organisations/{world.a}/admins",
            json={"name": "Self Promoted", "email": unique_email("promo")},
            headers=world.admin_a.headers,
        ),
        # A learner is not an administrator of their own organisation.
        lambda: world.http.post(
            f"/organisations/{world.a}/users", json=invite, headers=world.learner_a.headers
        ),
        lambda: world.http.get(f"/users/{world.admin_a.user_id}", headers=world.learner_a.headers),
        lambda: world.http.post(
            f"/users/{world.learner_a.user_id}/licences", headers=world.learner_a.headers
        ),
        # Staff do not read or invite customers' users (the customer is the controller, R7).
        lambda: world.http.get(f"/users/{world.learner_a.user_id}", headers=world.api.staff),
        lambda: world.http.post(
            f"/organisations/{world.a}/users", json=invite, headers=world.api.staff
        ),
    ]
    for send in sends:
        await world.refused(403, send)


# --- another tenant: 404, indistinguishable from a missing id -----------------------------


def _comparable(problem: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in problem.items() if k not in ("instance", "request_id")}


async def test_another_tenants_ids_answer_like_missing_ones(world: World) -> None:
    admin_a = world.admin_a.headers
    version_b = await world.version_of(world.learner_b)
    probes: list[tuple[Callable[[str], Awaitable[httpx.Response]], str, str]] = [
        (
            lambda org: world.http.get(f"/organisations/{org}", headers=admin_a),
            world.b,
            str(uuid.uuid4()),
        ),
        (
            lambda org: world.http.post(
                f"/organisations/{org}/users",
                json={"email": unique_email("cross")},
                headers=admin_a,
            ),
            world.b,
            str(uuid.uuid4()),
        ),
        (
            lambda user: world.http.get(f"/users/{user}", headers=admin_a),
            world.learner_b.user_id,
            str(uuid.uuid4()),
        ),
        (
            lambda user: world.http.patch(
                f"/users/{user}",
                json={"name": "Taken Over"},
                headers={**admin_a, "If-Match": f'"{version_b}"'},
            ),
            world.learner_b.user_id,
            str(uuid.uuid4()),
        ),
        (
            lambda user: world.http.post(f"/users/{user}/licences", headers=admin_a),
            world.learner_b.user_id,
            str(uuid.uuid4()),
        ),
    ]
    for send, foreign, missing in probes:
        other_tenant = await world.refused(404, lambda send=send, foreign=foreign: send(foreign))
        nowhere = await world.refused(404, lambda send=send, missing=missing: send(missing))
        assert _comparable(other_tenant) == _comparable(nowhere)
    # And B's learner is untouched.
    assert await world.version_of(world.learner_b) == version_b


# --- tokens: 401 --------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _claims_of(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def _sign(claims: dict[str, Any], key: Ed25519PrivateKey, kid: str) -> str:
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid, "typ": "JWT"})


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"


def _hs256(claims: dict[str, Any], secret: bytes, kid: str) -> str:
    signing_input = _unsigned({"alg": "HS256", "kid": kid, "typ": "JWT"}, claims)
    signature = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(signature)}"


@dataclass(frozen=True)
class Signing:
    """identity's real signing key (from this session's key file) and its key id."""

    key: Ed25519PrivateKey
    kid: str


@pytest.fixture(scope="module")
def signing(identity_service: IdentityProcess) -> Signing:
    key = load_or_create_ed25519_key(identity_service.jwt_private_key_file)
    return Signing(key=key, kid=jwk_thumbprint(key.public_key()))


def _forgeries(world: World, signing: Signing) -> dict[str, str]:
    """Tokens that must all be refused: each differs from a valid one in one way."""
    now = int(time.time())
    admin = _claims_of(world.admin_a.token)
    as_staff = {**admin, "roles": ["platform_staff"], "org": None}
    other_key = Ed25519PrivateKey.generate()
    public = signing.key.public_key()
    raw_public = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    pem_public = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header, _, signature = world.admin_a.token.split(".")
    return {
        "expired": _sign({**admin, "iat": now - 3600, "exp": now - 120}, signing.key, signing.kid),
        "issued_in_the_future": _sign(
            {**admin, "iat": now + 3600, "exp": now + 4500}, signing.key, signing.kid
        ),
        "wrong_audience": _sign({**admin, "aud": "someone-else"}, signing.key, signing.kid),
        "wrong_issuer": _sign({**admin, "iss": "evil-identity"}, signing.key, signing.kid),
        "no_expiry": _sign(
            {k: v for k, v in admin.items() if k != "exp"}, signing.key, signing.kid
        ),
        "unknown_role": _sign({**admin, "roles": ["root"]}, signing.key, signing.kid),
        "other_key_own_kid": _sign(as_staff, other_key, jwk_thumbprint(other_key.public_key())),
        "other_key_real_kid": _sign(as_staff, other_key, signing.kid),
        "no_kid": jwt.encode(as_staff, signing.key, algorithm="EdDSA"),
        "alg_none": _unsigned({"alg": "none", "kid": signing.kid, "typ": "JWT"}, as_staff) + ".",
        "hs256_raw_public_key": _hs256(as_staff, raw_public, signing.kid),
        "hs256_pem_public_key": _hs256(as_staff, pem_public, signing.kid),
        "claims_swapped_signature_kept": ".".join(
            (header, _b64url(json.dumps(as_staff).encode()), signature)
        ),
        "signature_stripped": f"{header}.{world.admin_a.token.split('.')[1]}.",
        "garbage": "not-a-jwt",
    }


FORGERIES = [
    "expired",
    "issued_in_the_future",
    "wrong_audience",
    "wrong_issuer",
    "no_expiry",
    "unknown_role",
    "other_key_own_kid",
    "other_key_real_kid",
    "no_kid",
    "alg_none",
    "hs256_raw_public_key",
    "hs256_pem_public_key",
    "claims_swapped_signature_kept",
    "signature_stripped",
    "garbage",
]


async def test_a_token_signed_with_identitys_key_is_accepted(
    world: World, signing: Signing
) -> None:
    """The control for the forgeries below: re-signing valid claims ourselves works."""
    claims = {**_claims_of(world.admin_a.token), "jti": uuid.uuid4().hex}
    token = _sign(claims, signing.key, signing.kid)
    response = await world.http.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.json()["user_id"] == world.admin_a.user_id


@pytest.mark.parametrize("forgery", FORGERIES)
async def test_a_forged_or_expired_token_is_401(
    world: World, signing: Signing, forgery: str
) -> None:
    token = _forgeries(world, signing)[forgery]
    headers = {"Authorization": f"Bearer {token}"}
    # A write that staff could make: a forged staff token must not register an organisation.
    body = organisation_body()
    before = await world.written()
    response = await world.http.post("/organisations", json=body, headers=headers)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert await world.written() == before
    # And the person's own data is not readable with it either.
    assert_problem(await world.http.get("/me", headers=headers), 401)


async def test_no_token_is_401(world: World) -> None:
    problem_sends: list[Send] = [
        lambda: world.http.post("/organisations", json=organisation_body()),
        lambda: world.http.get(f"/users/{world.learner_a.user_id}"),
        lambda: world.http.post(
            "/organisations", json=organisation_body(), headers={"Authorization": "Basic eDp5"}
        ),
    ]
    for send in problem_sends:
        await world.refused(401, send)


# --- concurrent edits: exactly one wins ---------------------------------------------------


async def _events_of_user(dsn: str, user_id: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM events WHERE payload->>'user_id' = $1", user_id
            )
        )
    finally:
        await conn.close()


async def test_concurrent_patches_of_one_version_let_exactly_one_win(world: World) -> None:
    learner = await world.api.add_learner(world.a, world.admin_a)
    url = f"/users/{learner.user_id}"
    for attempt in range(5):
        version = await world.version_of(learner)
        events_before = await _events_of_user(world.service.database_url, learner.user_id)
        responses = await asyncio.gather(
            world.http.patch(
                url,
                json={"name": f"Kari Round {attempt}"},
                headers={**learner.headers, "If-Match": f'"{version}"'},
            ),
            world.http.patch(
                url,
                json={"phone": f"+47 900 00 {attempt:03d}"},
                headers={**world.admin_a.headers, "If-Match": f'"{version}"'},
            ),
        )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200, 409], [r.text for r in responses]
        loser = next(r for r in responses if r.status_code == 409)
        assert_problem(loser, 409)
        assert await world.version_of(learner) == version + 1
        events_after = await _events_of_user(world.service.database_url, learner.user_id)
        assert events_after == events_before + 1
