"""The event-sourcing mechanics every service's aggregates share: version and pending events.

An aggregate changes only by applying an event. A command method checks the rules, then
`_raise`s events, which are applied at once and kept in `pending` until the service layer
appends them. `version` counts every applied event, so `loaded_version` (the version before
the pending events) is the expected version of the append: the optimistic lock.

Plain Python with no I/O and no framework, so a service's domain layer may import it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Generic, Self, TypeVar

E = TypeVar("E")


class Aggregate(Generic[E]):
    """Base of an event-sourced aggregate whose events are of type `E`."""

    version: int
    pending: list[E]

    @classmethod
    def _blank(cls) -> Self:
        aggregate = cls.__new__(cls)
        aggregate.version = 0
        aggregate.pending = []
        return aggregate

    @classmethod
    def replay(cls, history: Iterable[E]) -> Self:
        """Rebuild an aggregate by applying its stored events in order."""
        aggregate = cls._blank()
        for event in history:
            aggregate._apply(event)
            aggregate.version += 1
        if aggregate.version == 0:
            raise ValueError("cannot replay an empty history")
        return aggregate

    @property
    def loaded_version(self) -> int:
        """The stream version before the pending events: the append's expected version."""
        return self.version - len(self.pending)

    def _raise(self, event: E) -> None:
        self._apply(event)
        self.version += 1
        self.pending.append(event)

    def _apply(self, event: E) -> None:
        raise NotImplementedError
