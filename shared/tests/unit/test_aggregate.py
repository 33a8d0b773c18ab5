"""The aggregate base: events raised are applied and kept pending; replay rebuilds the state."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from byggrygg_shared.aggregate import Aggregate


@dataclass(frozen=True)
class Added:
    amount: int


class Counter(Aggregate[Added]):
    total: int

    @classmethod
    def start(cls, amount: int) -> Counter:
        counter = cls._blank()
        counter.total = 0
        counter._raise(Added(amount))
        return counter

    def add(self, amount: int) -> None:
        self._raise(Added(amount))

    def _apply(self, event: Added) -> None:
        self.total = getattr(self, "total", 0) + event.amount


def test_raised_events_are_applied_and_pending() -> None:
    counter = Counter.start(2)
    counter.add(3)
    assert counter.total == 5
    assert counter.pending == [Added(2), Added(3)]
    assert (counter.version, counter.loaded_version) == (2, 0)


def test_replay_rebuilds_state_and_version_with_nothing_pending() -> None:
    counter = Counter.replay([Added(2), Added(3)])
    counter.add(1)
    assert counter.total == 6
    assert counter.pending == [Added(1)]
    # The append's expected version is the stream's version when it was loaded.
    assert (counter.version, counter.loaded_version) == (3, 2)


def test_an_empty_history_is_not_an_aggregate() -> None:
    with pytest.raises(ValueError, match="empty history"):
        Counter.replay([])
