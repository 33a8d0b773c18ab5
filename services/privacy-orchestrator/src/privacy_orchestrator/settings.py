"""The orchestrator's settings, read from ``BYGGRYGG_*`` variables once, in bootstrap."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from byggrygg_shared.settings import PlatformSettings


class OrchestratorSettings(PlatformSettings):
    """The platform settings plus what only the privacy orchestrator needs."""

    privacy_orchestrator_database_url: str = Field(
        default="postgresql://byggrygg@127.0.0.1:54329/privacy_orchestrator",
        description="The orchestrator's own database (BYGGRYGG_PRIVACY_ORCHESTRATOR_DATABASE_URL).",
    )
    privacy_orchestrator_signing_key_file: Path = Field(
        default=Path(".run/secrets/orchestrator-ed25519.pem"),
        description="The Ed25519 key (PEM) that signs completion records (R19); created on "
        "first start (BYGGRYGG_PRIVACY_ORCHESTRATOR_SIGNING_KEY_FILE).",
    )
