"""Access tokens: issue/verify round trip, every forgery we know of rejected, FastAPI guards."""

import base64
import hashlib
import hmac
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Depends, FastAPI

from byggrygg_shared.auth import (
    Principal,
    Role,
    TokenIssuer,
    TokenVerifier,
    install_token_verifier,
    jwk_thumbprint,
    keys_from_jwks,
    load_or_create_ed25519_key,
    principal_dependency,
    require_roles,
    same_organisation_or_staff,
)
from byggrygg_shared.problems import (
    PROBLEM_MEDIA_TYPE,
    Forbidden,
    NotFound,
    Unauthorized,
    install_problem_handlers,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ALICE = Principal(
    user_id="usr_1",
    subject_ref="subj_" + "a" * 32,
    organisation_id="org_1",
    roles=frozenset({Role.LEARNER, Role.ORG_ADMIN}),
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segments(token: str) -> tuple[dict[str, object], dict[str, object], str]:
    header, payload, signature = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    return (
        json.loads(base64.urlsafe_b64decode(pad(header))),
        json.loads(base64.urlsafe_b64decode(pad(payload))),
        signature,
    )


def _unsigned(header: dict[str, object], payload: dict[str, object]) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def issuer(key: Ed25519PrivateKey) -> TokenIssuer:
    return TokenIssuer(key, clock=lambda: NOW)


@pytest.fixture
def verifier(key: Ed25519PrivateKey) -> TokenVerifier:
    return TokenVerifier.from_public_keys(
        [key.public_key()], clock=lambda: NOW + timedelta(minutes=1)
    )


async def test_round_trip_gives_back_the_principal(
    issuer: TokenIssuer, verifier: TokenVerifier
) -> None:
    token = issuer.issue(ALICE)

    assert await verifier.verify(token) == ALICE
    header, claims, _ = _segments(token)
    assert header == {"alg": "EdDSA", "kid": issuer.kid, "typ": "JWT"}
    assert set(claims) == {"iss", "aud", "sub", "subject_ref", "org", "roles", "iat", "exp", "jti"}
    assert claims["exp"] == int((NOW + timedelta(minutes=15)).timestamp())


def test_kid_is_the_rfc7638_thumbprint(key: Ed25519PrivateKey, issuer: TokenIssuer) -> None:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": _b64(raw)}, separators=(",", ":"))
    expected = _b64(hashlib.sha256(canonical.encode()).digest())

    assert issuer.kid == expected == jwk_thumbprint(key.public_key())
    (jwk,) = issuer.jwks()["keys"]
    assert jwk == {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": _b64(raw),
        "kid": expected,
        "alg": "EdDSA",
        "use": "sig",
    }
    assert set(keys_from_jwks(issuer.jwks())) == {expected}


def test_jwks_keeps_retired_keys_published(key: Ed25519PrivateKey) -> None:
    retired = Ed25519PrivateKey.generate().public_key()
    issuer = TokenIssuer(key, retired_public_keys=[retired])

    kids = [jwk["kid"] for jwk in issuer.jwks()["keys"]]
    assert kids == [issuer.kid, jwk_thumbprint(retired)]


async def _rejected(verifier: TokenVerifier, token: str) -> Unauthorized:
    with pytest.raises(Unauthorized) as caught:
        await verifier.verify(token)
    return caught.value


async def test_expired_token_is_rejected(key: Ed25519PrivateKey, issuer: TokenIssuer) -> None:
    token = issuer.issue(ALICE)
    late = TokenVerifier.from_public_keys(
        [key.public_key()], clock=lambda: NOW + timedelta(minutes=16)
    )

    problem = await _rejected(late, token)
    assert problem.status == 401
    assert "expired" in (problem.detail or "")


async def test_token_issued_in_the_future_is_rejected(
    key: Ed25519PrivateKey, issuer: TokenIssuer
) -> None:
    early = TokenVerifier.from_public_keys(
        [key.public_key()], clock=lambda: NOW - timedelta(minutes=5)
    )
    await _rejected(early, issuer.issue(ALICE))


async def test_alg_none_is_rejected(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    _, claims, _ = _segments(issuer.issue(ALICE))
    forged = _unsigned({"alg": "none", "typ": "JWT", "kid": issuer.kid}, claims) + "."
    await _rejected(verifier, forged)


@pytest.mark.parametrize("secret_format", ["raw", "pem"])
async def test_hs256_signed_with_the_public_key_is_rejected(
    key: Ed25519PrivateKey, issuer: TokenIssuer, verifier: TokenVerifier, secret_format: str
) -> None:
    public = key.public_key()
    secret = (
        public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        if secret_format == "raw"
        else public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    _, claims, _ = _segments(issuer.issue(ALICE))
    signing_input = _unsigned({"alg": "HS256", "typ": "JWT", "kid": issuer.kid}, claims)
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()

    await _rejected(verifier, f"{signing_input}.{_b64(signature)}")


async def test_unknown_kid_is_rejected(key: Ed25519PrivateKey, verifier: TokenVerifier) -> None:
    other = TokenIssuer(Ed25519PrivateKey.generate(), clock=lambda: NOW)
    await _rejected(verifier, other.issue(ALICE))


async def test_other_key_claiming_a_trusted_kid_is_rejected(
    issuer: TokenIssuer, verifier: TokenVerifier
) -> None:
    _, claims, _ = _segments(issuer.issue(ALICE))
    forged = jwt.encode(
        claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": issuer.kid}
    )
    await _rejected(verifier, forged)


async def test_tampered_payload_is_rejected(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    token = issuer.issue(ALICE)
    header_part, _, signature = token.split(".")
    _, claims, _ = _segments(token)
    claims["roles"] = ["platform_staff"]
    tampered = f"{header_part}.{_b64(json.dumps(claims).encode())}.{signature}"

    await _rejected(verifier, tampered)


@pytest.mark.parametrize(
    ("issuer_name", "audience"),
    [("byggrygg-identity", "someone-else"), ("evil-identity", "byggrygg")],
)
async def test_wrong_audience_or_issuer_is_rejected(
    key: Ed25519PrivateKey, verifier: TokenVerifier, issuer_name: str, audience: str
) -> None:
    other = TokenIssuer(key, issuer=issuer_name, audience=audience, clock=lambda: NOW)
    await _rejected(verifier, other.issue(ALICE))


@pytest.mark.parametrize(
    "change",
    [
        {"roles": ["learner", "emperor"]},
        {"subject_ref": None},
        {"sub": ""},
        {"jti": None},
        {"aud": ["byggrygg", "other"]},
    ],
)
async def test_bad_claims_are_rejected(
    key: Ed25519PrivateKey, issuer: TokenIssuer, verifier: TokenVerifier, change: dict[str, object]
) -> None:
    _, claims, _ = _segments(issuer.issue(ALICE))
    claims.update(change)
    claims = {name: value for name, value in claims.items() if value is not None}
    token = jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": issuer.kid})

    await _rejected(verifier, token)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "Bearer x.y.z"])
async def test_garbage_is_rejected(verifier: TokenVerifier, garbage: str) -> None:
    await _rejected(verifier, garbage)


def test_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "jwt-ed25519.pem"

    first = load_or_create_ed25519_key(path)
    second = load_or_create_ed25519_key(path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert jwk_thumbprint(first.public_key()) == jwk_thumbprint(second.public_key())
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


def test_tenant_check() -> None:
    staff = Principal("usr_s", "subj_" + "b" * 32, None, frozenset({Role.PLATFORM_STAFF}))
    homeless = Principal("usr_h", "subj_" + "c" * 32, None, frozenset({Role.LEARNER}))
    custom = NotFound("No such course.")

    same_organisation_or_staff(ALICE, "org_1")
    same_organisation_or_staff(staff, "org_2")
    with pytest.raises(NotFound) as caught:
        same_organisation_or_staff(ALICE, "org_2", not_found=custom)
    assert caught.value is custom
    with pytest.raises(NotFound):
        same_organisation_or_staff(ALICE, "org_2")
    with pytest.raises(Forbidden):
        same_organisation_or_staff(homeless, "org_1")


def _guarded_app(verifier: TokenVerifier) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    install_token_verifier(app, verifier)
    explicit = principal_dependency(verifier)

    @app.get("/admin")
    async def admin(
        principal: Annotated[Principal, Depends(require_roles(Role.ORG_ADMIN))],
    ) -> dict[str, str]:
        return {"user": principal.user_id}

    @app.get("/me")
    async def me(principal: Annotated[Principal, Depends(explicit)]) -> dict[str, str]:
        return {"org": principal.organisation_id or ""}

    return app


async def test_fastapi_guards(issuer: TokenIssuer, key: Ed25519PrivateKey) -> None:
    verifier = TokenVerifier.from_public_keys([key.public_key()], clock=lambda: NOW)
    learner = Principal("usr_2", "subj_" + "d" * 32, "org_1", frozenset({Role.LEARNER}))
    transport = httpx.ASGITransport(app=_guarded_app(verifier))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        missing = await client.get("/admin")
        invalid = await client.get("/admin", headers={"Authorization": "Bearer not.a.token"})
        wrong_scheme = await client.get("/admin", headers={"Authorization": "Basic dXNlcjpwdw=="})
        forbidden = await client.get(
            "/admin", headers={"Authorization": f"Bearer {issuer.issue(learner)}"}
        )
        allowed = await client.get(
            "/admin", headers={"Authorization": f"Bearer {issuer.issue(ALICE)}"}
        )
        me = await client.get("/me", headers={"Authorization": f"Bearer {issuer.issue(ALICE)}"})

    assert missing.status_code == 401
    assert missing.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert missing.headers["www-authenticate"] == 'Bearer realm="byggrygg"'
    assert invalid.status_code == 401
    assert invalid.headers["www-authenticate"] == 'Bearer realm="byggrygg", error="invalid_token"'
    assert invalid.json()["title"] == "Unauthorized"
    assert wrong_scheme.status_code == 401
    assert forbidden.status_code == 403
    assert forbidden.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert allowed.status_code == 200
    assert allowed.json() == {"user": "usr_1"}
    assert me.json() == {"org": "org_1"}
