"""Background workers run while the block runs, and are told to stop and awaited at its end;
the periodic loop (``every``) outlives the failures it is told to survive."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

import pytest

from byggrygg_shared.background import Worker, every, running


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


async def test_every_runs_a_pass_per_interval_outlives_a_failed_one_and_stops() -> None:
    stop = asyncio.Event()
    passes: list[int] = []

    async def one_pass() -> None:
        passes.append(len(passes))
        if len(passes) == 1:
            raise ConnectionError("the database went away")  # survived: logged, retried
        if len(passes) == 3:
            stop.set()

    logger = logging.getLogger("test-every")
    with _captured(logger) as records:
        await asyncio.wait_for(
            every(0.001, one_pass, stop, name="test pass", logger=logger), timeout=30
        )
    assert passes == [0, 1, 2]
    assert [r.getMessage() for r in records] == ["test pass failed: ConnectionError"]


async def test_every_ends_on_an_error_it_was_not_told_to_survive() -> None:
    async def one_pass() -> None:
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        await every(
            0.001,
            one_pass,
            asyncio.Event(),
            name="test pass",
            logger=logging.getLogger("test-every"),
            survives=(OSError,),
        )


@contextlib.contextmanager
def _captured(logger: logging.Logger) -> Iterator[list[logging.LogRecord]]:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
