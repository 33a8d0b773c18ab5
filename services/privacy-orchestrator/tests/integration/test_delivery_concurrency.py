"""The delivery worker sends sub-processor requests side by side, never more than its bound,
each exactly once (rows locked with SKIP LOCKED), on real PostgreSQL. The HTTP client is a
stand-in that holds every request until the bound is reached: a worker sending one at a time
would never reach it and the test fails at its deadline."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from uuid import UUID

from privacy_orchestrator.bootstrap import Runtime
from privacy_orchestrator.domain.subprocessors import AttemptResult
from privacy_orchestrator.service_layer.subprocessors import DeliveryWorker

from .test_subprocessors import delivery_rows, send

BOUND = 4
DELIVERIES = 10
DEADLINE_SECONDS = 60.0


class HoldingClient:
    """Accepts every request, but only once ``bound`` are in flight together (then all)."""

    def __init__(self, bound: int) -> None:
        self.bound = bound
        self.in_flight = 0
        self.most_in_flight = 0
        self.sent: list[str] = []
        self.opened = asyncio.Event()

    async def send(
        self, *, endpoint_url: str, secret_file: Path, webhook_id: str, body: bytes
    ) -> AttemptResult:
        del endpoint_url, secret_file, body
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        self.sent.append(webhook_id)
        if self.in_flight >= self.bound:
            self.opened.set()
        try:
            await self.opened.wait()
        finally:
            self.in_flight -= 1
        return AttemptResult(status=202)

    async def aclose(self) -> None:
        return None


async def test_requests_go_out_side_by_side_up_to_the_bound_each_once(runtime: Runtime) -> None:
    request_ids: list[UUID] = []
    for _ in range(DELIVERIES):
        _, request_id, _ = await send(runtime, "http://127.0.0.1:9")
        request_ids.append(request_id)
    client = HoldingClient(BOUND)
    ctx = replace(runtime.subprocessors, client=client)  # type: ignore[arg-type]

    made = await asyncio.wait_for(
        DeliveryWorker(ctx, concurrency=BOUND).deliver_due(), DEADLINE_SECONDS
    )

    assert made == DELIVERIES
    assert client.most_in_flight == BOUND  # side by side, and never more than the bound
    assert len(client.sent) == len(set(client.sent)) == DELIVERIES  # each sent once
    for request_id in request_ids:
        [row] = await delivery_rows(runtime, request_id)
        assert (row["state"], row["attempts"], row["outcomes"]) == ("delivered", 1, ["accepted"])


async def test_one_sender_sends_one_at_a_time(runtime: Runtime) -> None:
    for _ in range(3):
        await send(runtime, "http://127.0.0.1:9")
    client = HoldingClient(1)
    ctx = replace(runtime.subprocessors, client=client)  # type: ignore[arg-type]

    assert await DeliveryWorker(ctx).deliver_due() == 3
    assert client.most_in_flight == 1
