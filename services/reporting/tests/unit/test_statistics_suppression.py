"""Property tests of k-anonymous suppression (R5): an attacker with every query fails.

The attacker (`statistics_attacker`) sees every figure every query of a table publishes
(cells, row margins, column margins, grand total) and solves exact integer programs for the
smallest and largest value of each suppressed figure. The guarantee under test
(`reporting.domain.statistics.suppression`): no published figure counts fewer than k people
(zeros aside), and every suppressed figure with true value v can be v - 1, v and v + 1.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reporting.domain.statistics import (
    GRAND_TOTAL,
    CountTable,
    Dimension,
    FigureKey,
    ProtectedTable,
    protect,
    publish,
)

from .statistics_attacker import everything_published, feasible_ranges

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def count_tables(draw: st.DrawFn, max_side: int = 4) -> CountTable:
    """Small tables with many small cells (where suppression has work to do) and some zeros."""
    rows = tuple(f"2026-{m:02d}" for m in range(1, draw(st.integers(1, max_side)) + 1))
    columns = tuple(f"opt{c}" for c in range(draw(st.integers(1, max_side))))
    counts = st.one_of(st.integers(0, 4), st.integers(0, 15))
    cells = {(r, c): draw(counts) for r in rows for c in columns}
    return CountTable(rows=rows, columns=columns, cells={k: v for k, v in cells.items() if v})


def _assert_unrecoverable(protected: ProtectedTable) -> None:
    table = protected.table
    published = everything_published(protected)
    ranges = feasible_ranges(table.rows, table.columns, [published], protected.suppressed)
    for key in protected.suppressed:
        value = table.value(key)
        feasible = ranges[key]
        assert feasible.low <= value - 1, (key, value, feasible)
        assert feasible.high >= value + 1, (key, value, feasible)


@SETTINGS
@given(table=count_tables(), k=st.integers(2, 6))
def test_no_suppressed_figure_can_be_recovered_from_everything_published(
    table: CountTable, k: int
) -> None:
    _assert_unrecoverable(protect(table, k))


@SETTINGS
@given(table=count_tables(), k=st.integers(2, 6))
def test_every_published_figure_counts_at_least_k_people_or_nobody(
    table: CountTable, k: int
) -> None:
    protected = protect(table, k)
    for key, count in everything_published(protected).items():
        assert count == table.value(key)
        assert count == 0 or count >= k, (key, count)
    assert all(table.value(key) > 0 for key in protected.suppressed)


@SETTINGS
@given(table=count_tables(), k=st.integers(2, 5), more=st.integers(1, 4))
def test_a_larger_k_publishes_a_subset_of_what_the_minimum_publishes(
    table: CountTable, k: int, more: int
) -> None:
    # A contact person can ask both; together they must tell no more than the minimum alone.
    minimum = protect(table, k)
    larger = protect(table, k + more, also_suppress=minimum.suppressed)
    assert minimum.suppressed <= larger.suppressed
    assert set(everything_published(larger).items()) <= set(everything_published(minimum).items())
    _assert_unrecoverable(larger)


@SETTINGS
@given(table=count_tables(max_side=3), k=st.integers(2, 6))
def test_suppression_does_not_depend_on_the_order_of_the_cells(table: CountTable, k: int) -> None:
    reordered = CountTable(
        rows=table.rows, columns=table.columns, cells=dict(reversed(list(table.cells.items())))
    )
    assert protect(reordered, k).suppressed == protect(table, k).suppressed


def test_a_table_of_only_large_cells_is_published_whole() -> None:
    table = CountTable(
        rows=("2026-01", "2026-02"),
        columns=("a", "b"),
        cells={("2026-01", "a"): 5, ("2026-01", "b"): 9, ("2026-02", "a"): 7, ("2026-02", "b"): 6},
    )
    protected = protect(table, 5)
    assert protected.suppressed == frozenset()
    assert protected.published(GRAND_TOTAL) == 27


def test_one_small_cell_takes_a_rectangle_of_cells_with_it() -> None:
    table = CountTable(
        rows=("2026-01", "2026-02"),
        columns=("a", "b"),
        cells={("2026-01", "a"): 2, ("2026-01", "b"): 9, ("2026-02", "a"): 7, ("2026-02", "b"): 6},
    )
    protected = protect(table, 5)
    # Subtracting from a margin would give the 2 away: its row and column need a second
    # suppression each, which a cycle closes through the fourth cell.
    assert protected.suppressed == {
        ("2026-01", "a"),
        ("2026-01", "b"),
        ("2026-02", "a"),
        ("2026-02", "b"),
    }
    assert [f.count for f in publish(protected, frozenset({Dimension.PERIOD}))] == [11, 13]
    _assert_unrecoverable(protected)


def test_a_small_grand_total_is_suppressed_with_everything_that_adds_up_to_it() -> None:
    table = CountTable(rows=("2026-Q1",), columns=("a", "b"), cells={("2026-Q1", "a"): 3})
    protected = protect(table, 5)
    assert protected.published(GRAND_TOTAL) is None
    assert protected.published(("2026-Q1", "b")) == 0
    _assert_unrecoverable(protected)


def _two_blocks_joined_by_one_cell() -> tuple[CountTable, frozenset[FigureKey]]:
    rows = ("r1", "r2", "r3", "r4")
    columns = ("c1", "c2", "c3", "c4")
    cells = {(r, c): 6 for r in rows for c in columns}
    block_a = {("r1", "c1"), ("r1", "c2"), ("r2", "c1"), ("r2", "c2")}
    block_b = {("r3", "c3"), ("r3", "c4"), ("r4", "c3"), ("r4", "c4")}
    for key in block_a | block_b:
        cells[key] = 2
    cells[("r1", "c3")] = 3
    return CountTable(rows=rows, columns=columns, cells=cells), frozenset(
        block_a | block_b | {("r1", "c3")}
    )


def test_the_attacker_recovers_a_cell_the_two_per_line_rule_leaves_open() -> None:
    # The classic rule (every row and column with a suppression holds at least two) is met
    # here, yet the cell joining the two blocks is exact: proof the attacker can succeed.
    table, pattern = _two_blocks_joined_by_one_cell()
    weak = ProtectedTable(table=table, k=5, suppressed=pattern)
    ranges = feasible_ranges(table.rows, table.columns, [everything_published(weak)], pattern)
    assert ranges[("r1", "c3")].width == 1
    assert ranges[("r1", "c3")].low == 3


def test_the_cycle_rule_protects_the_joining_cell() -> None:
    table, _ = _two_blocks_joined_by_one_cell()
    protected = protect(table, 5, also_suppress=[("r1", "c3")])
    _assert_unrecoverable(protected)
