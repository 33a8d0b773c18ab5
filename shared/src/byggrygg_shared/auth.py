"""Who is calling: EdDSA access tokens issued by identity and verified by every service (DESIGN §7).

- `TokenIssuer` (identity only) signs short-lived JWTs with an Ed25519 key; the key id is the
  RFC 7638 JWK thumbprint, and `jwks()` publishes the public half.
- `TokenVerifier` (every service) accepts exactly alg ``EdDSA`` from known keys, checks
  ``exp``, ``iat``, ``iss`` and ``aud``, and returns a `Principal`. Keys come either from a fixed
  list or from identity's JWKS URL (cached; fetched again when a token names an unknown key,
  at most once per `min_refetch_interval`, so random key ids cannot make us hammer identity).
- FastAPI dependencies turn a missing or bad bearer token into a 401 problem with a
  ``WWW-Authenticate`` challenge and a missing role into a 403 problem.
- `same_organisation_or_staff` is the tenant check (R-tenancy): a caller from another
  organisation gets **404**, the same answer as for a resource that does not exist, so the
  response never reveals whether another tenant's resource exists. A caller who belongs to
  no organisation at all gets 403 (there is nothing to leak: the answer does not depend on
  the resource).

Token claims: ``sub`` (user id), ``subject_ref``, ``org`` (organisation id or null),
``roles``, ``iat``, ``exp``, ``iss``, ``aud``, ``jti``. No e-mail, no name: tokens end up in
logs and browser storage.
"""

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Final, Protocol, Self
from uuid import uuid4

import httpx
import jwt
import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fastapi import Depends, FastAPI, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from byggrygg_shared.problems import Forbidden, NotFound, Problem, ServiceUnavailable, Unauthorized

ALGORITHM: Final = "EdDSA"
DEFAULT_ISSUER: Final = "byggrygg-identity"
DEFAULT_AUDIENCE: Final = "byggrygg"

Clock = Callable[[], datetime]

