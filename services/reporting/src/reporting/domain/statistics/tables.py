"""Count tables: how many distinct people fall in each (period, value) cell, with margins.

Each person counts once per table, with their latest contribution in the query's scope (their
latest answer to the question, their latest enrolment in the course). So every person is in
exactly one cell, the row margins, column margins and the grand total are exact sums of the
cells, and the suppression rule can reason about those sums (`suppression`). A
multiple-choice answer is therefore counted by its exact set of options (``a+c``), not once
per option: per-option counts would overlap and their margins would not be sums.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations

from reporting.domain.statistics.dimensions import Granularity, period_of

#: A figure of a table: (row, column), where ``None`` stands for "every row / every column".
#: (period, value) is a cell, (period, None) a row margin, (None, value) a column margin and
#: (None, None) the grand total.
FigureKey = tuple[str | None, str | None]

GRAND_TOTAL: FigureKey = (None, None)


@dataclass(frozen=True)
class Contribution:
    """One person's answer (or enrolment) as the statistics see it: no content beyond `value`.

    `person` is an opaque key that is the same for the same person within one table (a
    pseudonym or an anonymous key kept after erasure); it never leaves the domain.
    """

    person: str
    at: datetime
    value: str


def multiple_choice_value(option_ids: Iterable[str]) -> str:
    """The column value of a multiple-choice answer: its options, sorted, joined by ``+``."""
    return "+".join(sorted(set(option_ids)))


#: Up to this many options, every set of options is a column whether chosen or not.
MAX_OPTIONS_FOR_EVERY_SET = 4


def every_option_set(option_ids: Sequence[str]) -> list[str]:
    """The columns of a multiple-choice question: every non-empty set of its options.

    Columns that exist only because someone chose them would say "at least one person chose
    this set" even where the count is suppressed; declaring every set keeps the columns
    independent of the data. Beyond `MAX_OPTIONS_FOR_EVERY_SET` options the sets would be too
    many to show (2^n - 1): then only chosen sets are columns, a documented limit.
    """
    if len(option_ids) > MAX_OPTIONS_FOR_EVERY_SET:
        return []
    return [
        multiple_choice_value(chosen)
        for size in range(1, len(option_ids) + 1)
        for chosen in combinations(option_ids, size)
    ]


@dataclass(frozen=True)
class CountTable:
    """Distinct people per (row, column) cell; rows and columns in a fixed order."""

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    cells: Mapping[tuple[str, str], int] = field(default_factory=dict)

    def cell(self, row: str, column: str) -> int:
        return self.cells.get((row, column), 0)

    def value(self, key: FigureKey) -> int:
        """The true value of any figure, margins and grand total included."""
        row, column = key
        rows = self.rows if row is None else (row,)
        columns = self.columns if column is None else (column,)
        return sum(self.cell(r, c) for r in rows for c in columns)

    def figure_keys(self) -> list[FigureKey]:
        """Every figure of the table: cells, row margins, column margins, the grand total."""
        row_keys: list[str | None] = [None, *self.rows]
        column_keys: list[str | None] = [None, *self.columns]
        return [(r, c) for r in row_keys for c in column_keys]

    def figures(self) -> dict[FigureKey, int]:
        return {key: self.value(key) for key in self.figure_keys()}


def count_table(
    contributions: Iterable[Contribution],
    *,
    granularity: Granularity,
    columns: Iterable[str] = (),
) -> CountTable:
    """Count each person once, in the period and value of their latest contribution.

    `columns` are the values to show even when nobody chose them (a question's options);
    values seen in the data are added after them, sorted.
    """
    latest: dict[str, Contribution] = {}
    for contribution in contributions:
        known = latest.get(contribution.person)
        # Ties on time are broken by value so the table does not depend on input order.
        if known is None or (contribution.at, contribution.value) > (known.at, known.value):
            latest[contribution.person] = contribution
    months: dict[tuple[int, int, str], int] = {}
    for contribution in latest.values():
        key = (contribution.at.year, contribution.at.month, contribution.value)
        months[key] = months.get(key, 0) + 1
    return table_from_month_counts(
        (MonthCount(year, month, value, people) for (year, month, value), people in months.items()),
        granularity=granularity,
        columns=columns,
    )


@dataclass(frozen=True)
class MonthCount:
    """How many people's latest contribution fell in one month with one value.

    What a database can count for us (`count_table` semantics, done in SQL), so that a table
    over 100,000 answers does not travel row by row into Python.
    """

    year: int
    month: int
    value: str
    people: int


def table_from_month_counts(
    counts: Iterable[MonthCount], *, granularity: Granularity, columns: Iterable[str] = ()
) -> CountTable:
    """The same table as `count_table` over the contributions these counts summarise."""
    cells: dict[tuple[str, str], int] = {}
    for count in counts:
        moment = datetime(count.year, count.month, 1)
        key = (period_of(moment, granularity), count.value)
        cells[key] = cells.get(key, 0) + count.people
    declared = list(dict.fromkeys(columns))
    seen = sorted({column for _, column in cells} - set(declared))
    rows = tuple(sorted({row for row, _ in cells}))
    return CountTable(rows=rows, columns=(*declared, *seen), cells=cells)
