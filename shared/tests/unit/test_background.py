"""Background workers run while the block runs, and are told to stop and awaited at its end."""

from __future__ import annotations

import asyncio

from byggrygg_shared.background import Worker, running


async def test_workers_run_during_the_block_and_finish_after_stop() -> None:
    both_started = asyncio.Barrier(3)
    finished: list[str] = []

    def worker(name: str) -> Worker:
        async def run(stop: asyncio.Event) -> None:
            await both_started.wait()
            await stop.wait()
            await asyncio.sleep(0)  # some clean-up after the stop signal
            finished.append(name)

        return run

    async with running({"a": worker("a"), "b": worker("b")}, service="t", shutdown_timeout=30):
        await asyncio.wait_for(both_started.wait(), timeout=30)
        names = {task.get_name() for task in asyncio.all_tasks()}
        assert {"t-a", "t-b"} <= names
        assert finished == []
    assert sorted(finished) == ["a", "b"]


async def test_a_worker_that_ignores_stop_is_cancelled_after_the_timeout() -> None:
    cancelled = asyncio.Event()

    async def stubborn(stop: asyncio.Event) -> None:
        try:
            await asyncio.Event().wait()  # never returns by itself
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async with running({"stubborn": stubborn}, service="t", shutdown_timeout=0.01):
        await asyncio.sleep(0)
    assert cancelled.is_set()
