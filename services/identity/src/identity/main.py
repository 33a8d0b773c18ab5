"""The identity process: `identity migrate | serve | create-staff` (typer; `migrate` and
`serve` are built by `byggrygg_shared.service_cli`).

Settings come from the environment (docs/decisions.md) and are read once here, at the start of
each command, then passed on.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from pydantic import EmailStr, TypeAdapter, ValidationError

from byggrygg_shared import migrations
from byggrygg_shared.observability import configure_logging
from byggrygg_shared.service_cli import service_cli
from identity.bootstrap import SERVICE, build_runtime, close_runtime, create_service_app
from identity.service_layer.errors import EmailAlreadyInUse
from identity.service_layer.login import handle_create_staff
from identity.settings import IdentitySettings

# The service folder (services/identity): alembic.ini and migrations/ live there.
SERVICE_ROOT = Path(__file__).resolve().parents[2]
MIN_PASSWORD_LENGTH = 12


def migrate_database(database_url: str) -> None:
    """Bring identity's database to the newest schema (alembic upgrade head)."""
    migrations.migrate(SERVICE_ROOT, database_url)


# `migrate` and `serve` as every service has them; `create-staff` below is identity's own.
cli = service_cli(
    SERVICE,
    settings=IdentitySettings,
    migrate_database=migrate_database,
    create_app=create_service_app,
    default_port=8101,
    serve_help="Serve the HTTP API; the outbox relay runs alongside it.",
)


async def _create_staff(settings: IdentitySettings, email: str, password: str) -> str:
    runtime = await build_runtime(settings)
    try:
        staff_id = await handle_create_staff(deps=runtime.deps, email=email, password=password)
    finally:
        await close_runtime(runtime)
    return str(staff_id)


@cli.command("create-staff")
def create_staff(
    email: Annotated[str, typer.Option(help="The staff member's login e-mail.")],
    password_file: Annotated[
        Path,
        typer.Option(
            exists=True,
            dir_okay=False,
            readable=True,
            help="File holding the password (first line); keeps it out of the process list.",
        ),
    ],
) -> None:
    """Create a platform_staff account. There is no default account or password."""
    try:
        address = str(TypeAdapter(EmailStr).validate_python(email))
    except ValidationError:
        raise typer.BadParameter("not a valid e-mail address", param_hint="--email") from None
    lines = password_file.read_text(encoding="utf-8").splitlines()
    password = lines[0] if lines else ""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise typer.BadParameter(
            f"the password must have at least {MIN_PASSWORD_LENGTH} characters",
            param_hint="--password-file",
        )
    settings = IdentitySettings()
    configure_logging(SERVICE, settings.log_level)
    try:
        staff_id = asyncio.run(_create_staff(settings, address, password))
    except EmailAlreadyInUse:
        typer.echo("an account with this e-mail address already exists", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(f"created platform_staff account {staff_id}")
