"""Run the real identity service as a child process, on databases and secrets of its own.

Cross-service tests (tests/e2e, tests/security) talk to identity the way a client does: over
HTTP to `identity serve`, after `identity migrate` and `identity create-staff`, exactly the
commands `make up` runs. Each test session (each pytest-xdist worker) gets:

- its own identity database and its own key ring database (so a shred, a row count or a
  uniqueness rule of one session never meets another session's data);
- its own key-ring master key and JWT signing key in a temporary folder;
- its own free loopback port.

The Kafka topics are the platform's real ones (identity.user.v1, ...): the service's outbox
relay publishes there, and tests read back only records about the subjects they created.
The process is stopped by the id of the process group it was started in, never by name.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from byggrygg_shared.auth import load_or_create_ed25519_key
from byggrygg_shared.db import create_database, drop_database
from byggrygg_shared.keyring import create_master_key_file

ROOT = Path(__file__).resolve().parents[1]
MIGRATE_TIMEOUT_S = 180.0
CLI_TIMEOUT_S = 120.0
READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 20.0
LOG_TAIL_LINES = 40


@dataclass(frozen=True)
class IdentityProcess:
    """What a test needs to know about the running identity service."""

    base_url: str
    pid: int
    database_url: str
    keyring_database_url: str
    master_key_file: Path
    jwt_private_key_file: Path
    staff_email: str
    staff_password: str
    log_file: Path


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def log_tail(log_file: Path) -> str:
    if not log_file.exists():
        return "(no log written)"
    lines = log_file.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(lines[-LOG_TAIL_LINES:])


async def _run_cli(args: list[str], env: dict[str, str], log_file: Path, limit_s: float) -> None:
    """Run `uv run --no-sync identity <args>` to completion; fail the test if it fails."""
    with log_file.open("ab") as log:
        # The command only: its arguments may hold an e-mail address.
        log.write(f"\n=== identity {args[0]} ===\n".encode())
        log.flush()
        process = await asyncio.create_subprocess_exec(
            "uv",
            "run",
            "--no-sync",
            "identity",
            *args,
            cwd=ROOT,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        try:
            returncode = await asyncio.wait_for(process.wait(), timeout=limit_s)
        except TimeoutError:
            os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
            pytest.fail(
                f"`identity {args[0]}` did not finish within {limit_s}s:\n{log_tail(log_file)}",
                pytrace=False,
            )
    if returncode != 0:
        pytest.fail(
            f"`identity {args[0]}` exited with {returncode}:\n{log_tail(log_file)}", pytrace=False
        )


async def _wait_until_ready(
    process: asyncio.subprocess.Process, base_url: str, log_file: Path
) -> None:
    """Poll GET /readyz until it answers 200 (database, key ring and Kafka all reachable)."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    last = "no answer yet"
    async with httpx.AsyncClient(base_url=base_url, timeout=2.0) as client:
        while True:
            if process.returncode is not None:
                pytest.fail(
                    f"identity serve exited with {process.returncode} before it was ready:\n"
                    f"{log_tail(log_file)}",
                    pytrace=False,
                )
            try:
                response = await client.get("/readyz")
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text}"
            except httpx.TransportError as error:
                last = type(error).__name__
            if time.monotonic() > deadline:
                pytest.fail(
                    f"identity was not ready within {READY_TIMEOUT_S}s (last: {last}):\n"
                    f"{log_tail(log_file)}",
                    pytrace=False,
                )
            await asyncio.sleep(0.2)


async def _stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM to the process group we started (uv and its python child), then SIGKILL."""
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), timeout=STOP_TIMEOUT_S)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()


@contextlib.asynccontextmanager
async def running_identity(
    *, admin_dsn: str, kafka_bootstrap: str, workdir: Path
) -> AsyncIterator[IdentityProcess]:
    """Migrate, create a staff account, serve; yield once /readyz is 200; stop and clean up."""
    suffix = f"{_worker()}_{uuid.uuid4().hex[:10]}"
    identity_db = f"e2e_identity_{suffix}"
    keyring_db = f"e2e_keyring_{suffix}"
    master_key_file = workdir / "keyring-master.key"
    jwt_key_file = workdir / "jwt-ed25519.pem"
    password_file = workdir / "staff-password"
    log_file = workdir / "identity.log"
    create_master_key_file(master_key_file)
    load_or_create_ed25519_key(jwt_key_file)
    staff_email = f"staff-{suffix.replace('_', '-')}@e2e.example.no"
    staff_password = secrets.token_urlsafe(24)
    password_file.write_text(staff_password + "\n", encoding="utf-8")
    password_file.chmod(0o600)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"

    database_url = await create_database(admin_dsn, identity_db)
    try:
        keyring_database_url = await create_database(admin_dsn, keyring_db)
        env = {
            **os.environ,
            "UV_PYTHON_DOWNLOADS": "never",
            "BYGGRYGG_IDENTITY_DATABASE_URL": database_url,
            "BYGGRYGG_KEYRING_DATABASE_URL": keyring_database_url,
            "BYGGRYGG_KAFKA_BOOTSTRAP": kafka_bootstrap,
            "BYGGRYGG_KEYRING_MASTER_KEY_FILE": str(master_key_file),
            "BYGGRYGG_JWT_PRIVATE_KEY_FILE": str(jwt_key_file),
            "BYGGRYGG_JWKS_URL": f"{base_url}/.well-known/jwks.json",
            "BYGGRYGG_LOG_LEVEL": "INFO",
        }
        await _run_cli(["migrate"], env, log_file, MIGRATE_TIMEOUT_S)
        await _run_cli(
            ["create-staff", "--email", staff_email, "--password-file", str(password_file)],
            env,
            log_file,
            CLI_TIMEOUT_S,
        )
        with log_file.open("ab") as log:
            log.write(b"\n=== identity serve ===\n")
            log.flush()
            process = await asyncio.create_subprocess_exec(
                "uv",
                "run",
                "--no-sync",
                "identity",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                cwd=ROOT,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                # Its own process group, so stopping it reaches uv's python child too.
                start_new_session=True,
            )
        try:
            await _wait_until_ready(process, base_url, log_file)
            yield IdentityProcess(
                base_url=base_url,
                pid=process.pid,
                database_url=database_url,
                keyring_database_url=keyring_database_url,
                master_key_file=master_key_file,
                jwt_private_key_file=jwt_key_file,
                staff_email=staff_email,
                staff_password=staff_password,
                log_file=log_file,
            )
        finally:
            await _stop(process)
    finally:
        await drop_database(admin_dsn, keyring_db)
        await drop_database(admin_dsn, identity_db)
