"""Token verification against identity-style JWKS served over real HTTP (uvicorn on a free port)."""

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI, Response

from byggrygg_shared.auth import (
    JwksKeys,
    Principal,
    Role,
    SigningKeysUnavailable,
    TokenIssuer,
    TokenVerifier,
)
from byggrygg_shared.problems import Unauthorized

BOB = Principal("usr_b", "subj_" + "e" * 32, "org_9", frozenset({Role.CONTACT_PERSON}))


@dataclass
class JwksServer:
    """What the fake identity serves, and how often it was asked."""

    url: str
    document: dict[str, object] = field(default_factory=lambda: {"keys": []})
    fetches: int = 0
    healthy: bool = True


@pytest.fixture
async def jwks_server() -> AsyncIterator[JwksServer]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    # Listening before uvicorn starts: early requests wait in the backlog, no start-up polling.
    sock.listen(16)
    port = sock.getsockname()[1]
    state = JwksServer(url=f"http://127.0.0.1:{port}/.well-known/jwks.json")
    app = FastAPI()

    @app.get("/.well-known/jwks.json")
    async def jwks() -> Response:
        state.fetches += 1
        if not state.healthy:
            return Response(status_code=503)
        return Response(content=json.dumps(state.document), media_type="application/json")

    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="off", access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield state
    finally:
        server.should_exit = True
        await task
        sock.close()


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_verifies_with_keys_fetched_over_http_and_follows_rotation(
    jwks_server: JwksServer,
) -> None:
    old_issuer = TokenIssuer(Ed25519PrivateKey.generate())
    jwks_server.document = old_issuer.jwks()
    clock = FakeMonotonic()
    keys = JwksKeys(jwks_server.url, min_refetch_interval=timedelta(seconds=30), monotonic=clock)
    verifier = TokenVerifier(keys)
    try:
        assert await verifier.verify(old_issuer.issue(BOB)) == BOB
        assert await verifier.verify(old_issuer.issue(BOB)) == BOB
        assert jwks_server.fetches == 1  # cached

        # identity rotates: new key signs, old key stays published
        new_key = Ed25519PrivateKey.generate()
        new_issuer = TokenIssuer(new_key, retired_public_keys=[old_issuer.public_key])
        jwks_server.document = new_issuer.jwks()
        clock.now += 31
        assert await verifier.verify(new_issuer.issue(BOB)) == BOB
        assert jwks_server.fetches == 2  # unknown kid -> fetched again
        assert await verifier.verify(old_issuer.issue(BOB)) == BOB
    finally:
        await keys.aclose()


async def test_unknown_kids_cannot_make_it_hammer_identity(jwks_server: JwksServer) -> None:
    trusted = TokenIssuer(Ed25519PrivateKey.generate())
    jwks_server.document = trusted.jwks()
    clock = FakeMonotonic()
    keys = JwksKeys(jwks_server.url, min_refetch_interval=timedelta(seconds=30), monotonic=clock)
    verifier = TokenVerifier(keys)
    try:
        await verifier.verify(trusted.issue(BOB))
        for _ in range(20):
            stranger = TokenIssuer(Ed25519PrivateKey.generate())
            with pytest.raises(Unauthorized):
                await verifier.verify(stranger.issue(BOB))
        assert jwks_server.fetches == 1

        clock.now += 30
        with pytest.raises(Unauthorized):
            await verifier.verify(TokenIssuer(Ed25519PrivateKey.generate()).issue(BOB))
        assert jwks_server.fetches == 2  # one refetch once the interval has passed
    finally:
        await keys.aclose()


async def test_without_any_keys_it_is_unavailable_not_unauthorized(jwks_server: JwksServer) -> None:
    jwks_server.healthy = False
    issuer = TokenIssuer(Ed25519PrivateKey.generate())
    verifier = TokenVerifier.from_jwks_url(jwks_server.url)
    try:
        with pytest.raises(SigningKeysUnavailable) as caught:
            await verifier.verify(issuer.issue(BOB))
        assert caught.value.status == 503
    finally:
        await verifier.aclose()


async def test_keeps_known_keys_when_identity_is_down(jwks_server: JwksServer) -> None:
    issuer = TokenIssuer(Ed25519PrivateKey.generate())
    jwks_server.document = issuer.jwks()
    clock = FakeMonotonic()
    keys = JwksKeys(jwks_server.url, cache_ttl=timedelta(minutes=10), monotonic=clock)
    verifier = TokenVerifier(keys)
    try:
        await verifier.verify(issuer.issue(BOB))
        jwks_server.healthy = False
        clock.now += 3600  # cache stale, refetch fails
        assert await verifier.verify(issuer.issue(BOB)) == BOB
        assert jwks_server.fetches == 2
    finally:
        await keys.aclose()
