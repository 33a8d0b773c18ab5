"""What a query publishes: the part of one protected table its dimensions select.

A query by period and value gets the cells, by period alone the row margins, by value alone
the column margins, by nothing the grand total; every answer also carries the grand total.
All of them are figures of the same `ProtectedTable`, so asking every combination tells a
contact person nothing beyond that table's published figures (the `suppression` guarantee).
"""

from dataclasses import dataclass

from reporting.domain.statistics.dimensions import COMPLETED, Dimension
from reporting.domain.statistics.suppression import ProtectedTable
from reporting.domain.statistics.tables import GRAND_TOTAL, FigureKey


@dataclass(frozen=True)
class PublishedFigure:
    """One figure as published: `count` is ``None`` when suppressed (below k or protecting one)."""

    period: str | None
    value: str | None
    count: int | None

    @property
    def suppressed(self) -> bool:
        return self.count is None


@dataclass(frozen=True)
class CompletionRate:
    """Completed out of enrolled in a period (or overall); ``None`` where a count is suppressed."""

    period: str | None
    completed: int | None
    enrolled: int | None

    @property
    def rate(self) -> float | None:
        if self.completed is None or self.enrolled is None or self.enrolled == 0:
            return None
        return self.completed / self.enrolled


def selected_keys(protected: ProtectedTable, dimensions: frozenset[Dimension]) -> list[FigureKey]:
    """The figure keys a query with `dimensions` publishes, in table order."""
    table = protected.table
    by_period = Dimension.PERIOD in dimensions
    by_value = bool(dimensions - {Dimension.PERIOD})
    rows: list[str | None] = list(table.rows) if by_period else [None]
    columns: list[str | None] = list(table.columns) if by_value else [None]
    return [(row, column) for row in rows for column in columns]


def publish(protected: ProtectedTable, dimensions: frozenset[Dimension]) -> list[PublishedFigure]:
    """The figures a query with `dimensions` returns; suppressed ones carry no count."""
    return [
        PublishedFigure(period=row, value=column, count=protected.published((row, column)))
        for row, column in selected_keys(protected, dimensions)
    ]


def grand_total(protected: ProtectedTable) -> int | None:
    return protected.published(GRAND_TOTAL)


def completion_rates(protected: ProtectedTable, *, by_period: bool) -> list[CompletionRate]:
    """Completed / enrolled per period (or overall) from a protected completion table.

    The rate is shown only where both counts are published: a rate next to a published
    denominator would give the suppressed numerator away.
    """
    rows: list[str | None] = list(protected.table.rows) if by_period else [None]
    return [
        CompletionRate(
            period=row,
            completed=protected.published((row, COMPLETED)),
            enrolled=protected.published((row, None)),
        )
        for row in rows
    ]