_log = structlog.get_logger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Role(StrEnum):
    """The platform's roles (DESIGN §7)."""

    LEARNER = "learner"
    ORG_ADMIN = "org_admin"
    CONTACT_PERSON = "contact_person"
    PLATFORM_STAFF = "platform_staff"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, as far as any service needs to know it."""

    user_id: str
    subject_ref: str
    organisation_id: str | None
    roles: frozenset[Role]

    def has_any_role(self, *roles: Role) -> bool:
        return not self.roles.isdisjoint(roles)

    @property
    def is_platform_staff(self) -> bool:
        return Role.PLATFORM_STAFF in self.roles


# --- keys -------------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _raw_public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_jwk(key: Ed25519PublicKey) -> dict[str, str]:
    """The public key as a JWK with key id, algorithm and use (RFC 8037)."""
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": _b64url(_raw_public_bytes(key)),
        "kid": jwk_thumbprint(key),
        "alg": ALGORITHM,
        "use": "sig",
    }


def jwk_thumbprint(key: Ed25519PublicKey) -> str:
    """RFC 7638 thumbprint: SHA-256 over the required members in lexicographic order."""
    required = {"crv": "Ed25519", "kty": "OKP", "x": _b64url(_raw_public_bytes(key))}
    canonical = json.dumps(required, separators=(",", ":"), sort_keys=True).encode("ascii")
    return _b64url(hashlib.sha256(canonical).digest())


def load_or_create_ed25519_key(path: Path | str) -> Ed25519PrivateKey:
    """Load the PEM private key at `path`, or create it there (mode 600) on first start.

    Creation is atomic (written to a temporary file, then hard-linked into place), so two
    processes starting together end up with the same key and never read a half-written file.
    """
    target = Path(path)
    if not target.exists():
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=".key-")
        try:
            os.fchmod(descriptor, 0o600)
            os.write(descriptor, pem)
            os.fsync(descriptor)
            os.close(descriptor)
            # Another process may have won the race: then its key is the key.
            with contextlib.suppress(FileExistsError):
                os.link(temporary, target)
        finally:
            os.unlink(temporary)
    key = serialization.load_pem_private_key(target.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise TypeError(f"{target} does not hold an Ed25519 private key")
    return key


# --- issuing ----------------------------------------------------------------------------


class TokenIssuer:
    """Signs access tokens for principals (used by identity only)."""

    def __init__(
        self,
        private_key: Ed25519PrivateKey,
        *,
        issuer: str = DEFAULT_ISSUER,
        audience: str = DEFAULT_AUDIENCE,
        ttl: timedelta = timedelta(minutes=15),
        clock: Clock = _utc_now,
        new_token_id: Callable[[], str] = lambda: uuid4().hex,
        retired_public_keys: Sequence[Ed25519PublicKey] = (),
    ) -> None:
        self._private_key = private_key
        self._issuer = issuer
        self._audience = audience
        self._ttl = ttl
        self._clock = clock
        self._new_token_id = new_token_id
        # Keys rotated out but still published until the tokens they signed have expired.
        self._retired_public_keys = tuple(retired_public_keys)
        self._kid = jwk_thumbprint(private_key.public_key())

    @property
    def kid(self) -> str:
        return self._kid

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self._private_key.public_key()

    def issue(self, principal: Principal) -> str:
        now = self._clock()
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": principal.user_id,
            "subject_ref": principal.subject_ref,
            "org": principal.organisation_id,
            "roles": sorted(role.value for role in principal.roles),
            "iat": int(now.timestamp()),
            "exp": int((now + self._ttl).timestamp()),
            "jti": self._new_token_id(),
        }
        return jwt.encode(
            claims,
            self._private_key,
            algorithm=ALGORITHM,
            headers={"kid": self._kid, "typ": "JWT"},
        )

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The JSON Web Key Set to serve at ``/.well-known/jwks.json``."""
        keys = [self._private_key.public_key(), *self._retired_public_keys]
        return {"keys": [public_jwk(key) for key in keys]}


# --- key sources ------------------------------------------------------------------------


class SigningKeysUnavailable(ServiceUnavailable):
    """The verifier has no keys yet and identity's JWKS cannot be fetched (503, not 401:
    the caller's token may well be fine)."""

    default_title = "Signing keys unavailable"
    default_type = "signing-keys-unavailable"


class KeySource(Protocol):
    """Where a verifier finds the public key named by a token's ``kid``."""

    async def key_for(self, kid: str) -> Ed25519PublicKey | None: ...


class StaticKeys:
    """A fixed set of public keys, addressed by their thumbprints."""

    def __init__(self, keys: Iterable[Ed25519PublicKey]) -> None:
        self._keys = {jwk_thumbprint(key): key for key in keys}

    async def key_for(self, kid: str) -> Ed25519PublicKey | None:
        return self._keys.get(kid)


def keys_from_jwks(document: Mapping[str, Any]) -> dict[str, Ed25519PublicKey]:
    """The Ed25519 signing keys of a JWKS document by key id; other keys are ignored."""
    keys: dict[str, Ed25519PublicKey] = {}
    for jwk in document.get("keys", []):
        if not isinstance(jwk, Mapping):
            continue
        if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            continue
        if jwk.get("use", "sig") != "sig" or jwk.get("alg", ALGORITHM) not in (
            ALGORITHM,
            "Ed25519",
        ):
            continue
        try:
            key = Ed25519PublicKey.from_public_bytes(_b64url_decode(str(jwk["x"])))
        except (KeyError, ValueError):
            continue
        kid = jwk.get("kid")
        keys[kid if isinstance(kid, str) and kid else jwk_thumbprint(key)] = key
    return keys


