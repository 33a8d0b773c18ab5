"""The consent process: `consent migrate | serve` (typer, built by `byggrygg_shared.service_cli`).

Settings come from the environment (docs/decisions.md) and are read once, at the start of each
command, then passed on.
"""

from __future__ import annotations

from pathlib import Path

from byggrygg_shared import migrations
from byggrygg_shared.service_cli import service_cli
from consent.bootstrap import SERVICE, create_service_app
from consent.settings import ConsentSettings

# The service folder (services/consent): alembic.ini and migrations/ live there.
SERVICE_ROOT = Path(__file__).resolve().parents[2]


def migrate_database(database_url: str) -> None:
    """Bring consent's database to the newest schema (alembic upgrade head)."""
    migrations.migrate(SERVICE_ROOT, database_url)


cli = service_cli(
    SERVICE,
    settings=ConsentSettings,
    migrate_database=migrate_database,
    create_app=create_service_app,
    default_port=8103,
    serve_help=(
        "Serve the HTTP API; the outbox relay, the mail sender and the consumers run alongside."
    ),
)
