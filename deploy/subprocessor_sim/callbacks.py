"""Delivers the simulator's signed confirmations to the orchestrator, retrying with back-off.

Each confirmation is one Standard Webhooks message: its ``webhook-id`` stays the same on every
attempt (so the receiver can drop a duplicate), the timestamp and signature are made afresh
for each attempt. A 2xx is delivered; 409 means the receiver already has this id (an earlier
attempt got through and only its answer was lost), also delivered; another 4xx is a refusal
that a retry cannot change. Network errors, 429 and 5xx are retried after 1x, 2x, 4x ... the
initial back-off (capped), until the attempts run out.
"""

from __future__ import annotations

import asyncio
import base64
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import httpx
from standardwebhooks import Webhook

Outcome = Literal["pending", "delivered", "refused", "gave_up", "cancelled"]
MAX_BACKOFF_SECONDS = 30.0
ATTEMPT_TIMEOUT_SECONDS = 10.0


@dataclass(slots=True)
class Delivery:
    """What happened to one confirmation (the admin API shows it; ids only, no data)."""

    webhook_id: str
    outcome: Outcome = "pending"
    attempts: int = 0
    last_status: int | None = None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 10
    initial_backoff_seconds: float = 0.5

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return min(self.initial_backoff_seconds * 2.0 ** (attempt - 1), MAX_BACKOFF_SECONDS)


def forged_key() -> Webhook:
    """A key nobody shares: what the wrong-signature mode signs with."""
    return Webhook(base64.b64encode(secrets.token_bytes(32)).decode())


class CallbackSender:
    """Sends confirmations in background tasks; ``close`` cancels what is still pending."""

    def __init__(
        self,
        keys: list[Webhook],
        policy: RetryPolicy,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._keys = keys
        self._policy = policy
        self._clock = clock
        self._client = httpx.AsyncClient(timeout=ATTEMPT_TIMEOUT_SECONDS)
        self._tasks: set[asyncio.Task[None]] = set()

    def send(
        self, url: str, body: bytes, delivery: Delivery, *, delay: float, forged: bool
    ) -> None:
        """Start delivering ``body`` to ``url`` after ``delay`` seconds, in the background."""
        keys = [forged_key()] if forged else self._keys
        task = asyncio.create_task(self._deliver(url, body, delivery, delay, keys))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(
        self, url: str, body: bytes, delivery: Delivery, delay: float, keys: list[Webhook]
    ) -> None:
        try:
            if delay > 0:
                await asyncio.sleep(delay)
            for attempt in range(1, self._policy.attempts + 1):
                delivery.attempts = attempt
                status = await self._attempt(url, body, delivery.webhook_id, keys)
                delivery.last_status = status
                if status is not None and (200 <= status < 300 or status == 409):
                    delivery.outcome = "delivered"
                    break
                if status is not None and 400 <= status < 500 and status != 429:
                    delivery.outcome = "refused"
                    break
                if attempt < self._policy.attempts:
                    await asyncio.sleep(self._policy.backoff(attempt))
            else:
                delivery.outcome = "gave_up"
        except asyncio.CancelledError:
            delivery.outcome = "cancelled"
            raise
        print(
            f"subprocessor-sim: callback {delivery.webhook_id} {delivery.outcome} after "
            f"{delivery.attempts} attempt(s), last status {delivery.last_status}",
            flush=True,
        )

    async def _attempt(
        self, url: str, body: bytes, webhook_id: str, keys: list[Webhook]
    ) -> int | None:
        """One signed POST; its status, or None when the receiver could not be reached."""
        signed_at = datetime.fromtimestamp(math.floor(self._clock().timestamp()), UTC)
        text = body.decode("utf-8")
        headers = {
            "content-type": "application/json",
            "webhook-id": webhook_id,
            "webhook-timestamp": str(int(signed_at.timestamp())),
            "webhook-signature": " ".join(
                key.sign(msg_id=webhook_id, timestamp=signed_at, data=text) for key in keys
            ),
        }
        try:
            response = await self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError:
            return None
        return response.status_code

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._client.aclose()
