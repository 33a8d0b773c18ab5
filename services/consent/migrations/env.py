"""Alembic environment of consent: the target metadata is `consent.adapters.tables.METADATA`
(consent's tables plus the shared events and inbox tables); the wiring, the same for every
service, is `byggrygg_shared.migrations.run_environment`."""

from __future__ import annotations

from byggrygg_shared.migrations import run_environment
from consent.adapters.tables import METADATA
from consent.settings import ConsentSettings

run_environment(METADATA, database_url=lambda: ConsentSettings().consent_database_url)
