"""Primary and complementary cell suppression of a count table (R5).

The rule
--------
1. **Primary suppression.** Every figure (cell, row margin, column margin, grand total) with
   ``0 < value < k`` is suppressed. Zeros are published: a zero names nobody.
2. **Complementary suppression.** Look at the table as a graph: one node per row plus one
   for "all rows", one node per column plus one for "all columns"; every figure ``(row,
   column)`` is the edge between its row node and its column node (a row margin joins the row
   to "all columns", the grand total joins the two "all" nodes). Then every row of the table
   *with its margin* is the set of edges at a row node, and its equation (cells sum to the
   margin) is a node equation. Rule: **every suppressed figure must lie on a cycle of
   suppressed figures, and no suppressed figure is zero.** While some suppressed figure is a
   bridge of the suppressed graph, the cheapest path of non-zero figures between its ends
   (cost: the values of the figures it newly suppresses) is suppressed too. Adding a path
   closes a cycle through the bridge and every edge of the path, so bridges only disappear and
   the loop ends (a fixed point). Every line with a suppressed figure then holds at least two,
   the classic "at least two per row and column, or the margin too" rule, and more: the classic
   rule alone leaves a suppressed figure that joins two otherwise separate groups of
   suppressions recoverable exactly; the cycle rule does not.

The guarantee
-------------
For every suppressed figure with true value ``v`` there are non-negative integer tables that
agree with **every published figure** of the table (all cells, both margins and the grand
total) and give that figure the value ``v - 1`` and ``v + 1``: walk its cycle, adding and
subtracting 1 alternately (margins with the opposite sign to cells), which keeps every row and
column equation; every suppressed figure is at least 1, so nothing goes negative. Someone who
sees everything any query about this table publishes can therefore narrow a suppressed figure
to no fewer than three values, whatever linear algebra or integer programming they use.

Limits (documented in docs/services/reporting-statistics.md): the guarantee is about the
published figures of one release of one table. It does not model background knowledge (the
attacker knowing other people's answers), the attacker reasoning about *which* figures the
algorithm chose to suppress, or differences between releases (see `releases` for that rule).
"""

import heapq
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from reporting.domain.statistics.tables import GRAND_TOTAL, CountTable, FigureKey

Node = tuple[str, str | None]


def _ends(key: FigureKey) -> tuple[Node, Node]:
    row, column = key
    return ("row", row), ("column", column)


def _connected_without(start: Node, goal: Node, edges: Iterable[FigureKey]) -> bool:
    """Whether `goal` is reachable from `start` over `edges` (the edge start-goal excluded)."""
    neighbours: dict[Node, list[Node]] = defaultdict(list)
    for key in edges:
        a, b = _ends(key)
        neighbours[a].append(b)
        neighbours[b].append(a)
    seen = {start}
    frontier = [start]
    while frontier:
        node = frontier.pop()
        if node == goal:
            return True
        for nxt in neighbours[node]:
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return False


def _cheapest_closing_path(
    bridge: FigureKey, values: dict[FigureKey, int], suppressed: set[FigureKey]
) -> list[FigureKey]:
    """Non-zero figures joining the bridge's two ends without it, cheapest to suppress.

    Cost of a path: (sum of the values it newly suppresses, how many it newly suppresses);
    already suppressed figures are free. Ties are broken by the figure keys' order so the
    result does not depend on dictionary order.
    """
    start, goal = _ends(bridge)
    neighbours: dict[Node, list[tuple[Node, FigureKey]]] = defaultdict(list)
    for key, value in values.items():
        if key == bridge or value == 0:
            continue
        a, b = _ends(key)
        neighbours[a].append((b, key))
        neighbours[b].append((a, key))
    best: dict[Node, tuple[int, int]] = {start: (0, 0)}
    came_by: dict[Node, tuple[Node, FigureKey]] = {}
    queue: list[tuple[tuple[int, int], str, Node]] = [((0, 0), repr(start), start)]
    while queue:
        cost, _, node = heapq.heappop(queue)
        if node == goal:
            break
        if cost > best[node]:
            continue
        for nxt, key in sorted(neighbours[node], key=lambda pair: repr(pair[1])):
            extra = (0, 0) if key in suppressed else (values[key], 1)
            new_cost = (cost[0] + extra[0], cost[1] + extra[1])
            if nxt not in best or new_cost < best[nxt]:
                best[nxt] = new_cost
                came_by[nxt] = (node, key)
                heapq.heappush(queue, (new_cost, repr(nxt), nxt))
    if goal not in came_by:
        # Cannot happen for a non-zero figure: its cell, row margin, column margin and the
        # grand total are all non-zero and form a cycle. Kept as a loud failure, not a leak.
        raise AssertionError(f"no closing path for {bridge!r}")
    path: list[FigureKey] = []
    node = goal
    while node != start:
        node, key = came_by[node]
        path.append(key)
    return path


@dataclass(frozen=True)
class ProtectedTable:
    """A count table with the figures that may be published and those that are suppressed."""

    table: CountTable
    k: int
    suppressed: frozenset[FigureKey]

    def published(self, key: FigureKey) -> int | None:
        """The figure's value, or ``None`` when it is suppressed."""
        return None if key in self.suppressed else self.table.value(key)

    @property
    def grand_total(self) -> int | None:
        return self.published(GRAND_TOTAL)


def protect(
    table: CountTable, k: int, *, also_suppress: Iterable[FigureKey] = ()
) -> ProtectedTable:
    """Suppress every figure below `k` and enough others that none can be recovered.

    `also_suppress` adds figures to the primary set: a query asking for a larger k than the
    deployment's minimum passes the minimum's suppressions, so that what it publishes is a
    subset of what the minimum publishes and the two answers together reveal nothing more
    than the minimum's alone.
    """
    if k < 1:
        raise ValueError("k must be positive")
    values = table.figures()
    extra = {key for key in also_suppress if values.get(key, 0) > 0}
    primary = {key for key, value in values.items() if 0 < value < k} | extra
    suppressed = set(primary)
    # One pass is a fixed point: closing a cycle through a bridge never turns a figure that
    # already lies on a cycle into a bridge, and every figure of the closing path lies on the
    # new cycle. Figures added by a path are therefore never bridges and need no visit.
    for key in sorted(primary, key=repr):
        start, goal = _ends(key)
        if not _connected_without(start, goal, suppressed - {key}):
            suppressed.update(_cheapest_closing_path(key, values, suppressed))
    return ProtectedTable(table=table, k=k, suppressed=frozenset(suppressed))
