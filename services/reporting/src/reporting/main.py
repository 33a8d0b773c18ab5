"""The reporting process: `reporting migrate | serve | rebuild` (typer, built by
`byggrygg_shared.service_cli`, plus the read models' rebuild).

Settings come from the environment (docs/decisions.md) and are read once, at the start of each
command, then passed on.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from byggrygg_shared import migrations
from byggrygg_shared.service_cli import service_cli
from reporting.bootstrap import SERVICE, create_service_app
from reporting.settings import ReportingSettings

# The service folder (services/reporting): alembic.ini and migrations/ live there.
SERVICE_ROOT = Path(__file__).resolve().parents[2]


def migrate_database(database_url: str) -> None:
    """Bring reporting's database to the newest schema (alembic upgrade head)."""
    migrations.migrate(SERVICE_ROOT, database_url)


cli = service_cli(
    SERVICE,
    settings=ReportingSettings,
    migrate_database=migrate_database,
    create_app=create_service_app,
    default_port=8105,
    serve_help="Serve the HTTP API; the outbox relay and the consumers run alongside.",
)


@cli.command()
def rebuild() -> None:
    """Rebuild the read models from offset zero of courses' topics, then swap them in."""
    from reporting.service_layer.rebuild import rebuild_from_settings

    counts = asyncio.run(rebuild_from_settings(ReportingSettings()))
    typer.echo(
        f"rebuilt the read models from {counts.events} events "
        f"({counts.skipped} unreadable, skipped); swapped in"
    )
