"""Settings every service shares, read from ``BYGGRYGG_*`` environment variables.

Nothing is read at import time: a service builds its settings once, in ``bootstrap``
(``IdentitySettings()``), and passes the values on. Services subclass `PlatformSettings`
to add their own fields, e.g. ``identity_database_url`` (``BYGGRYGG_IDENTITY_DATABASE_URL``).
The defaults are the local development values recorded in docs/decisions.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Kafka topic names are at most 249 characters of [A-Za-z0-9._-]; the longest platform topic
# (privacy.commands.reporting.v1.dlq) leaves room for a prefix of this length.
MAX_TOPIC_PREFIX_LENGTH: Final = 64

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class PlatformSettings(BaseSettings):
    """The settings of the platform as a whole (Kafka, key ring, token verification, logs)."""

    model_config = SettingsConfigDict(
        env_prefix="BYGGRYGG_",
        extra="ignore",
        frozen=True,
        case_sensitive=False,
    )

    kafka_bootstrap: str = Field(
        default="127.0.0.1:9092", description="Kafka bootstrap servers, comma separated."
    )
    kafka_topic_prefix: str = Field(
        default="",
        max_length=MAX_TOPIC_PREFIX_LENGTH,
        pattern=r"^[A-Za-z0-9._-]*$",
        description="Put before every Kafka topic name this deployment publishes to or reads "
        "from (dead-letter topics included), e.g. 'e2e-gw0-1a2b3c.': namespaces all topics of "
        "a deployment on a shared cluster; the test harness gives each session its own. "
        "Events in the event store keep the contract's topic (BYGGRYGG_KAFKA_TOPIC_PREFIX).",
    )
    keyring_database_url: str = Field(
        default="postgresql://byggrygg@127.0.0.1:54329/keyring",
        description="DSN of the key ring database (crypto-shredding keys, DESIGN §4).",
    )
    keyring_master_key_file: Path = Field(
        default=Path(".run/secrets/keyring-master.key"),
        description="File holding the base64 master key that wraps every data key.",
    )
    jwks_url: str = Field(
        default="http://127.0.0.1:8101/.well-known/jwks.json",
        description="Where services fetch identity's token signing keys.",
    )
    jwt_issuer: str = Field(default="byggrygg-identity", description="Expected token issuer.")
    jwt_audience: str = Field(default="byggrygg", description="Expected token audience.")
    log_level: LogLevel = Field(default="INFO", description="Minimum level of log records.")
    # Where every service's mail outbox hands its mail (byggrygg_shared.mail_outbox).
    smtp_host: str = Field(
        default="127.0.0.1", description="SMTP server outgoing mail is handed to."
    )
    smtp_port: int = Field(default=8025, ge=1, le=65535, description="Its port.")
    smtp_timeout_seconds: float = Field(
        default=10.0, gt=0, description="How long one SMTP conversation may take."
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_case_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value
