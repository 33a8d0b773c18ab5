"""The courses process: `courses migrate | serve` (typer).

Settings come from the environment (docs/decisions.md) and are read once here, at the start of
each command, then passed on.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from byggrygg_shared import migrations
from byggrygg_shared.keyring_schema import migrate_keyring
from byggrygg_shared.observability import configure_logging
from courses.bootstrap import SERVICE, create_service_app
from courses.settings import CoursesSettings

# The service folder (services/courses): alembic.ini and migrations/ live there.
SERVICE_ROOT = Path(__file__).resolve().parents[2]

cli = typer.Typer(help="The ByggRygg courses service.", no_args_is_help=True)


def migrate_database(database_url: str) -> None:
    """Bring courses' database to the newest schema (alembic upgrade head)."""
    migrations.migrate(SERVICE_ROOT, database_url)


@cli.command()
def migrate() -> None:
    """Migrate courses' database and the key ring database to their newest schema."""
    settings = CoursesSettings()
    configure_logging(SERVICE, settings.log_level)
    try:
        migrate_database(settings.courses_database_url)
    except migrations.NotPostgreSQL as error:
        raise typer.BadParameter(str(error), param_hint="BYGGRYGG_COURSES_DATABASE_URL") from None
    asyncio.run(migrate_keyring(settings.keyring_database_url))
    typer.echo("courses and key ring databases are up to date")


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8102,
) -> None:
    """Serve the HTTP API; the outbox relay and the Kafka consumers run alongside it."""
    settings = CoursesSettings()
    configure_logging(SERVICE, settings.log_level)
    # uvicorn's own logging config and access log are off: structlog writes one JSON line per
    # request (with the correlation id and without personal data).
    uvicorn.run(
        create_service_app(settings), host=host, port=port, log_config=None, access_log=False
    )
