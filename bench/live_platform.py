"""The platform's services as real processes on scratch state, for the privacy benchmarks.

``running_platform`` starts what an erasure crosses: identity, courses, consent, the privacy
orchestrator, reporting and the HeiHallo simulator (deploy/subprocessor_sim), plus a mail sink,
with the commands ``make up`` runs (``uv run --no-sync <svc> migrate``, ``identity
create-staff``, ``<svc> serve``; deploy/local/services.sh) and the environment of the test harness
(tests/platform_processes.py), but on state of its own:

- one scratch database per service and one key ring database (``bench_<svc>_<random>``),
  fresh key-ring master key, JWT key, orchestrator signing key and webhook secrets in the
  run's work directory;
- every Kafka topic of deploy/topics.toml under a scratch prefix
  (``BYGGRYGG_KAFKA_TOPIC_PREFIX=bench-<random>.``), created before and deleted after, and a
  consumer group of its own per service: a bench never reads or writes ``make up``'s topics,
  databases or mails, and ``make up``'s services never see the bench's records;
- free loopback ports;
- logs at WARNING (``make up``: INFO), so writing a line per request does not weigh on the
  numbers.

Why not import the test harness: it reports errors with ``pytest.fail`` and changes with the
tests; the bench needs only the commands and the environment, and its own knobs
(``extra_env``). Every process runs in its own process group and is stopped by that group's
id (SIGTERM, then SIGKILL); databases and topics are removed afterwards. Logs stay in the work
directory, which the caller keeps when a run fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import sys
import time
import tomllib
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import httpx
from machine import REPO_ROOT
from scratch import named_scratch_topics

from byggrygg_shared.auth import load_or_create_ed25519_key
from byggrygg_shared.db import create_database, drop_database
from byggrygg_shared.keyring import create_master_key_file
from byggrygg_shared.webhooks import generate_secret

__all__ = ["LivePlatform", "PlatformStartFailed", "running_platform"]

TOPICS_FILE: Final = REPO_ROOT / "deploy" / "topics.toml"
MAIL_SINK_SCRIPT: Final = REPO_ROOT / "deploy" / "local" / "mail_sink.py"
# identity first: the others fetch its JWKS (the order of deploy/services.conf).
# reporting too: the orchestrator addresses every installed participant (its data inventory is
# installed), so without it no request would ever be answered in full.
SERVICES: Final = ("identity", "courses", "consent", "privacy-orchestrator", "reporting")
MIGRATE_TIMEOUT_S: Final = 240.0
CLI_TIMEOUT_S: Final = 120.0
READY_TIMEOUT_S: Final = 120.0
STOP_TIMEOUT_S: Final = 20.0
LOG_TAIL_LINES: Final = 30


class PlatformStartFailed(RuntimeError):
    """A command or a service of the bench's platform failed; the message has its log's tail."""


@dataclass(frozen=True)
class LivePlatform:
    """Where the bench's services answer and what it needs to act as platform staff."""

    urls: Mapping[str, str]
    database_urls: Mapping[str, str]
    simulator_url: str
    staff_email: str
    staff_password: str = field(repr=False)
    topic_prefix: str
    workdir: Path
    env: Mapping[str, str] = field(repr=False)
    # Each service's (and the simulator's) process group, for CPU accounting (``cpu``).
    process_groups: Mapping[str, int] = field(default_factory=dict)


def env_name(service: str) -> str:
    """``privacy-orchestrator`` -> ``PRIVACY_ORCHESTRATOR`` (its settings' variable stem)."""
    return service.upper().replace("-", "_")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def log_tail(log_file: Path) -> str:
    if not log_file.exists():
        return "(no log written)"
    lines = log_file.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(lines[-LOG_TAIL_LINES:])


def platform_topics() -> dict[str, int]:
    """Every topic of deploy/topics.toml (dead letters included) with its partition count."""
    with TOPICS_FILE.open("rb") as file:
        return {str(t["name"]): int(t["partitions"]) for t in tomllib.load(file)["topic"]}


def _write_secret(path: Path, secret: str) -> None:
    path.write_text(secret + "\n", encoding="utf-8")
    path.chmod(0o600)


def _prepare_workdir(workdir: Path, staff_password: str) -> None:
    """The run's secrets: staff password, key-ring master key, JWT key, webhook secrets."""
    workdir.mkdir(parents=True, exist_ok=True)
    _write_secret(workdir / "staff-password", staff_password)
    create_master_key_file(workdir / "keyring-master.key")
    load_or_create_ed25519_key(workdir / "jwt-ed25519.pem")
    _write_secret(workdir / "sim.whsec", generate_secret())
    _write_secret(workdir / "orchestrator.whsec", generate_secret())


