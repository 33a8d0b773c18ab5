"""The `identity` command line: migrate and create-staff, run as a separate process."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import httpx

from identity.bootstrap import build_runtime, close_runtime, install
from identity.entrypoints.api import create_app
from identity.settings import IdentitySettings

from ....service_testing import assert_problem, run_cli
from .support import PASSWORD, cli_env


async def test_migrate_then_create_staff_then_log_in(fresh_database: str, tmp_path: Path) -> None:
    env = cli_env(fresh_database, tmp_path)
    code, output = await run_cli("identity", "migrate", env=env)
    assert code == 0, output
    conn = await asyncpg.connect(fresh_database)
    try:
        tables = {
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")
        }
    finally:
        await conn.close()
    assert {"events", "inbox", "users", "organisations", "keyring_subjects"} <= tables

    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD + "\n")
    args = ("create-staff", "--email", "Boss@Byggrygg.example.no", "--password-file")
    code, output = await run_cli("identity", *args, str(password_file), env=env)
    assert code == 0, output
    assert "created platform_staff account" in output
    assert PASSWORD not in output

    code, output = await run_cli("identity", *args, str(password_file), env=env)
    assert code == 1
    assert "already exists" in output

    short = tmp_path / "short"
    short.write_text("tooshort\n")
    code, output = await run_cli(
        "identity",
        "create-staff",
        "--email",
        "b@byggrygg.example.no",
        "--password-file",
        str(short),
        env=env,
    )
    assert code != 0
    assert "at least 12" in output

    # The account logs in through the API built on the same settings.
    settings = IdentitySettings(
        identity_database_url=fresh_database,
        keyring_database_url=fresh_database,
        keyring_master_key_file=Path(env["BYGGRYGG_KEYRING_MASTER_KEY_FILE"]),
        jwt_private_key_file=Path(env["BYGGRYGG_JWT_PRIVATE_KEY_FILE"]),
    )
    runtime = await build_runtime(settings)
    try:
        app = create_app()
        install(app, runtime)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://identity"
        ) as http:
            ok = await http.post(
                "/auth/token", json={"email": "boss@byggrygg.example.no", "password": PASSWORD}
            )
            assert ok.status_code == 200
            me = await http.get(
                "/me", headers={"Authorization": f"Bearer {ok.json()['access_token']}"}
            )
            assert me.json()["roles"] == ["platform_staff"]
            assert me.json()["user"] is None
            wrong = await http.post(
                "/auth/token", json={"email": "boss@byggrygg.example.no", "password": "x" * 12}
            )
            assert_problem(wrong, 401)
    finally:
        await close_runtime(runtime)
