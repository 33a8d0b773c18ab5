"""Repeated queries over time (R5): one person joining or leaving changes nothing published.

The attacker asks the same question before and after one person (or fewer than k people)
answered, was added or removed, and compares everything published; then, once k or more
people changed, each release on its own still resists the integer-program attacker.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reporting.domain.statistics import (
    Contribution,
    CountTable,
    Granularity,
    Release,
    count_table,
    current_release,
    people_changed,
    protect,
)

from .statistics_attacker import everything_published, feasible_ranges

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
START = datetime(2026, 1, 1, tzinfo=UTC)
VALUES = ("a", "b", "c")


@st.composite
def contributions(draw: st.DrawFn, people: range) -> list[Contribution]:
    return [
        Contribution(
            person=f"p{n}",
            at=START + timedelta(days=draw(st.integers(0, 170))),
            value=draw(st.sampled_from(VALUES)),
        )
        for n in people
    ]


def _table(rows: list[Contribution]) -> CountTable:
    return count_table(rows, granularity=Granularity.QUARTER, columns=VALUES)


@SETTINGS
@given(
    data=st.data(),
    size=st.integers(0, 30),
    k=st.integers(2, 6),
    change=st.sampled_from(["add", "remove", "move"]),
)
def test_one_person_added_removed_or_changed_leaves_every_published_figure_as_it_was(
    data: st.DataObject, size: int, k: int, change: str
) -> None:
    before = data.draw(contributions(range(size)))
    after = list(before)
    if change == "add" or not before:
        after.append(data.draw(contributions(range(size, size + 1)))[0])
    elif change == "remove":
        after.pop(data.draw(st.integers(0, len(before) - 1)))
    else:
        index = data.draw(st.integers(0, len(before) - 1))
        moved = after[index]
        after[index] = Contribution(moved.person, moved.at, data.draw(st.sampled_from(VALUES)))
    first = current_release(None, _table(before), minimum_k=k, now=START)
    second = current_release(first, _table(after), minimum_k=k, now=START + timedelta(days=1))
    assert everything_published(protect(second.table, k)) == everything_published(
        protect(first.table, k)
    )


@SETTINGS
@given(data=st.data(), size=st.integers(0, 25), joined=st.integers(0, 12), k=st.integers(2, 6))
def test_a_new_release_needs_k_people_and_each_release_resists_the_attacker(
    data: st.DataObject, size: int, joined: int, k: int
) -> None:
    before = data.draw(contributions(range(size)))
    after = before + data.draw(contributions(range(size, size + joined)))
    first = current_release(None, _table(before), minimum_k=k, now=START)
    second = current_release(first, _table(after), minimum_k=k, now=START + timedelta(days=1))
    assert (second is first) == (joined < k)
    for release in (first, second):
        protected = protect(release.table, k)
        table = protected.table
        ranges = feasible_ranges(
            table.rows, table.columns, [everything_published(protected)], protected.suppressed
        )
        for key in protected.suppressed:
            assert ranges[key].width >= 3, (key, ranges[key])


@SETTINGS
@given(
    before=st.dictionaries(st.integers(0, 20), st.sampled_from(VALUES), max_size=20),
    after=st.dictionaries(st.integers(0, 20), st.sampled_from(VALUES), max_size=20),
)
def test_people_changed_never_counts_more_people_than_really_changed(
    before: dict[int, str], after: dict[int, str]
) -> None:
    # Overcounting would let a release through after fewer than k people changed.
    def table(people: dict[int, str]) -> CountTable:
        return _table([Contribution(f"p{n}", START, value) for n, value in people.items()])

    really = sum(1 for n in set(before) | set(after) if before.get(n) != after.get(n))
    assert people_changed(table(before), table(after)) <= really


def test_k_people_joining_make_a_new_release_at_that_moment() -> None:
    base = [Contribution(f"p{n}", START, "a") for n in range(6)]
    first = current_release(None, _table(base), minimum_k=5, now=START)
    four = base + [Contribution(f"q{n}", START, "b") for n in range(4)]
    later = START + timedelta(days=3)
    assert current_release(first, _table(four), minimum_k=5, now=later) == first
    five = [*four, Contribution("q4", START, "b")]
    assert current_release(first, _table(five), minimum_k=5, now=later) == Release(
        table=_table(five), released_at=later
    )