class JwksKeys:
    """Public keys fetched from a JWKS URL, cached for `cache_ttl`.

    An unknown ``kid`` triggers a fetch (identity may have rotated its key), but never more
    than once per `min_refetch_interval`. A failed fetch keeps the keys already known.
    """

    def __init__(
        self,
        url: str,
        *,
        client: httpx.AsyncClient | None = None,
        cache_ttl: timedelta = timedelta(minutes=10),
        min_refetch_interval: timedelta = timedelta(seconds=30),
        timeout: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._cache_ttl = cache_ttl.total_seconds()
        self._min_refetch_interval = min_refetch_interval.total_seconds()
        self._monotonic = monotonic
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._attempted_at: float | None = None  # last attempt, successful or not
        self._lock = asyncio.Lock()

    def _stale(self, now: float) -> bool:
        return self._fetched_at is None or now - self._fetched_at >= self._cache_ttl

    def _may_fetch(self, now: float) -> bool:
        return self._attempted_at is None or now - self._attempted_at >= self._min_refetch_interval

    async def key_for(self, kid: str) -> Ed25519PublicKey | None:
        now = self._monotonic()
        if kid in self._keys and not self._stale(now):
            return self._keys[kid]
        async with self._lock:
            now = self._monotonic()
            wanted = kid not in self._keys or self._stale(now)
            if wanted and self._may_fetch(now):
                await self._fetch(now)
        if not self._keys:
            raise SigningKeysUnavailable("The service cannot verify tokens right now.")
        return self._keys.get(kid)

    async def _fetch(self, now: float) -> None:
        self._attempted_at = now
        try:
            response = await self._client.get(self._url)
            response.raise_for_status()
            keys = keys_from_jwks(response.json())
        except (httpx.HTTPError, ValueError) as exc:
            _log.warning("jwks_fetch_failed", url=self._url, exc_type=type(exc).__name__)
            return
        self._keys = keys
        self._fetched_at = now
        _log.info("jwks_fetched", url=self._url, keys=len(keys))

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()


# --- verifying --------------------------------------------------------------------------


class _Claims(BaseModel):
    model_config = ConfigDict(extra="ignore")

    sub: str = Field(min_length=1)
    subject_ref: str = Field(min_length=1)
    org: str | None
    roles: list[Role]
    iat: int
    exp: int


class TokenVerifier:
    """Checks access tokens and says who is calling."""

    def __init__(
        self,
        keys: KeySource,
        *,
        issuer: str = DEFAULT_ISSUER,
        audience: str = DEFAULT_AUDIENCE,
        clock: Clock = _utc_now,
        leeway: timedelta = timedelta(seconds=30),
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._clock = clock
        self._leeway = leeway.total_seconds()

    @classmethod
    def from_public_keys(
        cls,
        keys: Iterable[Ed25519PublicKey],
        *,
        issuer: str = DEFAULT_ISSUER,
        audience: str = DEFAULT_AUDIENCE,
        clock: Clock = _utc_now,
        leeway: timedelta = timedelta(seconds=30),
    ) -> Self:
        return cls(StaticKeys(keys), issuer=issuer, audience=audience, clock=clock, leeway=leeway)

    @classmethod
    def from_jwks_url(
        cls,
        url: str,
        *,
        client: httpx.AsyncClient | None = None,
        issuer: str = DEFAULT_ISSUER,
        audience: str = DEFAULT_AUDIENCE,
        clock: Clock = _utc_now,
        leeway: timedelta = timedelta(seconds=30),
        min_refetch_interval: timedelta = timedelta(seconds=30),
        cache_ttl: timedelta = timedelta(minutes=10),
    ) -> Self:
        keys = JwksKeys(
            url, client=client, cache_ttl=cache_ttl, min_refetch_interval=min_refetch_interval
        )
        return cls(keys, issuer=issuer, audience=audience, clock=clock, leeway=leeway)

    async def verify(self, token: str) -> Principal:
        """The principal of a valid token; raises `Unauthorized` for anything else."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise self._reject("malformed") from None
        # Checked before any key lookup, and again by pyjwt: only EdDSA is ever acceptable.
        if header.get("alg") != ALGORITHM:
            raise self._reject("algorithm")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise self._reject("no_kid")
        key = await self._keys.key_for(kid)
        if key is None:
            raise self._reject("unknown_kid")
        try:
            payload = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={
                    "require": ["exp", "iat", "iss", "aud", "sub", "jti"],
                    "strict_aud": True,
                    # Time is checked below against the injected clock.
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
            claims = _Claims.model_validate(payload)
        except jwt.PyJWTError as exc:
            raise self._reject(type(exc).__name__) from None
        except ValidationError:
            raise self._reject("claims") from None
        now = self._clock().timestamp()
        if now >= claims.exp + self._leeway:
            raise self._reject("expired", detail="The access token has expired.")
        if claims.iat > now + self._leeway:
            raise self._reject("issued_in_future")
        return Principal(
            user_id=claims.sub,
            subject_ref=claims.subject_ref,
            organisation_id=claims.org,
            roles=frozenset(claims.roles),
        )

    async def aclose(self) -> None:
        """Release the key source's HTTP client, if it has one."""
        close = getattr(self._keys, "aclose", None)
        if close is not None:
            await close()

    @staticmethod
    def _reject(reason: str, *, detail: str = "The access token is not valid.") -> Unauthorized:
        # The reason is logged for operators; the client only learns that the token is bad.
        _log.info("token_rejected", reason=reason)
        return Unauthorized(detail)


# --- FastAPI ----------------------------------------------------------------------------

bearer_scheme: Final = HTTPBearer(
    auto_error=False, bearerFormat="JWT", description="Access token issued by identity."
)
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]
PrincipalDependency = Callable[..., Awaitable[Principal]]


async def _authenticate(
    verifier: TokenVerifier, credentials: HTTPAuthorizationCredentials | None
) -> Principal:
    if credentials is None:
        raise Unauthorized("This endpoint needs a bearer access token.", error="")
    return await verifier.verify(credentials.credentials)


def install_token_verifier(app: FastAPI, verifier: TokenVerifier) -> None:
    """Make `verifier` the one `current_principal` and `require_roles` use for `app`."""
    app.state.token_verifier = verifier


async def current_principal(request: Request, credentials: Bearer) -> Principal:
    """FastAPI dependency: the caller, verified with the app's installed verifier."""
    verifier = getattr(request.app.state, "token_verifier", None)
    if not isinstance(verifier, TokenVerifier):
        raise RuntimeError("no TokenVerifier installed; call install_token_verifier(app, ...)")
    return await _authenticate(verifier, credentials)


def principal_dependency(verifier: TokenVerifier) -> PrincipalDependency:
    """FastAPI dependency bound to an explicit verifier (instead of the app's installed one)."""

    async def authenticated_principal(credentials: Bearer) -> Principal:
        return await _authenticate(verifier, credentials)

    return authenticated_principal


def require_roles(
    *roles: Role, authenticate: PrincipalDependency = current_principal
) -> PrincipalDependency:
    """FastAPI dependency: the caller, who must hold at least one of `roles` (else 403)."""
    if not roles:
        raise ValueError("require_roles needs at least one role")
    wanted = frozenset(roles)

    async def principal_with_role(
        principal: Annotated[Principal, Depends(authenticate)],
    ) -> Principal:
        if principal.roles.isdisjoint(wanted):
            raise Forbidden("Your role does not allow this.")
        return principal

    return principal_with_role


def same_organisation_or_staff(
    principal: Principal, organisation_id: str, *, not_found: Problem | None = None
) -> None:
    """Allow the caller's own organisation (or platform staff); see the module docstring.

    Pass the service's own not-found problem as `not_found` so that the answer for another
    tenant's resource is byte-for-byte the answer for a missing one.
    """
    if principal.is_platform_staff or principal.organisation_id == organisation_id:
        return
    if principal.organisation_id is None:
        raise Forbidden("You do not belong to an organisation.")
    raise not_found if not_found is not None else NotFound()
