"""Run any set of the platform's services as real child processes, on state of their own.

Cross-service tests talk to the services the way clients do: over HTTP to `<svc> serve`, after
`<svc> migrate`, exactly the commands `make up` runs (deploy/local/services.sh). One call of
`running_platform(["courses", "consent"], ...)` gives a test session (one pytest-xdist worker):

- identity, always, first: it issues the tokens every other service verifies through its
  JWKS URL, and `identity create-staff` makes the session's platform-staff account;
- one database per service (`e2e_<svc>_<worker>_<random>`), one key ring database shared by
  the services of this session, one key-ring master key and one JWT signing key in a
  temporary folder, so a shred, a row count or a uniqueness rule never meets another
  session's data;
- its own mail sink (deploy/local/mail_sink.py, a real SMTP server) writing to a Maildir in
  the temporary folder, and consent's public links pointing at this session's consent;
- Kafka topics of its own: a copy of every topic of deploy/topics.toml (same partitions and
  configs) named `<prefix><name>`, the prefix being `e2e-<worker>-<random>.`, given to every
  process as BYGGRYGG_KAFKA_TOPIC_PREFIX (the platform setting `kafka_topic_prefix`: relays
  publish to, subscribers read and dead-letter to the prefixed topics). So no session ever
  reads another's events (nor `make up`'s): a privacy command reaches only this session's
  participants, a LicenceRevoked only this session's orchestrator. `Platform.topic(name)` is
  this session's name of a platform topic. The topics are deleted at the end;
- with the privacy orchestrator: reporting too (the orchestrator addresses every installed
  participant), and the HeiHallo simulator (deploy/subprocessor_sim) with secrets of the
  session, the orchestrator's signing key in the session's folder, its public URL its own
  (there is no gateway here) and short delivery timings;
- free loopback ports.

Consumer groups: each consuming service still gets a group of its own
(`BYGGRYGG_<SVC>_CONSUMER_GROUP` = `<svc>.e2e-<worker>_<random>`). The topics are fresh, so the
group needs no starting offsets (it reads from the beginning, which is this session's first
event); but a group is a cluster-wide name, not a topic's: sessions sharing `courses` would join
one group with `make up`'s courses, and every session's start or crash test would rebalance all
of them. A group per session costs nothing and keeps rebalances to the session (the groups'
offsets go with the deleted topics; the empty groups are left to Kafka's expiry).

Every process runs in its own process group and is stopped by that group's id (SIGTERM, then
SIGKILL), never by name; databases and topics are dropped afterwards.
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
from typing import TYPE_CHECKING

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import UnknownTopicOrPartitionError

from byggrygg_shared.auth import load_or_create_ed25519_key
from byggrygg_shared.db import create_database, drop_database
from byggrygg_shared.keyring import create_master_key_file

if TYPE_CHECKING:
    from .subprocessor_sim_process import SimProcess

ROOT = Path(__file__).resolve().parents[1]
MAIL_SINK_SCRIPT = ROOT / "deploy" / "local" / "mail_sink.py"
TOPICS_FILE = ROOT / "deploy" / "topics.toml"
# identity first: the others fetch its JWKS. The order of deploy/services.conf.
KNOWN_SERVICES = ("identity", "courses", "consent", "privacy-orchestrator", "reporting")
ORCHESTRATOR = "privacy-orchestrator"
MIGRATE_TIMEOUT_S = 240.0
CLI_TIMEOUT_S = 120.0
READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 20.0
TOPIC_READY_TIMEOUT_S = 60.0
LOG_TAIL_LINES = 40
# The orchestrator's sub-processor deliveries in a session: looked for and retried quickly.
ORCHESTRATOR_TIMINGS = {
    "BYGGRYGG_PRIVACY_ORCHESTRATOR_SUBPROCESSOR_POLL_SECONDS": "0.2",
    "BYGGRYGG_PRIVACY_ORCHESTRATOR_SUBPROCESSOR_BACKOFF_SECONDS": "0.2",
    "BYGGRYGG_PRIVACY_ORCHESTRATOR_SUBPROCESSOR_MAX_BACKOFF_SECONDS": "2",
    # A confirmation lost while the orchestrator was down (tests/faults) is asked for again
    # within a test's patience; a duplicate answer is harmless (replay-safe callbacks).
    "BYGGRYGG_PRIVACY_ORCHESTRATOR_SUBPROCESSOR_RESEND_SECONDS": "10",
}


@dataclass(frozen=True)
class MailSink:
    """An SMTP server that keeps every message as a file in the Maildir `maildir`."""

    host: str
    port: int
    maildir: Path


@dataclass(frozen=True)
class ServiceProcess:
    """One running service: where it answers and where its state and log are."""

    name: str
    base_url: str
    pid: int
    database_url: str
    log_file: Path


@dataclass(frozen=True)
class Platform:
    """What a test needs to know about the running services of its session."""

    services: Mapping[str, ServiceProcess]
    keyring_database_url: str
    master_key_file: Path
    jwt_private_key_file: Path
    staff_email: str
    staff_password: str
    mail_sink: MailSink
    topic_prefix: str
    env: Mapping[str, str] = field(repr=False)
    # With the privacy orchestrator only: HeiHallo's simulator (URL, secrets, admin API to
    # change its mode) and the orchestrator's Ed25519 signing key (PEM, private: tests derive
    # the public key that verifies completion records).
    subprocessor_sim: SimProcess | None = None
    orchestrator_signing_key_file: Path | None = None

    def __getitem__(self, name: str) -> ServiceProcess:
        return self.services[name]

    def url(self, name: str) -> str:
        return self.services[name].base_url

    def topic(self, name: str) -> str:
        """This session's name of the platform topic `name` (e.g. identity.user.v1)."""
        return self.topic_prefix + name

    def topics(self) -> list[str]:
        """This session's copy of every topic of deploy/topics.toml."""
        return [self.topic(spec.name) for spec in platform_topic_specs()]

    @property
    def simulator(self) -> SimProcess:
        """The HeiHallo simulator of this session (fails unless the orchestrator runs)."""
        if self.subprocessor_sim is None:
            raise LookupError("this platform runs no privacy orchestrator, so no simulator")
        return self.subprocessor_sim


