"""Checks shared by the bad-input tests of courses and consent against the REAL processes.

`Guard.refused` sends one request that must be refused and proves the three things the
developers' rule asks for: a 4xx RFC 9457 problem document with the expected status, no
traceback and no echo of the secrets or personal input the request carried, and nothing
written, neither in the service's own database (every table's row count and the newest event
position) nor in the key ring database.

The services consume events of their session (its own topics), and an event an earlier test
made may still be on its way: a `LicenceGranted` from identity may reach courses between the
two counts. Such a write always claims an inbox row (the consumers' idempotence), which a
refused HTTP request never does; so when the counts differ AND the inbox grew, the request is
measured again (being refused, sending it again changes nothing), a bounded number of times.

`Tokens` signs tokens with the session's real identity signing key (the platform's key file),
so a test can hold a valid token of any role, or one expired, forged or for another audience.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from byggrygg_shared.auth import jwk_thumbprint, load_or_create_ed25519_key

from ..identity_client import assert_problem, bearer, row_counts
from ..platform_processes import Platform

Send = Callable[[], Awaitable[httpx.Response]]

MEASUREMENTS = 4  # attempts when a consumed event lands between the two counts
TRACEBACK_MARKERS = ("Traceback", 'File "', "asyncpg.", "sqlalchemy", "psycopg")


@dataclass
class Guard:
    """Before/after counts of one service's database and of the key ring database."""

    service_dsn: str
    keyring_dsn: str

    async def written(self) -> dict[str, dict[str, int]]:
        return {
            "service": await row_counts(self.service_dsn),
            "keyring": await row_counts(self.keyring_dsn),
        }

    async def refused(
        self, status: int, send: Send, *, not_echoed: Iterable[str] = ()
    ) -> dict[str, Any]:
        """Send a request that must be refused with `status` and must write nothing."""
        hidden = [value for value in not_echoed if value]
        for _ in range(MEASUREMENTS):
            before = await self.written()
            response = await send()
            problem = assert_problem(response, status)
            text = response.text
            for marker in TRACEBACK_MARKERS:
                assert marker not in text, f"the answer shows internals ({marker}): {text}"
            for value in hidden:
                assert value not in text, "the answer echoes the request's input or a secret"
                assert json.dumps(value)[1:-1] not in text, "the answer echoes the input"
            after = await self.written()
            if after == before:
                return problem
            if after["service"].get("inbox", 0) == before["service"].get("inbox", 0):
                break  # nothing was consumed meanwhile: the request itself wrote
        assert after["service"] == before["service"], "a refused request wrote to the service"
        assert after["keyring"] == before["keyring"], "a refused request wrote to the key ring"
        raise AssertionError(
            "unreachable: counts differ only in an ignored way"
        )  # pragma: no cover


@dataclass(frozen=True)
class Tokens:
    """Tokens signed with the session's identity key, as identity itself would sign them."""

    key: Ed25519PrivateKey
    kid: str
    sample: dict[str, Any]

    @classmethod
    def of(cls, platform: Platform, sample_token: str) -> Tokens:
        """`sample_token`: any token identity issued (its issuer and audience are copied)."""
        key = load_or_create_ed25519_key(platform.jwt_private_key_file)
        sample = jwt.decode(sample_token, options={"verify_signature": False})
        return cls(key=key, kid=jwk_thumbprint(key.public_key()), sample=dict(sample))

    def sign(self, claims: dict[str, Any], *, key: Ed25519PrivateKey | None = None) -> str:
        return jwt.encode(
            claims, key or self.key, algorithm="EdDSA", headers={"kid": self.kid, "typ": "JWT"}
        )

    def claims(
        self, *roles: str, organisation_id: str | None = None, **changes: Any
    ) -> dict[str, Any]:
        now = int(time.time())
        return {
            **self.sample,
            "sub": str(uuid.uuid4()),
            "subject_ref": "subj_" + uuid.uuid4().hex,
            "org": organisation_id,
            "roles": sorted(roles),
            "iat": now,
            "exp": now + 600,
            "jti": uuid.uuid4().hex,
            **changes,
        }

    def headers(self, *roles: str, organisation_id: str | None = None) -> dict[str, str]:
        return bearer(self.sign(self.claims(*roles, organisation_id=organisation_id)))

    def refused_kinds(self, *roles: str, organisation_id: str | None = None) -> dict[str, str]:
        """Authorization headers that must all answer 401, each wrong in one way."""
        now = int(time.time())
        claims = self.claims(*roles, organisation_id=organisation_id)
        return {
            "expired": self.sign({**claims, "iat": now - 3600, "exp": now - 120}),
            "wrong_audience": self.sign({**claims, "aud": "someone-else"}),
            "wrong_issuer": self.sign({**claims, "iss": "evil-identity"}),
            "other_key": self.sign(claims, key=Ed25519PrivateKey.generate()),
            "signature_stripped": self.sign(claims).rsplit(".", 1)[0] + ".",
            "garbage": "not-a-jwt",
        }
