"""Alembic environment of identity: the target metadata is `identity.adapters.tables.METADATA`
(identity's tables plus the shared events and inbox tables); the wiring, the same for every
service, is `byggrygg_shared.migrations.run_environment`."""

from __future__ import annotations

from byggrygg_shared.migrations import run_environment
from identity.adapters.tables import METADATA
from identity.settings import IdentitySettings

run_environment(METADATA, database_url=lambda: IdentitySettings().identity_database_url)