def worker() -> str:
    """The xdist worker id ("gw0", ...) or "main"."""
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


def _order(names: Sequence[str]) -> list[str]:
    unknown = sorted(set(names) - set(KNOWN_SERVICES))
    if unknown:
        raise ValueError(f"unknown service(s) {unknown}; known: {KNOWN_SERVICES}")
    wanted = {"identity", *names}
    # Reporting: the orchestrator addresses every installed participant (its data
    # inventory is installed), so a platform with the orchestrator runs reporting too, or no
    # request would ever be answered in full.
    if ORCHESTRATOR in wanted:
        wanted.add("reporting")
    return [name for name in KNOWN_SERVICES if name in wanted]


async def _spawn(
    command: Sequence[str], env: Mapping[str, str], log_file: Path, banner: str
) -> asyncio.subprocess.Process:
    """Start `command` as the leader of a new process group, output appended to `log_file`."""
    with log_file.open("ab") as log:
        # The command's name only: its arguments may hold an e-mail address.
        log.write(f"\n=== {banner} ===\n".encode())
        log.flush()
        return await asyncio.create_subprocess_exec(
            *command,
            cwd=ROOT,
            env=dict(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            # Its own process group, so stopping it reaches `uv run`'s python child too.
            start_new_session=True,
        )


async def stop_process_group(process: asyncio.subprocess.Process) -> None:
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
    # uv's child may outlive uv by a moment: make sure nothing of the group is left.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


async def run_service_cli(
    name: str, args: Sequence[str], env: Mapping[str, str], log_file: Path, limit_s: float
) -> None:
    """`uv run --no-sync <name> <args>` to completion; fails the test if it fails."""
    what = f"{name} {args[0]}"
    process = await _spawn(["uv", "run", "--no-sync", name, *args], env, log_file, what)
    try:
        returncode = await asyncio.wait_for(process.wait(), timeout=limit_s)
    except TimeoutError:
        pytest.fail(
            f"`{what}` did not finish within {limit_s}s:\n{log_tail(log_file)}", pytrace=False
        )
    finally:
        # Timed out, or cancelled because a sibling command failed: leave nothing running.
        if process.returncode is None:
            await stop_process_group(process)
    if returncode != 0:
        pytest.fail(f"`{what}` exited with {returncode}:\n{log_tail(log_file)}", pytrace=False)


async def _wait_until_ready(
    name: str, process: asyncio.subprocess.Process, base_url: str, log_file: Path
) -> None:
    """Poll GET /readyz until it answers 200 (database, key ring, Kafka all reachable)."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    last = "no answer yet"
    async with httpx.AsyncClient(base_url=base_url, timeout=2.0) as client:
        while True:
            if process.returncode is not None:
                pytest.fail(
                    f"{name} serve exited with {process.returncode} before it was ready:\n"
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
                    f"{name} was not ready within {READY_TIMEOUT_S}s (last: {last}):\n"
                    f"{log_tail(log_file)}",
                    pytrace=False,
                )
            await asyncio.sleep(0.2)


async def _wait_until_listening(
    process: asyncio.subprocess.Process, port: int, log_file: Path
) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        if process.returncode is not None:
            pytest.fail(f"the mail sink exited:\n{log_tail(log_file)}", pytrace=False)
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if time.monotonic() > deadline:
                pytest.fail(f"the mail sink did not listen:\n{log_tail(log_file)}", pytrace=False)
            await asyncio.sleep(0.1)
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return


@contextlib.asynccontextmanager
async def running_mail_sink(workdir: Path, *, port: int | None = None) -> AsyncIterator[MailSink]:
    """deploy/local/mail_sink.py on `port` (default: a free one), Maildir `workdir/mail`."""
    port = port or free_port()
    maildir = workdir / "mail"
    log_file = workdir / "mail-sink.log"
    process = await _spawn(
        [sys.executable, str(MAIL_SINK_SCRIPT), "--port", str(port), "--maildir", str(maildir)],
        os.environ,
        log_file,
        "mail sink",
    )
    try:
        await _wait_until_listening(process, port, log_file)
        yield MailSink(host="127.0.0.1", port=port, maildir=maildir)
    finally:
        await stop_process_group(process)


@contextlib.asynccontextmanager
async def _serving(
    name: str, port: int, env: Mapping[str, str], log_file: Path
) -> AsyncIterator[int]:
    """`<name> serve` on `port` until the block ends; yields its pid once /readyz is 200."""
    process = await _spawn(
        ["uv", "run", "--no-sync", name, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env,
        log_file,
        f"{name} serve",
    )
    try:
        await _wait_until_ready(name, process, f"http://127.0.0.1:{port}", log_file)
        yield process.pid
    finally:
        await stop_process_group(process)


@dataclass(frozen=True)
class TopicSpec:
    """One topic of deploy/topics.toml."""

    name: str
    partitions: int
    config: Mapping[str, str]


def platform_topic_specs() -> list[TopicSpec]:
    """Every topic of deploy/topics.toml (dead-letter topics included); configs as strings,
    the way Kafka takes them."""
    with TOPICS_FILE.open("rb") as file:
        declared = tomllib.load(file)["topic"]
    return [
        TopicSpec(
            name=str(topic["name"]),
            partitions=int(topic["partitions"]),
            config={key: str(value) for key, value in topic.get("config", {}).items()},
        )
        for topic in declared
    ]


def platform_topics() -> list[str]:
    """The names of every topic of deploy/topics.toml, unprefixed (`make up`'s)."""
    return [spec.name for spec in platform_topic_specs()]


def _raise_for_topic_errors(errors: Sequence[tuple[object, ...]], *tolerated: int) -> None:
    for error in errors:
        name, code = error[0], int(str(error[1]))
        if code not in (0, *tolerated):
            pytest.fail(f"Kafka refused topic {name}: error code {code}", pytrace=False)


async def _wait_for_leaders(admin: AIOKafkaAdminClient, specs: Sequence[TopicSpec]) -> None:
    """Creation returns before every partition has a leader: wait until producers can use them."""
    wanted = {spec.name: spec.partitions for spec in specs}
    deadline = time.monotonic() + TOPIC_READY_TIMEOUT_S
    while True:
        described = await admin.describe_topics(list(wanted))
        ready = {
            topic["topic"]
            for topic in described
            if topic["error_code"] == 0
            and len(topic["partitions"]) == wanted.get(topic["topic"], -1)
            and all(partition["leader"] >= 0 for partition in topic["partitions"])
        }
        if ready >= set(wanted):
            return
        if time.monotonic() > deadline:
            missing = sorted(set(wanted) - ready)
            pytest.fail(f"topics without a leader after creation: {missing}", pytrace=False)
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def session_topics(bootstrap: str, prefix: str) -> AsyncIterator[list[str]]:
    """`<prefix><name>` for every topic of deploy/topics.toml (same partitions and configs,
    replication 1 as on the local broker) for the block; deleted afterwards."""
    specs = [
        TopicSpec(prefix + spec.name, spec.partitions, spec.config)
        for spec in platform_topic_specs()
    ]
    names = [spec.name for spec in specs]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        try:
            response = await admin.create_topics(
                [
                    NewTopic(spec.name, spec.partitions, 1, topic_configs=dict(spec.config))
                    for spec in specs
                ]
            )
            _raise_for_topic_errors(response.topic_errors)
            await _wait_for_leaders(admin, specs)
            yield names
        finally:
            # Also after a failed creation: whatever of ours exists goes.
            deleted = await admin.delete_topics(names)
            _raise_for_topic_errors(deleted.topic_error_codes, UnknownTopicOrPartitionError.errno)
    finally:
        await admin.close()


@contextlib.asynccontextmanager
async def _database(admin_dsn: str, name: str) -> AsyncIterator[str]:
    url = await create_database(admin_dsn, name)
    try:
        yield url
    finally:
        await drop_database(admin_dsn, name)


@contextlib.asynccontextmanager
async def running_platform(
    names: Sequence[str],
    *,
    admin_dsn: str,
    kafka_bootstrap: str,
    workdir: Path,
    extra_env: Mapping[str, str] | None = None,
) -> AsyncIterator[Platform]:
    """Migrate and serve identity plus `names` (with the privacy orchestrator: the HeiHallo
    simulator too) on topics of their own; yield once every /readyz is 200; stop all, drop
    their databases and topics."""
    # Imported here: that module uses this one's process helpers.
    from .subprocessor_sim_process import running_subprocessor_sim

    order = _order(names)
    suffix = f"{worker()}_{uuid.uuid4().hex[:10]}"
    topic_prefix = f"e2e-{suffix.replace('_', '-')}."
    master_key_file = workdir / "keyring-master.key"
    jwt_key_file = workdir / "jwt-ed25519.pem"
    password_file = workdir / "staff-password"
    create_master_key_file(master_key_file)
    load_or_create_ed25519_key(jwt_key_file)
    staff_email = f"staff-{suffix.replace('_', '-')}@e2e.example.no"
    staff_password = secrets.token_urlsafe(24)
    password_file.write_text(staff_password + "\n", encoding="utf-8")
    password_file.chmod(0o600)
    ports = {name: free_port() for name in order}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}

    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(session_topics(kafka_bootstrap, topic_prefix))
        mail_sink = await stack.enter_async_context(running_mail_sink(workdir))
        keyring_url = await stack.enter_async_context(_database(admin_dsn, f"e2e_keyring_{suffix}"))
        database_urls = {
            name: await stack.enter_async_context(_database(admin_dsn, f"e2e_{name}_{suffix}"))
            for name in order
        }
        env: dict[str, str] = {
            **os.environ,
            "UV_PYTHON_DOWNLOADS": "never",
            "BYGGRYGG_KEYRING_DATABASE_URL": keyring_url,
            "BYGGRYGG_KAFKA_BOOTSTRAP": kafka_bootstrap,
            "BYGGRYGG_KAFKA_TOPIC_PREFIX": topic_prefix,
            "BYGGRYGG_KEYRING_MASTER_KEY_FILE": str(master_key_file),
            "BYGGRYGG_JWT_PRIVATE_KEY_FILE": str(jwt_key_file),
            "BYGGRYGG_JWKS_URL": f"{urls['identity']}/.well-known/jwks.json",
            "BYGGRYGG_SMTP_HOST": mail_sink.host,
            "BYGGRYGG_SMTP_PORT": str(mail_sink.port),
            "BYGGRYGG_LOG_LEVEL": "INFO",
            **{
                f"BYGGRYGG_{name.upper().replace('-', '_')}_DATABASE_URL": url
                for name, url in database_urls.items()
            },
            **(extra_env or {}),
        }
        if "consent" in urls:
            # Links in this session's mails lead to this session's consent; its link-signing
            # secret is the session's own (made on first start).
            env["BYGGRYGG_CONSENT_PUBLIC_URL"] = urls["consent"]
            env["BYGGRYGG_CONSENT_LINK_KEY_FILE"] = str(workdir / "consent-links.key")
        if "reporting" in urls:
            # No gateway here: reporting's dashboard, opened on reporting's port, signs in at
            # this session's identity, which lets that one origin post to /auth/token (CORS).
            # Behind a gateway (tests/gateway_process.py) the page uses the gateway's route.
            env.update(
                {
                    "BYGGRYGG_REPORTING_DASHBOARD_IDENTITY_URL": urls["identity"],
                    "BYGGRYGG_IDENTITY_CORS_ORIGINS": urls["reporting"],
                    **(extra_env or {}),
                }
            )
        simulator: SimProcess | None = None
        signing_key_file: Path | None = None
        if ORCHESTRATOR in urls:
            simulator = await stack.enter_async_context(
                running_subprocessor_sim(workdir / "subprocessor-sim")
            )
            signing_key_file = workdir / "orchestrator-ed25519.pem"
            env.update(
                {
                    "BYGGRYGG_SUBPROCESSOR_SIM_URL": simulator.base_url,
                    "BYGGRYGG_SUBPROCESSOR_SIM_SECRET_FILE": str(simulator.secret_file),
                    "BYGGRYGG_SUBPROCESSOR_SIM_ORCHESTRATOR_SECRET_FILE": str(
                        simulator.orchestrator_secret_file
                    ),
                    "BYGGRYGG_PRIVACY_ORCHESTRATOR_SIGNING_KEY_FILE": str(signing_key_file),
                    # No gateway here: HeiHallo calls this session's orchestrator directly.
                    "BYGGRYGG_PRIVACY_ORCHESTRATOR_PUBLIC_URL": urls[ORCHESTRATOR],
                    **ORCHESTRATOR_TIMINGS,
                    **(extra_env or {}),
                }
            )
        # Every service consumes something (identity: its privacy commands); a group of the
        # session's own keeps its rebalances to the session (module docstring).
        for name in order:
            env[f"BYGGRYGG_{name.upper().replace('-', '_')}_CONSUMER_GROUP"] = (
                f"{name}.e2e-{suffix}"
            )
        log_files = {name: workdir / f"{name}.log" for name in order}

        # Migrations are independent of each other: run them side by side; the first failure
        # cancels the others (their processes are stopped) and fails the session.
        migrations = [
            asyncio.create_task(
                run_service_cli(name, ["migrate"], env, log_files[name], MIGRATE_TIMEOUT_S)
            )
            for name in order
        ]
        try:
            await asyncio.gather(*migrations)
        except BaseException:
            for task in migrations:
                task.cancel()
            await asyncio.gather(*migrations, return_exceptions=True)
            raise
        await run_service_cli(
            "identity",
            ["create-staff", "--email", staff_email, "--password-file", str(password_file)],
            env,
            log_files["identity"],
            CLI_TIMEOUT_S,
        )
        services: dict[str, ServiceProcess] = {}
        for name in order:
            pid = await stack.enter_async_context(_serving(name, ports[name], env, log_files[name]))
            services[name] = ServiceProcess(
                name=name,
                base_url=urls[name],
                pid=pid,
                database_url=database_urls[name],
                log_file=log_files[name],
            )
        yield Platform(
            services=services,
            keyring_database_url=keyring_url,
            master_key_file=master_key_file,
            jwt_private_key_file=jwt_key_file,
            staff_email=staff_email,
            staff_password=staff_password,
            mail_sink=mail_sink,
            topic_prefix=topic_prefix,
            env=env,
            subprocessor_sim=simulator,
            orchestrator_signing_key_file=signing_key_file,
        )


# --- Fault injection (tests/faults) ------------------------------------------------------------
# A crash is SIGKILL to the service's process group: no shutdown hook runs, nothing is flushed,
# no offset is committed, open transactions die with their connections. The service then starts
# again exactly as `running_platform` started it (same port, databases, key ring, consumer
# group, env, log file), as a process supervisor would restart it.


def _live_members(pgid: int) -> list[int]:
    """Pids of the processes of group `pgid` that still run (zombies hold no socket: dead)."""
    members: list[int] = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # exited while we looked
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold spaces, so split after its ")".
        state, _ppid, pgrp = text.rsplit(")", 1)[1].split()[:3]
        if int(pgrp) == pgid and state not in ("Z", "X"):
            members.append(int(stat.parent.name))
    return members


async def kill_service(service: ServiceProcess) -> None:
    """SIGKILL every process of `service`'s process group (its pid leads it) and wait until
    none runs, so its port, database sessions and advisory locks are free."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(service.pid, signal.SIGKILL)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while _live_members(service.pid):
        if time.monotonic() > deadline:
            pytest.fail(f"{service.name} survived SIGKILL for {STOP_TIMEOUT_S}s", pytrace=False)
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def restarted_service(platform: Platform, name: str) -> AsyncIterator[ServiceProcess]:
    """`<name> serve` again on the platform's state (after `kill_service`); yields the new
    process once /readyz is 200 and stops it when the block ends. Migrations do not run again:
    the database is the one the killed process left."""
    before = platform[name]
    port = int(before.base_url.rsplit(":", 1)[1])
    async with _serving(name, port, platform.env, before.log_file) as pid:
        yield ServiceProcess(
            name=name,
            base_url=before.base_url,
            pid=pid,
            database_url=before.database_url,
            log_file=before.log_file,
        )
