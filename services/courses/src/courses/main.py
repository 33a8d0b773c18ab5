"""The courses process: `courses migrate | serve` (typer, built by `byggrygg_shared.service_cli`).

Settings come from the environment (docs/decisions.md) and are read once, at the start of each
command, then passed on.
"""

from __future__ import annotations

from pathlib import Path

from byggrygg_shared import migrations
from byggrygg_shared.service_cli import service_cli
from courses.bootstrap import SERVICE, create_service_app
from courses.settings import CoursesSettings

# The service folder (services/courses): alembic.ini and migrations/ live there.
SERVICE_ROOT = Path(__file__).resolve().parents[2]


def migrate_database(database_url: str) -> None:
    """Bring courses' database to the newest schema (alembic upgrade head)."""
    migrations.migrate(SERVICE_ROOT, database_url)


cli = service_cli(
    SERVICE,
    settings=CoursesSettings,
    migrate_database=migrate_database,
    create_app=create_service_app,
    default_port=8102,
    serve_help="Serve the HTTP API; the outbox relay and the Kafka consumers run alongside it.",
)
