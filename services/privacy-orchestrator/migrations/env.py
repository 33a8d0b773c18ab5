"""Alembic environment of the privacy orchestrator: the target metadata is
`privacy_orchestrator.adapters.tables.METADATA`; the wiring, the same for every service, is
`byggrygg_shared.migrations.run_environment`."""

from __future__ import annotations

from byggrygg_shared.migrations import run_environment
from privacy_orchestrator.adapters.tables import METADATA
from privacy_orchestrator.settings import OrchestratorSettings

run_environment(
    METADATA, database_url=lambda: OrchestratorSettings().privacy_orchestrator_database_url
)
