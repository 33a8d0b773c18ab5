"""Every service's command line: the typer app with its ``migrate`` and ``serve`` commands.

``<svc> migrate`` brings the service's database (alembic, `byggrygg_shared.migrations`) and the
key ring database to their newest schema; ``<svc> serve --host --port`` runs the service's app
under uvicorn. A service's ``main.py`` calls `service_cli` and adds only the commands that are
its own (identity's ``create-staff``). Settings are read from the environment once, at the start
of each command, then passed on (docs/decisions.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
import uvicorn

from byggrygg_shared.keyring_schema import migrate_keyring
from byggrygg_shared.migrations import NotPostgreSQL
from byggrygg_shared.observability import configure_logging
from byggrygg_shared.settings import PlatformSettings

S = TypeVar("S", bound=PlatformSettings)


def _possessive(service: str) -> str:
    return f"{service}'" if service.endswith("s") else f"{service}'s"


def service_cli(
    service: str,
    *,
    settings: Callable[[], S],
    migrate_database: Callable[[str], None],
    create_app: Callable[[S], Any],
    default_port: int,
    serve_help: str,
) -> typer.Typer:
    """The typer app of `service`: ``migrate`` and ``serve`` (add more commands to it).

    `settings` reads the settings from the environment; the service's database URL is its
    ``<service>_database_url`` field (``BYGGRYGG_<SERVICE>_DATABASE_URL``). `create_app` builds
    the ASGI app ``serve`` runs, on `default_port` unless ``--port`` says otherwise.
    """
    cli = typer.Typer(help=f"The ByggRygg {service} service.", no_args_is_help=True)
    database_setting = f"{service.replace('-', '_')}_database_url"

    def read_settings() -> S:
        loaded = settings()
        configure_logging(service, loaded.log_level)
        return loaded

    def migrate() -> None:
        loaded = read_settings()
        try:
            migrate_database(str(getattr(loaded, database_setting)))
        except NotPostgreSQL as error:
            env_name = f"{loaded.model_config.get('env_prefix', '')}{database_setting}".upper()
            raise typer.BadParameter(str(error), param_hint=env_name) from None
        asyncio.run(migrate_keyring(loaded.keyring_database_url))
        typer.echo(f"{service} and key ring databases are up to date")

    migrate.__doc__ = (
        f"Migrate {_possessive(service)} database and the key ring database to their newest schema."
    )
    cli.command()(migrate)

    def serve(
        host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port to listen on.")] = default_port,
    ) -> None:
        loaded = read_settings()
        # uvicorn's own logging config and access log are off: structlog writes one JSON line
        # per request (with the correlation id and without personal data).
        uvicorn.run(create_app(loaded), host=host, port=port, log_config=None, access_log=False)

    serve.__doc__ = serve_help
    cli.command()(serve)
    return cli
