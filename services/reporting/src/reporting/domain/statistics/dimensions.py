"""The dimensions a statistics query may break its counts down by, as the API declares them.

Every statistic is one two-way table (DESIGN §6): rows are periods, columns are the answer
value (answer distributions) or the completion status (completion rates). A query asks for a
subset of those two dimensions and gets the matching part of that one table (the cells, the
row margins, the column margins or the grand total), so every query a contact person can make
about the same question is a projection of one protected table (see `suppression`).

The period's granularity (month or quarter) is a deployment setting, not a query parameter:
months nest in quarters, and publishing both would give an attacker equations (a quarter minus
two published months) that one two-way table's suppression does not cover.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from reporting.domain.statistics.errors import GroupSizeBelowMinimum, UndeclaredDimension


class Kind(StrEnum):
    """What is counted."""

    ANSWERS = "answers"
    COMPLETION = "completion"


class Dimension(StrEnum):
    """A declared dimension; `PERIOD` is the rows, the others are the columns."""

    PERIOD = "period"
    OPTION = "option"
    STATUS = "status"


class Granularity(StrEnum):
    """How long one period is."""

    MONTH = "month"
    QUARTER = "quarter"


COLUMN_DIMENSION: dict[Kind, Dimension] = {
    Kind.ANSWERS: Dimension.OPTION,
    Kind.COMPLETION: Dimension.STATUS,
}

COMPLETED = "completed"
NOT_COMPLETED = "not_completed"
STATUS_VALUES = (COMPLETED, NOT_COMPLETED)


def declared_dimensions(kind: Kind) -> tuple[Dimension, ...]:
    """The dimensions a query of `kind` may name, rows first."""
    return (Dimension.PERIOD, COLUMN_DIMENSION[kind])


def parse_dimensions(kind: Kind, names: list[str]) -> frozenset[Dimension]:
    """The set of dimensions a query asks for; raises `UndeclaredDimension` on anything else."""
    declared = declared_dimensions(kind)
    chosen: set[Dimension] = set()
    for name in names:
        match = next((dimension for dimension in declared if dimension.value == name), None)
        if match is None:
            raise UndeclaredDimension(name, tuple(d.value for d in declared))
        chosen.add(match)
    return frozenset(chosen)


def period_of(moment: datetime, granularity: Granularity) -> str:
    """The label of the period `moment` falls in: ``2026-03`` or ``2026-Q1``."""
    if granularity is Granularity.MONTH:
        return f"{moment.year:04d}-{moment.month:02d}"
    return f"{moment.year:04d}-Q{(moment.month - 1) // 3 + 1}"


@dataclass(frozen=True)
class GroupSize:
    """The minimum number of people behind every published figure (R5).

    `minimum` is the deployment's floor (default 5); a query may ask for more, never less.
    """

    minimum: int

    def __post_init__(self) -> None:
        if self.minimum < 2:
            # k = 1 would publish single answers, which R4 forbids to everyone but staff.
            raise ValueError("the minimum group size must be at least 2")

    def for_request(self, requested: int | None) -> int:
        """The k to apply: the floor when none is asked; raises when asked below the floor."""
        if requested is None:
            return self.minimum
        if requested < self.minimum:
            raise GroupSizeBelowMinimum(requested, self.minimum)
        return requested
