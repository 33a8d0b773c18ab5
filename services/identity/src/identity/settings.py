"""Identity's settings, read from ``BYGGRYGG_*`` environment variables once, in bootstrap."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field

from byggrygg_shared.settings import PlatformSettings


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
