"""Fixtures every test in the repository shares: real PostgreSQL and real Kafka.

Where the components come from, in this order:
1. ``BYGGRYGG_PG_DSN`` / ``BYGGRYGG_KAFKA_BOOTSTRAP`` from the environment (``make test``
   exports ``.run/env``);
2. otherwise, when a Docker engine answers, testcontainers started once per test session
   (once per pytest-xdist worker: each worker is its own session);
3. otherwise the local components of ``make up`` at their default addresses.
An unreachable component fails the test at once with "run make up", never a hang or a skip.

Isolation (so tests run in parallel and in any order): ``fresh_database`` gives each test its
own empty database, ``new_topic`` its own topics; both carry the xdist worker id and a random
part in their names and are removed afterwards.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Iterator
from typing import Any, Protocol
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import UnknownTopicOrPartitionError, for_code

from byggrygg_shared.db import scratch_database

LOCAL_PG_DSN = "postgresql://byggrygg@127.0.0.1:54329/postgres"
LOCAL_KAFKA_BOOTSTRAP = "127.0.0.1:9092"
# Containers, used only when a Docker engine is present and no address is configured.
PG_IMAGE = "postgres:15"
KAFKA_IMAGE = "confluentinc/cp-kafka:7.9.0"
TOPIC_READY_TIMEOUT_S = 30.0
TOPIC_NAME = re.compile(r"^[A-Za-z0-9._-]{1,200}$")


def _worker() -> str:
    """The xdist worker id ("gw0", ...) or "main": part of every name a fixture creates."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _unique_suffix() -> str:
    return f"{_worker()}_{uuid.uuid4().hex[:12]}"


def _docker_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # no daemon, no socket, no permission: no Docker for us
        return False


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=3):
            return True
    except OSError:
        return False


def _require_reachable(what: str, host: str, port: int, variable: str) -> None:
    if not _reachable(host, port):
        pytest.fail(
            f"{what} is not reachable at {host}:{port}. Run `make up` (or `make test`, which "
            f"starts it), or point {variable} at a running one.",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def _docker_available() -> bool:
    configured = "BYGGRYGG_PG_DSN" in os.environ and "BYGGRYGG_KAFKA_BOOTSTRAP" in os.environ
    return not configured and _docker_answers()


@pytest.fixture(scope="session")
def pg_admin_dsn(_docker_available: bool) -> Iterator[str]:
    """DSN of the PostgreSQL superuser on database ``postgres``."""
    configured = os.environ.get("BYGGRYGG_PG_DSN")
    if configured is None and _docker_available:
        from testcontainers.community.postgres import PostgresContainer

        with PostgresContainer(
            PG_IMAGE, username="byggrygg", password="byggrygg", dbname="postgres", driver=None
        ) as container:
            yield container.get_connection_url()
        return
    dsn = configured or LOCAL_PG_DSN
    parts = urlsplit(dsn)
    _require_reachable(
        "PostgreSQL", parts.hostname or "127.0.0.1", parts.port or 5432, "BYGGRYGG_PG_DSN"
    )
    yield dsn


@pytest_asyncio.fixture(loop_scope="session")
async def fresh_database(pg_admin_dsn: str) -> AsyncIterator[str]:
    """An empty database of its own for this test; yields its DSN, drops it afterwards."""
    async with scratch_database(pg_admin_dsn, f"test_{_unique_suffix()}") as dsn:
        yield dsn


@pytest.fixture(scope="session")
def kafka_bootstrap(_docker_available: bool) -> Iterator[str]:
    """Bootstrap servers of the Kafka broker, e.g. "127.0.0.1:9092"."""
    configured = os.environ.get("BYGGRYGG_KAFKA_BOOTSTRAP")
    if configured is None and _docker_available:
        from testcontainers.community.kafka import KafkaContainer

        container = KafkaContainer(KAFKA_IMAGE).with_kraft()
        container.with_env("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false")
        container.start(timeout=180)
        try:
            yield container.get_bootstrap_server()
        finally:
            container.stop()
        return
    bootstrap = configured or LOCAL_KAFKA_BOOTSTRAP
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    _require_reachable("Kafka", host or "127.0.0.1", int(port), "BYGGRYGG_KAFKA_BOOTSTRAP")
    yield bootstrap


class NewTopicFactory(Protocol):
    """``await new_topic(prefix, partitions=1)`` -> the name of a new, empty topic."""

    def __call__(
        self,
        prefix: str,
        partitions: int = 1,
        *,
        config: dict[str, str] | None = None,
        exact: bool = False,
    ) -> Awaitable[str]: ...


def _raise_for_topic_errors(topic_errors: list[Any], tolerated: tuple[int, ...] = ()) -> None:
    """Raises the error of the first topic whose code is neither 0 (no error) nor tolerated."""
    for topic_error in topic_errors:
        name, code = topic_error[0], topic_error[1]
        if code != 0 and code not in tolerated:
            raise for_code(code)(f"topic {name}")


async def _wait_for_leaders(admin: AIOKafkaAdminClient, name: str, partitions: int) -> None:
    """Creation returns before every partition has a leader: wait until producers can use it."""
    deadline = time.monotonic() + TOPIC_READY_TIMEOUT_S
    while True:
        described = await admin.describe_topics([name])
        found = [t for t in described if t["topic"] == name and t["error_code"] == 0]
        ready = (
            found
            and len(found[0]["partitions"]) == partitions
            and all(p["leader"] >= 0 for p in found[0]["partitions"])
        )
        if ready:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"topic {name} has no leader after {TOPIC_READY_TIMEOUT_S}s")
        await asyncio.sleep(0.1)


@pytest_asyncio.fixture(loop_scope="session")
async def new_topic(kafka_bootstrap: str) -> AsyncIterator[NewTopicFactory]:
    """Factory of uniquely named topics, deleted after the test.

    ``name = await new_topic("orders", partitions=3)`` gives e.g. ``orders.gw0_3f2a...``.
    Asking for ``f"{name}.dlq"`` of a topic this factory made creates exactly that name (the
    dead-letter convention ``<topic>.dlq``); ``exact=True`` takes any name as given.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    created: list[str] = []

    async def factory(
        prefix: str,
        partitions: int = 1,
        *,
        config: dict[str, str] | None = None,
        exact: bool = False,
    ) -> str:
        is_dlq_of_ours = prefix.endswith(".dlq") and prefix.removesuffix(".dlq") in created
        name = prefix if exact or is_dlq_of_ours else f"{prefix}.{_unique_suffix()}"
        if not TOPIC_NAME.fullmatch(name):
            raise ValueError(f"invalid Kafka topic name {name!r}")
        response = await admin.create_topics(
            [NewTopic(name, partitions, 1, topic_configs=config or {})]
        )
        # An exact name may be left over from an earlier, interrupted run: reuse is an error.
        _raise_for_topic_errors(response.topic_errors)
        created.append(name)
        await _wait_for_leaders(admin, name, partitions)
        return name

    try:
        yield factory
    finally:
        try:
            if created:
                response = await admin.delete_topics(created)
                _raise_for_topic_errors(
                    response.topic_error_codes, tolerated=(UnknownTopicOrPartitionError.errno,)
                )
        finally:
            await admin.close()
