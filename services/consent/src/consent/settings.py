"""Consent's settings, read from ``BYGGRYGG_*`` environment variables once, in bootstrap."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field

from byggrygg_shared.settings import PlatformSettings


class ConsentSettings(PlatformSettings):
    """The platform settings plus what only consent needs."""

    consent_database_url: str = Field(
        default="postgresql://byggrygg@127.0.0.1:54329/consent",
        description="consent's own database (BYGGRYGG_CONSENT_DATABASE_URL).",
    )
    consent_consumer_group: str = Field(
        default="consent",
        min_length=1,
        description="Kafka consumer group of every consent subscriber; a test harness gives "
        "each session its own (BYGGRYGG_CONSENT_CONSUMER_GROUP).",
    )
    consent_privacy_command_topic: str = Field(
        default="privacy.commands.consent.v1",
        min_length=1,
        description="Where the privacy orchestrator's commands to consent are read from.",
    )
    consent_mail_from: str = Field(
        default="ByggRygg <personvern@byggrygg.no>",
        min_length=3,
        description="The From address of the mail consent sends.",
    )
    consent_public_url: str = Field(
        default="http://127.0.0.1:8080/api/consent",
        description="Base URL of consent's API as the public sees it: links in mails use it.",
    )
    consent_link_key_file: Path = Field(
        default=Path(".run/secrets/consent-links.key"),
        description="Secret (32 random bytes, base64) that signs one-click withdrawal links; "
        "created on first start.",
    )
    consent_confirmation_ttl_hours: int = Field(
        default=48, ge=1, le=24 * 30, description="How long a double-opt-in link works (R8)."
    )
    consent_unconfirmed_grace_minutes: int = Field(
        default=60,
        ge=0,
        le=24 * 60,
        description="How long after its link expired a never-confirmed newsletter sign-up is "
        "forgotten (R8: kept only with consent; the margin covers clock skew).",
    )
    consent_unconfirmed_purge_interval_seconds: float = Field(
        default=300.0,
        gt=0,
        le=24 * 3600,
        description="How often consent looks for never-confirmed sign-ups to forget.",
    )
    consent_correspondence_retention_years: int = Field(
        default=1,
        ge=1,
        le=10,
        description="Years correspondence is kept after the customer's contract ended (R9).",
    )
    consent_visitor_cookie_secure: bool = Field(
        default=False,
        description="Mark the visitor cookie Secure (set it when the gateway serves HTTPS).",
    )

    @property
    def confirmation_ttl(self) -> timedelta:
        return timedelta(hours=self.consent_confirmation_ttl_hours)

    @property
    def unconfirmed_grace(self) -> timedelta:
        return timedelta(minutes=self.consent_unconfirmed_grace_minutes)

    @property
    def unconfirmed_purge_interval(self) -> timedelta:
        return timedelta(seconds=self.consent_unconfirmed_purge_interval_seconds)

    @property
    def public_url(self) -> str:
        return self.consent_public_url.rstrip("/")

    # The retention clock of correspondence (R9), run by consent's own background worker.
    consent_correspondence_purge_interval_seconds: float = Field(
        default=3600.0,
        gt=0,
        le=24 * 3600,
        description="How often consent deletes correspondence past its retention date "
        "(unless a hold keeps it) (BYGGRYGG_CONSENT_CORRESPONDENCE_PURGE_INTERVAL_SECONDS).",
    )
