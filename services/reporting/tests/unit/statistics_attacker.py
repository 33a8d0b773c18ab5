"""An attacker who sees every figure a contact person can get and solves for suppressed ones.

Independent of the suppression code: it collects what `publish` returns for every dimension
combination (cells, row margins, column margins, grand total), writes each published figure as
an equation over the table's cells (unknown non-negative integers) and asks an exact integer
program (scipy's milp, HiGHS) for the smallest and largest value each suppressed figure can
take. A figure is recovered when both are the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from reporting.domain.statistics import (
    COLUMN_DIMENSION,
    Dimension,
    FigureKey,
    Kind,
    ProtectedTable,
    publish,
)


@dataclass(frozen=True)
class Range:
    low: int
    high: int

    @property
    def width(self) -> int:
        return self.high - self.low + 1


def everything_published(
    protected: ProtectedTable, kind: Kind = Kind.ANSWERS
) -> dict[FigureKey, int]:
    """Every figure any query about `protected` returns, by figure key."""
    dimensions = (Dimension.PERIOD, COLUMN_DIMENSION[kind])
    seen: dict[FigureKey, int] = {}
    for size in range(len(dimensions) + 1):
        for chosen in combinations(dimensions, size):
            for figure in publish(protected, frozenset(chosen)):
                if figure.count is not None:
                    seen[(figure.period, figure.value)] = figure.count
    return seen


def feasible_ranges(
    rows: tuple[str, ...],
    columns: tuple[str, ...],
    published: Iterable[dict[FigureKey, int]],
    targets: Iterable[FigureKey],
) -> dict[FigureKey, Range]:
    """Exact integer bounds of each target figure given every published figure.

    `published` may hold several releases' figures of the same table, all equations at once.
    """
    cells = [(r, c) for r in rows for c in columns]
    index = {cell: i for i, cell in enumerate(cells)}

    def row_of(key: FigureKey) -> np.ndarray:
        row, column = key
        vector = np.zeros(len(cells))
        for r in rows if row is None else (row,):
            for c in columns if column is None else (column,):
                vector[index[(r, c)]] = 1
        return vector

    equations = [(row_of(key), value) for figures in published for key, value in figures.items()]
    constraints = []
    if equations:
        matrix = np.array([vector for vector, _ in equations])
        values = np.array([value for _, value in equations], dtype=float)
        constraints.append(LinearConstraint(matrix, values, values))
    integrality = np.ones(len(cells))
    bounds = Bounds(0, np.inf)
    ranges: dict[FigureKey, Range] = {}
    for target in targets:
        objective = row_of(target)
        low = milp(objective, integrality=integrality, bounds=bounds, constraints=constraints)
        assert low.status == 0, low.message
        # The maximum is unbounded only when no published figure caps the target.
        high = milp(
            -objective,
            integrality=integrality,
            bounds=Bounds(0, 10_000),
            constraints=constraints,
        )
        assert high.status == 0, high.message
        ranges[target] = Range(low=round(low.fun), high=round(-high.fun))
    return ranges
