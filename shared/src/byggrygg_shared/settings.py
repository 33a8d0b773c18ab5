"""Settings every service shares, read from ``BYGGRYGG_*`` environment variables.

Nothing is read at import time: a service builds its settings once, in ``bootstrap``
(``IdentitySettings()``), and passes the values on. Services subclass `PlatformSettings`
to add their own fields, e.g. ``identity_database_url`` (``BYGGRYGG_IDENTITY_DATABASE_URL``).
The defaults are the local development values recorded in docs/decisions.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_case_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value
