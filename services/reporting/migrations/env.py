"""Alembic environment of reporting: the target metadata is `reporting.adapters.tables.METADATA`
(reporting's read models plus the shared events and inbox tables); the wiring, the same for
every service, is `byggrygg_shared.migrations.run_environment`."""

from __future__ import annotations

from byggrygg_shared.migrations import run_environment
from reporting.adapters.tables import METADATA
from reporting.settings import ReportingSettings

run_environment(METADATA, database_url=lambda: ReportingSettings().reporting_database_url)
