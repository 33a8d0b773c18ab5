"""Runs a service's Kafka subscribers beside its HTTP API and outbox relay (DESIGN §1, §2).

A service describes its subscribers once, as a function that registers them
(``register(router)``, typically ``entrypoints/consumers.py``) on a FastStream ``KafkaRouter``
or ``KafkaBroker`` (their common base, ``KafkaRegistrator``). ``Subscriptions`` owns the rest
of the life cycle, the same way ``outbox.relay_until_stopped`` owns the relay's:

- **Topic prefix.** ``register`` gets a ``KafkaRouter(prefix=topic_prefix)`` included in the
  broker, so every subscriber reads ``<topic_prefix><topic>`` (the deployment's
  ``kafka_topic_prefix``, "" by default) and its dead letters go to ``<topic_prefix><topic>.dlq``
  (``messaging``: the dead-letter topic is named after the topic the record came from).

- **Broker.** Built with ``messaging.make_broker``: commit after the handler returned
  (``NACK_ON_ERROR``), retries with back-off, then ``<topic>.dlq``. Handlers must still be
  idempotent (``inbox.claim`` in the effect's transaction).
- **Start while Kafka is away.** ``run`` tries to start the broker and, while Kafka is
  unreachable, tries again every ``retry_interval`` seconds, so a service may start before
  Kafka. Every attempt gets a *fresh* broker from ``register``: a FastStream broker whose
  start failed half-way (producer up, admin client or a consumer not) cannot be restarted
  safely, a new one can.
- **Stop.** When ``stop`` is set, the broker stops its consumers (each finishes the message
  in hand; its offset is committed only if the handler returned) and disconnects.
- **Readiness.** ``check`` raises ``ConnectionError`` until the broker has started, and
  afterwards whenever the cluster does not answer (``broker.ping``); wire it into ``/readyz``.

Usage in a service lifespan::

    subscriptions = Subscriptions(
        bootstrap=settings.kafka_bootstrap, client_id="courses", register=register_consumers
    )
    task = asyncio.create_task(subscriptions.run(stop))
    app.state.readiness["consumers"] = subscriptions.check
    ...
    stop.set(); await task
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from faststream.kafka import KafkaBroker, KafkaRouter
from faststream.kafka.broker.registrator import KafkaRegistrator

from byggrygg_shared.messaging import ACK_POLICY, make_broker

__all__ = ["RegisterSubscribers", "Subscriptions"]

logger = logging.getLogger(__name__)

RegisterSubscribers = Callable[[KafkaRegistrator], None]
"""Adds a service's subscribers (``@router.subscriber(...)``) to a new router (or broker)."""


class Subscriptions:
    """The running set of one service's Kafka subscribers.

    ``broker_options`` go to ``messaging.make_broker`` (e.g. ``max_attempts``, ``backoff``).
    ``topic_prefix`` goes before every subscriber's topic (and so its dead-letter topic's).
    ``started`` is set while the broker runs (for tests and readiness).
    """

    def __init__(
        self,
        *,
        bootstrap: str,
        client_id: str,
        register: RegisterSubscribers,
        topic_prefix: str = "",
        retry_interval: float = 2.0,
        ping_timeout: float = 1.5,
        stop_timeout: float = 10.0,
        **broker_options: Any,
    ) -> None:
        self._bootstrap = bootstrap
        self._client_id = client_id
        self._register = register
        self._topic_prefix = topic_prefix
        self._retry_interval = retry_interval
        self._ping_timeout = ping_timeout
        self._stop_timeout = stop_timeout
        # FastStream's default logger prints its own coloured lines; a standard logger makes
        # its records go through the service's logging setup (JSON, no personal data).
        broker_options.setdefault("logger", logging.getLogger(f"{client_id}.kafka_consumers"))
        self._broker_options = broker_options
        self.broker: KafkaBroker | None = None
        self.started = asyncio.Event()

    def _new_broker(self) -> KafkaBroker:
        broker = make_broker(self._bootstrap, client_id=self._client_id, **self._broker_options)
        # The router's prefix goes before every topic its subscribers read; the broker's
        # middlewares (retries, dead letters) apply to them as to its own. Its ack policy does
        # NOT: FastStream 0.7 gives a router's subscribers the router's own policy, ACK_FIRST
        # (auto-commit) unless set, which loses the message in hand on a crash. Hence the
        # explicit policy (tests: test_subscriptions, the kill -9 tests in tests/faults).
        router = KafkaRouter(prefix=self._topic_prefix, ack_policy=ACK_POLICY)
        self._register(router)
        broker.include_router(router)
        return broker

    async def _start_once(self) -> KafkaBroker | None:
        """One attempt to start a fresh broker; None (cleaned up) if Kafka was not there."""
        broker = self._new_broker()
        try:
            await broker.start()
        except Exception as error:  # the broker may still be starting: the caller retries
            logger.warning(
                "%s: kafka consumers not started yet: %s", self._client_id, type(error).__name__
            )
            with contextlib.suppress(Exception):
                await broker.stop()
            return None
        return broker

    async def run(self, stop: asyncio.Event) -> None:
        """Start the subscribers (retrying while Kafka is unreachable), run until ``stop``."""
        broker: KafkaBroker | None = None
        while broker is None and not stop.is_set():
            broker = await self._start_once()
            if broker is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self._retry_interval)
        if broker is None:
            return
        self.broker = broker
        self.started.set()
        logger.info("%s: kafka consumers running", self._client_id)
        try:
            await stop.wait()
        finally:
            self.started.clear()
            self.broker = None
            try:
                await asyncio.wait_for(broker.stop(), timeout=self._stop_timeout)
            except Exception as error:  # shutting down anyway: say so, do not mask the cause
                logger.warning(
                    "%s: kafka consumers did not stop cleanly: %s",
                    self._client_id,
                    type(error).__name__,
                )
            logger.info("%s: kafka consumers stopped", self._client_id)

    async def check(self) -> None:
        """Readiness: raises ``ConnectionError`` unless the consumers run and Kafka answers."""
        broker = self.broker
        if broker is None or not self.started.is_set():
            raise ConnectionError("the Kafka consumers are not running")
        if not await broker.ping(timeout=self._ping_timeout):
            raise ConnectionError("Kafka does not answer the consumers' broker")

    @contextlib.asynccontextmanager
    async def running(self, *, start_within: float = 60.0) -> AsyncIterator[Subscriptions]:
        """Run the subscribers for the block, once they have started (tests, tools).

        Raises ``TimeoutError`` if they do not start within ``start_within`` seconds.
        """
        stop = asyncio.Event()
        task = asyncio.create_task(self.run(stop), name=f"{self._client_id}-subscriptions")
        try:
            waiter = asyncio.ensure_future(self.started.wait())
            done, _ = await asyncio.wait(
                {waiter, task}, timeout=start_within, return_when=asyncio.FIRST_COMPLETED
            )
            if waiter not in done:
                waiter.cancel()
                if task in done:
                    task.result()  # re-raise what ended it
                raise TimeoutError(f"{self._client_id}: consumers did not start in {start_within}s")
            yield self
        finally:
            stop.set()
            await task