async def _spawn(
    command: Sequence[str], env: Mapping[str, str], log_file: Path, banner: str
) -> asyncio.subprocess.Process:
    """``command`` as the leader of a new process group, output appended to ``log_file``."""
    with log_file.open("ab") as log:
        log.write(f"\n=== {banner} ===\n".encode())  # the command's name only: no arguments
        log.flush()
        return await asyncio.create_subprocess_exec(
            *command,
            cwd=REPO_ROOT,
            env=dict(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # so stopping it reaches `uv run`'s python child too
        )


async def _stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM to the process group we started, SIGKILL after STOP_TIMEOUT_S."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout=STOP_TIMEOUT_S)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
    with contextlib.suppress(ProcessLookupError):  # uv's child may outlive uv by a moment
        os.killpg(process.pid, signal.SIGKILL)


async def _run_cli(
    name: str, args: Sequence[str], env: Mapping[str, str], log_file: Path, limit_s: float
) -> None:
    """``uv run --no-sync <name> <args>`` to completion, or `PlatformStartFailed`."""
    what = f"{name} {args[0]}"
    process = await _spawn(["uv", "run", "--no-sync", name, *args], env, log_file, what)
    try:
        returncode = await asyncio.wait_for(process.wait(), timeout=limit_s)
    except TimeoutError:
        raise PlatformStartFailed(
            f"`{what}` did not finish within {limit_s}s:\n{log_tail(log_file)}"
        ) from None
    finally:
        if process.returncode is None:
            await _stop(process)
    if returncode != 0:
        raise PlatformStartFailed(f"`{what}` exited with {returncode}:\n{log_tail(log_file)}")


async def _wait_until_answering(
    what: str, process: asyncio.subprocess.Process, url: str, log_file: Path
) -> None:
    """Poll ``url`` until it answers 200 (a service's /readyz: database, key ring, Kafka)."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    last = "no answer yet"
    async with httpx.AsyncClient(timeout=2.0) as client:
        while True:
            if process.returncode is not None:
                raise PlatformStartFailed(
                    f"{what} exited with {process.returncode} before it was ready:\n"
                    f"{log_tail(log_file)}"
                )
            try:
                response = await client.get(url)
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text}"
            except httpx.TransportError as error:
                last = type(error).__name__
            if time.monotonic() > deadline:
                raise PlatformStartFailed(
                    f"{what} was not ready within {READY_TIMEOUT_S}s (last: {last}):\n"
                    f"{log_tail(log_file)}"
                )
            await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def _serving(
    command: Sequence[str], env: Mapping[str, str], log_file: Path, what: str, ready_url: str
) -> AsyncIterator[int]:
    """Serve ``command`` until the block ends; yields its process group id (its pid)."""
    process = await _spawn(command, env, log_file, what)
    try:
        await _wait_until_answering(what, process, ready_url, log_file)
        yield process.pid
    finally:
        await _stop(process)


@contextlib.asynccontextmanager
async def _database(admin_dsn: str, name: str) -> AsyncIterator[str]:
    url = await create_database(admin_dsn, name)
    try:
        yield url
    finally:
        await drop_database(admin_dsn, name)


@contextlib.asynccontextmanager
async def _mail_sink(workdir: Path, env: Mapping[str, str], port: int) -> AsyncIterator[None]:
    command = [
        sys.executable,
        str(MAIL_SINK_SCRIPT),
        *("--port", str(port), "--maildir", str(workdir / "mail")),
    ]
    log_file = workdir / "mail-sink.log"
    process = await _spawn(command, env, log_file, "mail sink")
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if process.returncode is not None:
                raise PlatformStartFailed(f"the mail sink exited:\n{log_tail(log_file)}")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                if time.monotonic() > deadline:
                    raise PlatformStartFailed("the mail sink did not listen") from None
                await asyncio.sleep(0.1)
                continue
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            break
        yield
    finally:
        await _stop(process)


@contextlib.asynccontextmanager
async def running_platform(
    *,
    admin_dsn: str,
    kafka_bootstrap: str,
    workdir: Path,
    extra_env: Mapping[str, str] | None = None,
) -> AsyncIterator[LivePlatform]:
    """Migrate and serve every service and the simulator on scratch state; yield once all
    answer; stop them all and remove their databases and topics."""
    run_id = uuid.uuid4().hex[:10]
    prefix = f"bench-{run_id}."
    staff_email = f"bench-staff-{run_id}@bench.example.no"
    staff_password = secrets.token_urlsafe(24)
    _prepare_workdir(workdir, staff_password)
    ports = {name: free_port() for name in (*SERVICES, "simulator", "mail")}
    urls = {name: f"http://127.0.0.1:{ports[name]}" for name in SERVICES}
    simulator_url = f"http://127.0.0.1:{ports['simulator']}"

    async with contextlib.AsyncExitStack() as stack:
        topics = {prefix + name: count for name, count in platform_topics().items()}
        await stack.enter_async_context(named_scratch_topics(kafka_bootstrap, topics))
        keyring_url = await stack.enter_async_context(
            _database(admin_dsn, f"bench_keyring_{run_id}")
        )
        database_urls = {
            name: await stack.enter_async_context(
                _database(admin_dsn, f"bench_{env_name(name).lower()}_{run_id}")
            )
            for name in SERVICES
        }
        env: dict[str, str] = {
            **os.environ,
            "UV_PYTHON_DOWNLOADS": "never",
            "BYGGRYGG_LOG_LEVEL": "WARNING",
            "BYGGRYGG_KAFKA_BOOTSTRAP": kafka_bootstrap,
            "BYGGRYGG_KAFKA_TOPIC_PREFIX": prefix,
            "BYGGRYGG_KEYRING_DATABASE_URL": keyring_url,
            "BYGGRYGG_KEYRING_MASTER_KEY_FILE": str(workdir / "keyring-master.key"),
            "BYGGRYGG_JWT_PRIVATE_KEY_FILE": str(workdir / "jwt-ed25519.pem"),
            "BYGGRYGG_JWKS_URL": f"{urls['identity']}/.well-known/jwks.json",
            "BYGGRYGG_SMTP_HOST": "127.0.0.1",
            "BYGGRYGG_SMTP_PORT": str(ports["mail"]),
            "BYGGRYGG_MAIL_DIR": str(workdir / "mail"),
            "BYGGRYGG_CONSENT_PUBLIC_URL": urls["consent"],
            "BYGGRYGG_CONSENT_LINK_KEY_FILE": str(workdir / "consent-links.key"),
            "BYGGRYGG_SUBPROCESSOR_SIM_URL": simulator_url,
            "BYGGRYGG_SUBPROCESSOR_SIM_SECRET_FILE": str(workdir / "sim.whsec"),
            "BYGGRYGG_SUBPROCESSOR_SIM_ORCHESTRATOR_SECRET_FILE": str(
                workdir / "orchestrator.whsec"
            ),
            "BYGGRYGG_PRIVACY_ORCHESTRATOR_SIGNING_KEY_FILE": str(
                workdir / "orchestrator-ed25519.pem"
            ),
            # Callbacks go straight to this orchestrator, not through make up's gateway.
            "BYGGRYGG_PRIVACY_ORCHESTRATOR_PUBLIC_URL": urls["privacy-orchestrator"],
            **{f"BYGGRYGG_{env_name(n)}_DATABASE_URL": u for n, u in database_urls.items()},
            # Groups are cluster-wide: make up's services must never join the bench's.
            **{f"BYGGRYGG_{env_name(n)}_CONSUMER_GROUP": f"{prefix}{n}" for n in SERVICES},
            **(extra_env or {}),
        }
        logs = {name: workdir / f"{name}.log" for name in (*SERVICES, "simulator")}
        await stack.enter_async_context(_mail_sink(workdir, env, ports["mail"]))
        # Side by side; the first failure stops the others (their processes too).
        migrations = [
            asyncio.create_task(_run_cli(name, ["migrate"], env, logs[name], MIGRATE_TIMEOUT_S))
            for name in SERVICES
        ]
        try:
            await asyncio.gather(*migrations)
        except BaseException:
            for task in migrations:
                task.cancel()
            await asyncio.gather(*migrations, return_exceptions=True)
            raise
        await _run_cli(
            "identity",
            [
                "create-staff",
                *("--email", staff_email, "--password-file", str(workdir / "staff-password")),
            ],
            env,
            logs["identity"],
            CLI_TIMEOUT_S,
        )
        simulator = [sys.executable, "-m", "subprocessor_sim", "--port", str(ports["simulator"])]
        groups: dict[str, int] = {}
        groups["simulator"] = await stack.enter_async_context(
            _serving(
                simulator,
                {**env, "PYTHONPATH": str(REPO_ROOT / "deploy")},
                logs["simulator"],
                "subprocessor-sim",
                f"{simulator_url}/healthz",
            )
        )
        for name in SERVICES:
            serve = ["uv", "run", "--no-sync", name, "serve", "--host", "127.0.0.1"]
            groups[name] = await stack.enter_async_context(
                _serving(
                    [*serve, "--port", str(ports[name])],
                    env,
                    logs[name],
                    f"{name} serve",
                    f"{urls[name]}/readyz",
                )
            )
        yield LivePlatform(
            urls=urls,
            database_urls=database_urls,
            simulator_url=simulator_url,
            staff_email=staff_email,
            staff_password=staff_password,
            topic_prefix=prefix,
            workdir=workdir,
            env=env,
            process_groups=groups,
        )
