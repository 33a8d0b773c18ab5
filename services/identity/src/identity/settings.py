"""Identity's settings, read from ``BYGGRYGG_*`` environment variables once, in bootstrap."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Final

from pydantic import Field, field_validator

from byggrygg_shared.settings import PlatformSettings

# scheme://host[:port], as a browser sends it in `Origin` (no path, no trailing slash).
_ORIGIN: Final = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")


class IdentitySettings(PlatformSettings):
    """The platform settings plus what only identity needs."""

    identity_database_url: str = Field(
        default="postgresql://byggrygg@127.0.0.1:54329/identity",
        description="identity's own database (BYGGRYGG_IDENTITY_DATABASE_URL).",
    )
    jwt_private_key_file: Path = Field(
        default=Path(".run/secrets/jwt-ed25519.pem"),
        description="Ed25519 signing key of access tokens; created on first start.",
    )
    identity_terms_version: str = Field(
        default="2024-1",
        min_length=1,
        description="The terms version a person must accept to become a user (R3).",
    )
    bookkeeping_years: int = Field(
        default=5,
        ge=1,
        le=20,
        description="Statutory bookkeeping period after a contract ends (R2).",
    )
    identity_invitation_ttl_hours: int = Field(
        default=72, ge=1, description="How long an invitation can be accepted."
    )
    identity_access_token_minutes: int = Field(
        default=15, ge=1, le=60, description="Lifetime of an access token."
    )

    # R2's clocks on ended customers' data, run by identity's own background worker.
    identity_retention_interval_seconds: float = Field(
        default=3600.0,
        gt=0,
        le=24 * 3600,
        description="How often identity erases ended customers' contact details and payment "
        "information whose R2 clock ran out (BYGGRYGG_IDENTITY_RETENTION_INTERVAL_SECONDS).",
    )

    identity_cors_origins: str = Field(
        default="",
        description="Comma-separated origins whose pages may sign in with POST /auth/token "
        "from a browser (CORS on that route only): reporting's ops dashboard when it is served "
        "directly on its own port, not behind the gateway. Empty: no CORS at all "
        "(BYGGRYGG_IDENTITY_CORS_ORIGINS).",
    )
    identity_consumer_group: str = Field(
        default="identity",
        min_length=1,
        description="Kafka consumer group of every identity subscriber; a test harness gives "
        "each session its own (BYGGRYGG_IDENTITY_CONSUMER_GROUP).",
    )
    identity_privacy_command_topic: str = Field(
        default="privacy.commands.identity.v1",
        min_length=1,
        description="Where the privacy orchestrator's commands to identity are read from.",
    )

    @property
    def invitation_ttl(self) -> timedelta:
        return timedelta(hours=self.identity_invitation_ttl_hours)

    @property
    def access_token_ttl(self) -> timedelta:
        return timedelta(minutes=self.identity_access_token_minutes)

    @property
    def cors_origins(self) -> tuple[str, ...]:
        return tuple(item.strip() for item in self.identity_cors_origins.split(",") if item.strip())

    @field_validator("identity_cors_origins")
    @classmethod
    def _origins_only(cls, value: str) -> str:
        # Exact origins: no "*", no path (a wildcard would let any site try passwords).
        for item in (part.strip() for part in value.split(",")):
            if item and not _ORIGIN.fullmatch(item):
                raise ValueError(f"{item!r} is not an origin (http(s)://host[:port])")
        return value
