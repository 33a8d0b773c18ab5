"""When a table may be published again: the release rule for repeated queries (R5).

A contact person can ask the same question today and tomorrow and subtract. So a table is
published as a *release*: the true counts frozen at one moment. A later query is answered from
the current release until the people behind the table changed by at least k (the deployment's
minimum) since then; only then is a new release made from the current counts.

"People changed" is measured on the two true tables, without keeping anyone's id: each person
who joined adds 1 to some cell, each person who left takes 1 from some cell, each person whose
latest answer moved does both. So the number of people behind the difference is at least
``max(sum of increases, sum of decreases)``, and that lower bound must reach k. Adding or
removing one person (or fewer than k) therefore changes nothing a contact person can see.

Limits: two releases k or more people apart are each protected on their own (`suppression`),
but their difference concerns a group of at least k people, not one; someone who knows what
all but one of that group answered learns the last one's answer. Counts that only grow also
let an attacker bound a suppressed figure of one release by a published one of another.
"""

from dataclasses import dataclass
from datetime import datetime

from reporting.domain.statistics.tables import CountTable


@dataclass(frozen=True)
class Release:
    """The true counts a query key was last published from, and when."""

    table: CountTable
    released_at: datetime


def people_changed(before: CountTable, after: CountTable) -> int:
    """A lower bound on how many people differ between two tables of the same query."""
    keys = set(before.cells) | set(after.cells)
    increases = 0
    decreases = 0
    for key in keys:
        delta = after.cells.get(key, 0) - before.cells.get(key, 0)
        if delta > 0:
            increases += delta
        else:
            decreases -= delta
    return max(increases, decreases)


def current_release(
    previous: Release | None, current: CountTable, *, minimum_k: int, now: datetime
) -> Release:
    """The release to answer from: `previous` unless at least `minimum_k` people changed."""
    if previous is None or people_changed(previous.table, current) >= minimum_k:
        return Release(table=current, released_at=now)
    return previous
