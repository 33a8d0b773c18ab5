"""The command line as real processes (`uv run --no-sync privacy-orchestrator ...`): migrate,
serve (the key is created on first start), export-public-key, export-records, and the offline
verify-records with its exit codes: 0 and "verified N records", 1 naming the first bad record.

verify-records runs with a database URL that points nowhere and no signing key file: it needs
neither (R19: offline). Each kind of damage is checked in process in tests/unit/test_verify_cli.py.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import asyncpg
import httpx
import pytest

from byggrygg_shared.auth import load_or_create_ed25519_key
from byggrygg_shared.db import create_pool
from privacy_orchestrator.domain.signing import RecordSigner
from privacy_orchestrator.service_layer.context import Dependencies
from privacy_orchestrator.service_layer.records import append_completion_record

from ....service_testing import free_port
from .support import rewind_chain

REPOSITORY = Path(__file__).resolve().parents[4]
DEADLINE_SECONDS = 60.0


async def run(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        "uv",
        "run",
        "--no-sync",
        "privacy-orchestrator",
        *args,
        cwd=REPOSITORY,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


@pytest.fixture
def service_env(fresh_database: str, tmp_path: Path) -> dict[str, str]:
    return {
        "BYGGRYGG_PRIVACY_ORCHESTRATOR_DATABASE_URL": fresh_database,
        "BYGGRYGG_KEYRING_DATABASE_URL": fresh_database,
        "BYGGRYGG_PRIVACY_ORCHESTRATOR_SIGNING_KEY_FILE": str(tmp_path / "secrets" / "key.pem"),
        "BYGGRYGG_JWKS_URL": "http://127.0.0.1:9/.well-known/jwks.json",
        # A group of its own: never share the replies with a running orchestrator.
        "BYGGRYGG_PRIVACY_ORCHESTRATOR_CONSUMER_GROUP": f"po-cli-{tmp_path.name}",
    }


@pytest.fixture
def offline_env(tmp_path: Path) -> dict[str, str]:
    """No database, no signing key: what an auditor's machine has."""
    return {
        "BYGGRYGG_PRIVACY_ORCHESTRATOR_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none",
        "BYGGRYGG_PRIVACY_ORCHESTRATOR_SIGNING_KEY_FILE": str(tmp_path / "absent" / "key.pem"),
    }


async def serve_and_read_key(env: dict[str, str]) -> dict[str, object]:
    """Serve the migrated database until ready, read the public key over HTTP, stop."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        "uv", "run", "--no-sync", "privacy-orchestrator", "serve", "--port", str(port),
        cwd=REPOSITORY, env={**os.environ, **env},
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + DEADLINE_SECONDS
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            while True:
                try:
                    ready = await client.get("/readyz")
                    if ready.status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the service did not become ready"
                await asyncio.sleep(0.2)
            key = (await client.get("/.well-known/orchestrator-key")).json()
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), timeout=30)
    return dict(key)


async def append_records(dsn: str, key_file: str, count: int, make_content: Callable) -> None:
    pool = await create_pool(dsn)
    try:
        deps = Dependencies(pool=pool, signer=RecordSigner(load_or_create_ed25519_key(key_file)))
        for _ in range(count):
            await append_completion_record(deps, make_content())
    finally:
        await pool.close()


@pytest.mark.slow
async def test_migrate_serve_export_and_verify_offline(
    service_env: dict[str, str],
    offline_env: dict[str, str],
    tmp_path: Path,
    make_content: Callable,
) -> None:
    code, out, err = await run("migrate", env=service_env)
    assert code == 0, err
    key_file = Path(service_env["BYGGRYGG_PRIVACY_ORCHESTRATOR_SIGNING_KEY_FILE"])
    assert not await asyncio.to_thread(key_file.exists)
    published = await serve_and_read_key(service_env)
    # Created on first start, readable by the service's user only.
    mode = (await asyncio.to_thread(key_file.stat)).st_mode
    assert oct(mode & 0o777) == "0o600"

    dsn = service_env["BYGGRYGG_PRIVACY_ORCHESTRATOR_DATABASE_URL"]
    await append_records(dsn, str(key_file), 3, make_content)

    pem, export = tmp_path / "orchestrator.pub.pem", tmp_path / "records.json"
    code, out, err = await run("export-public-key", "--out", str(pem), env=service_env)
    assert code == 0, err
    assert await asyncio.to_thread(pem.read_text) == published["public_key_pem"]
    code, out, err = await run("export-records", "--out", str(export), env=service_env)
    assert code == 0, err

    verify = ("verify-records", "--file", str(export), "--public-key", str(pem))
    code, out, err = await run(*verify, env=offline_env)
    assert (code, out.strip()) == (0, "verified 3 records (1..3)"), err
    code, out, err = await run(*verify, "--sequence", "2", env=offline_env)
    assert (code, out.strip()) == (0, "verified record 2"), err

    # A direct UPDATE in the database (past the append-only trigger): a new export fails.
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SET session_replication_role = replica")
        await conn.execute(
            "UPDATE completion_records SET record = replace(record, '\"count\":1', '\"count\":7')"
            " WHERE sequence = 2"
        )
    finally:
        await conn.close()
    tampered = tmp_path / "tampered.json"
    code, _, err = await run("export-records", "--out", str(tampered), env=service_env)
    assert code == 0, err
    code, out, err = await run(
        "verify-records", "--file", str(tampered), "--public-key", str(pem), env=offline_env
    )
    assert code == 1
    assert err.strip().startswith("FAILED: record 2: hash does not match")
    # The single record 1 still verifies; record 2 on its own does not.
    single = ("verify-records", "--file", str(tampered), "--public-key", str(pem))
    assert (await run(*single, "--sequence", "1", env=offline_env))[0] == 0
    assert (await run(*single, "--sequence", "2", env=offline_env))[0] == 1


@pytest.mark.slow
async def test_a_checkpoint_taken_by_the_cli_anchors_a_later_export(
    service_env: dict[str, str],
    offline_env: dict[str, str],
    tmp_path: Path,
    make_content: Callable,
) -> None:
    """checkpoint-records, then the newest record removed and the head rewound in the
    database: the new export verifies alone, and fails against the checkpoint (exit 1)."""
    code, _, err = await run("migrate", env=service_env)
    assert code == 0, err
    key_file = service_env["BYGGRYGG_PRIVACY_ORCHESTRATOR_SIGNING_KEY_FILE"]
    dsn = service_env["BYGGRYGG_PRIVACY_ORCHESTRATOR_DATABASE_URL"]
    await append_records(dsn, key_file, 2, make_content)
    pem, checkpoint = tmp_path / "orchestrator.pub.pem", tmp_path / "checkpoint.json"
    assert (await run("export-public-key", "--out", str(pem), env=service_env))[0] == 0
    code, out, err = await run("checkpoint-records", "--out", str(checkpoint), env=service_env)
    assert (code, out.strip()) == (0, f"checkpoint of record 2 written to {checkpoint}"), err

    await rewind_chain(dsn, to=1)
    export = tmp_path / "records.json"
    assert (await run("export-records", "--out", str(export), env=service_env))[0] == 0
    verify = ("verify-records", "--file", str(export), "--public-key", str(pem))
    assert (await run(*verify, env=offline_env))[:2] == (0, "verified 1 records (1..1)\n")
    code, _, err = await run(*verify, "--anchor", str(checkpoint), env=offline_env)
    assert code == 1
    assert err.startswith("FAILED: chain: ends at record 1, but the checkpoint of"), err
