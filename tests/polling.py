"""Waiting for a condition in a cross-service test: poll it to a generous deadline, never a
fixed sleep, so a slow machine makes a test slower, not red."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

DEADLINE_S = 90.0
POLL_S = 0.1

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T | None]],
    *,
    what: str,
    deadline_s: float = DEADLINE_S,
    poll_s: float = POLL_S,
) -> T:
    """The first non-None value of `probe`, polled every `poll_s` until `deadline_s`; fails
    the test with `what` (what was waited for) otherwise."""
    deadline = time.monotonic() + deadline_s
    while True:
        value = await probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"not within {deadline_s}s: {what}", pytrace=False)
        await asyncio.sleep(poll_s)
