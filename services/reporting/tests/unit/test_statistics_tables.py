"""Counting distinct people, declared dimensions and k (R4, R5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reporting.domain.statistics import (
    COMPLETED,
    GRAND_TOTAL,
    NOT_COMPLETED,
    Contribution,
    CountTable,
    Dimension,
    Granularity,
    GroupSize,
    GroupSizeBelowMinimum,
    Kind,
    UndeclaredDimension,
    completion_rates,
    count_table,
    every_option_set,
    multiple_choice_value,
    parse_dimensions,
    period_of,
    protect,
    publish,
)

START = datetime(2026, 1, 1, tzinfo=UTC)

answers = st.lists(
    st.builds(
        Contribution,
        person=st.sampled_from([f"p{n}" for n in range(12)]),
        at=st.integers(0, 400).map(lambda days: START + timedelta(days=days)),
        value=st.sampled_from(["a", "b", "c"]),
    ),
    max_size=40,
)


@given(rows=answers, granularity=st.sampled_from(list(Granularity)))
def test_each_person_counts_once_with_their_latest_answer(
    rows: list[Contribution], granularity: Granularity
) -> None:
    table = count_table(rows, granularity=granularity)
    assert table.value(GRAND_TOTAL) == len({row.person for row in rows})
    for person in {row.person for row in rows}:
        latest = max((r for r in rows if r.person == person), key=lambda r: (r.at, r.value))
        assert table.cell(period_of(latest.at, granularity), latest.value) >= 1
    assert count_table(list(reversed(rows)), granularity=granularity) == table


def test_margins_add_up_and_declared_options_show_as_zero_columns() -> None:
    rows = [
        Contribution("p1", datetime(2026, 1, 5, tzinfo=UTC), "a"),
        Contribution("p2", datetime(2026, 2, 5, tzinfo=UTC), "a"),
        Contribution("p3", datetime(2026, 4, 5, tzinfo=UTC), "b"),
        Contribution("p1", datetime(2026, 5, 5, tzinfo=UTC), "b"),
    ]
    table = count_table(rows, granularity=Granularity.QUARTER, columns=["c", "a", "b"])
    assert table.rows == ("2026-Q1", "2026-Q2")
    assert table.columns == ("c", "a", "b")
    assert table.figures() == {
        (None, None): 3,
        (None, "c"): 0,
        (None, "a"): 1,
        (None, "b"): 2,
        ("2026-Q1", None): 1,
        ("2026-Q1", "c"): 0,
        ("2026-Q1", "a"): 1,
        ("2026-Q1", "b"): 0,
        ("2026-Q2", None): 2,
        ("2026-Q2", "c"): 0,
        ("2026-Q2", "a"): 0,
        ("2026-Q2", "b"): 2,
    }


def test_a_multiple_choice_answer_counts_once_by_its_set_of_options() -> None:
    assert multiple_choice_value(["c", "a", "c"]) == "a+c"
    assert every_option_set(["a", "b", "c"]) == ["a", "b", "c", "a+b", "a+c", "b+c", "a+b+c"]
    assert every_option_set(["a", "b", "c", "d", "e"]) == []


def test_period_labels() -> None:
    moment = datetime(2026, 11, 30, tzinfo=UTC)
    assert period_of(moment, Granularity.MONTH) == "2026-11"
    assert period_of(moment, Granularity.QUARTER) == "2026-Q4"


def test_only_declared_dimensions_are_accepted() -> None:
    assert parse_dimensions(Kind.ANSWERS, ["option", "period", "option"]) == {
        Dimension.OPTION,
        Dimension.PERIOD,
    }
    assert parse_dimensions(Kind.COMPLETION, []) == frozenset()
    with pytest.raises(UndeclaredDimension):
        parse_dimensions(Kind.ANSWERS, ["department"])
    with pytest.raises(UndeclaredDimension):
        parse_dimensions(Kind.COMPLETION, ["option"])


def test_k_may_be_raised_never_lowered() -> None:
    size = GroupSize(minimum=5)
    assert size.for_request(None) == 5
    assert size.for_request(8) == 8
    with pytest.raises(GroupSizeBelowMinimum):
        size.for_request(4)
    with pytest.raises(ValueError, match="at least 2"):
        GroupSize(minimum=1)


def test_each_dimension_choice_selects_its_part_of_the_one_table() -> None:
    table = CountTable(
        rows=("2026-Q1", "2026-Q2"),
        columns=("a", "b"),
        cells={("2026-Q1", "a"): 5, ("2026-Q1", "b"): 6, ("2026-Q2", "a"): 7, ("2026-Q2", "b"): 8},
    )
    protected = protect(table, 5)
    assert [(f.period, f.value, f.count) for f in publish(protected, frozenset())] == [
        (None, None, 26)
    ]
    assert [f.count for f in publish(protected, frozenset({Dimension.OPTION}))] == [12, 14]
    assert [f.count for f in publish(protected, frozenset({Dimension.PERIOD}))] == [11, 15]
    both = publish(protected, frozenset({Dimension.PERIOD, Dimension.OPTION}))
    assert [(f.period, f.value) for f in both] == [
        ("2026-Q1", "a"),
        ("2026-Q1", "b"),
        ("2026-Q2", "a"),
        ("2026-Q2", "b"),
    ]


def test_a_completion_rate_shows_only_where_both_counts_are_published() -> None:
    table = CountTable(
        rows=("2026-Q1", "2026-Q2"),
        columns=(COMPLETED, NOT_COMPLETED),
        cells={
            ("2026-Q1", COMPLETED): 6,
            ("2026-Q1", NOT_COMPLETED): 9,
            ("2026-Q2", COMPLETED): 2,
            ("2026-Q2", NOT_COMPLETED): 7,
        },
    )
    rates = completion_rates(protect(table, 5), by_period=True)
    assert rates[0].period == "2026-Q1"
    assert rates[1].completed is None
    assert rates[1].rate is None
    assert all(rate.rate is None or rate.completed is not None for rate in rates)
