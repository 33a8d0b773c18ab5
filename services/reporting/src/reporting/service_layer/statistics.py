"""Statistics queries: k-anonymous ones for an organisation's contact person (R5), full ones for
platform staff (R4).

A contact person's query: check the caller, read the counts of distinct people from the read
models, decide the release (``domain.statistics.releases``: the published counts change only
after k people changed), protect it (``domain.statistics.suppression``) at the deployment's
minimum k and, when a larger k is asked, at that k on top of the minimum's suppressions, then
return the part of the table the query's dimensions select. Only people still linked to their
answers count here; answers kept anonymised after an erasure count in staff statistics only.

Staff statistics are the same tables without suppression or releases, including the answers
of erased people (each such enrolment counts as one person, since the link that would say
otherwise is gone). Free text is never read, for anyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from byggrygg_shared.auth import Role
from byggrygg_shared.db import transaction
from reporting.adapters import statistics_store as store
from reporting.domain.statistics import (
    STATUS_VALUES,
    CountTable,
    Dimension,
    Granularity,
    GroupSize,
    GroupSizeBelowMinimum,
    Kind,
    ProtectedTable,
    PublishedFigure,
    UndeclaredDimension,
    current_release,
    every_option_set,
    parse_dimensions,
    period_of,
    protect,
    publish,
    table_from_month_counts,
)
from reporting.domain.statistics.views import CompletionRate, completion_rates
from reporting.service_layer.context import Actor, Dependencies
from reporting.service_layer.errors import NotAllowed, ServiceError

FREE_TEXT = "free_text"
MULTIPLE_CHOICE = "multiple_choice"
SCALE = "scale"


class StatisticsNotFound(ServiceError):
    """No such course for the organisation, or no such question in the course."""


class QuestionHasNoStatistics(ServiceError):
    """A free-text question: free text is personal and never counted or shown (R4)."""


class DimensionNotDeclared(ServiceError):
    """The query names a dimension the API does not declare."""


class KBelowMinimum(ServiceError):
    """The query asks for a k below the deployment's minimum (R5)."""


class NotThisOrganisationsContactPerson(NotAllowed):
    """Only the organisation's contact person (or platform staff) may see its statistics."""


@dataclass(frozen=True)
class AnswerStatistics:
    """What a statistics query returns: figures, the k applied and the release they come from."""

    kind: Kind
    dimensions: frozenset[Dimension]
    granularity: Granularity
    k: int | None
    released_at: datetime | None
    figures: list[PublishedFigure]
    total: int | None
    value_labels: dict[str, str]
    rates: list[CompletionRate]


def _parse(kind: Kind, dimensions: list[str]) -> frozenset[Dimension]:
    try:
        return parse_dimensions(kind, dimensions)
    except UndeclaredDimension as error:
        raise DimensionNotDeclared(str(error)) from error


def _k_for(deps: Dependencies, requested: int | None) -> int:
    try:
        return GroupSize(minimum=deps.k_minimum).for_request(requested)
    except GroupSizeBelowMinimum as error:
        raise KBelowMinimum(str(error)) from error


def _check_contact_person(actor: Actor, organisation_id: UUID) -> None:
    if actor.is_staff:
        return
    if not actor.has_role(Role.CONTACT_PERSON) or actor.organisation_id != organisation_id:
        raise NotThisOrganisationsContactPerson("not this organisation's contact person")


def _periods(since: datetime, until: datetime, granularity: Granularity) -> list[str]:
    """Every period label from `since` to `until`: rows that do not depend on the data."""
    labels: list[str] = []
    year, month = since.year, since.month
    while (year, month) <= (until.year, until.month):
        label = period_of(datetime(year, month, 1, tzinfo=since.tzinfo), granularity)
        if not labels or labels[-1] != label:
            labels.append(label)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return labels


def _with_rows(table: CountTable, rows: list[str]) -> CountTable:
    every = tuple(sorted(set(rows) | set(table.rows)))
    return CountTable(rows=every, columns=table.columns, cells=table.cells)


def _declared_columns(shape: store.QuestionShape) -> tuple[list[str], dict[str, str]]:
    if shape.kind == SCALE and shape.scale is not None:
        values = [str(v) for v in range(shape.scale[0], shape.scale[1] + 1)]
        return values, {value: value for value in values}
    if shape.kind == MULTIPLE_CHOICE:
        return every_option_set(shape.option_ids), dict(shape.option_labels)
    return list(shape.option_ids), dict(shape.option_labels)


async def _answer_table(
    conn: asyncpg.Connection,
    deps: Dependencies,
    *,
    organisation_id: UUID,
    course_id: UUID,
    question_id: UUID,
    include_unlinked: bool,
) -> tuple[CountTable, dict[str, str]]:
    since = await store.assigned_at(conn, organisation_id=organisation_id, course_id=course_id)
    shape = await store.question_shape(conn, course_id=course_id, question_id=question_id)
    if since is None or shape is None:
        raise StatisticsNotFound("no such course or question for this organisation")
    if shape.kind == FREE_TEXT:
        raise QuestionHasNoStatistics("free-text questions have no statistics")
    counts = await store.answer_counts(
        conn,
        organisation_id=organisation_id,
        course_id=course_id,
        question_id=question_id,
        kind=shape.kind,
        include_unlinked=include_unlinked,
    )
    columns, labels = _declared_columns(shape)
    granularity = Granularity(deps.statistics_period)
    table = table_from_month_counts(counts, granularity=granularity, columns=columns)
    for column in table.columns:
        if column not in labels:
            labels[column] = " + ".join(labels.get(part, part) for part in column.split("+"))
    return _with_rows(table, _periods(since, deps.clock(), granularity)), labels


async def _completion_table(
    conn: asyncpg.Connection,
    deps: Dependencies,
    *,
    organisation_id: UUID,
    course_id: UUID,
    include_unlinked: bool,
) -> CountTable:
    since = await store.assigned_at(conn, organisation_id=organisation_id, course_id=course_id)
    if since is None:
        raise StatisticsNotFound("no such course for this organisation")
    counts = await store.completion_counts(
        conn,
        organisation_id=organisation_id,
        course_id=course_id,
        include_unlinked=include_unlinked,
    )
    granularity = Granularity(deps.statistics_period)
    table = table_from_month_counts(counts, granularity=granularity, columns=STATUS_VALUES)
    return _with_rows(table, _periods(since, deps.clock(), granularity))


async def _released(
    conn: asyncpg.Connection,
    deps: Dependencies,
    key: tuple[UUID, UUID, str, str],
    current: CountTable,
) -> tuple[CountTable, datetime]:
    """The counts to publish from: the stored release unless k people changed since."""
    await store.lock_release(conn, key)
    previous = await store.load_release(conn, key)
    release = current_release(previous, current, minimum_k=deps.k_minimum, now=deps.clock())
    if release is not previous:
        await store.save_release(conn, key, release)
    return release.table, release.released_at


def _protected(deps: Dependencies, table: CountTable, k: int) -> ProtectedTable:
    minimum = protect(table, deps.k_minimum)
    if k == deps.k_minimum:
        return minimum
    # On top of the minimum's suppressions: both answers together reveal no more than one.
    return protect(table, k, also_suppress=minimum.suppressed)


def _result(
    kind: Kind,
    dimensions: frozenset[Dimension],
    granularity: Granularity,
    protected: ProtectedTable,
    *,
    k: int | None,
    released_at: datetime | None,
    labels: dict[str, str],
) -> AnswerStatistics:
    rates: list[CompletionRate] = []
    if kind is Kind.COMPLETION and Dimension.STATUS not in dimensions:
        rates = completion_rates(protected, by_period=Dimension.PERIOD in dimensions)
    return AnswerStatistics(
        kind=kind,
        dimensions=dimensions,
        granularity=granularity,
        k=k,
        released_at=released_at,
        figures=publish(protected, dimensions),
        total=protected.grand_total,
        value_labels=labels,
        rates=rates,
    )


async def answer_statistics(
    deps: Dependencies,
    actor: Actor,
    *,
    organisation_id: UUID,
    course_id: UUID,
    question_id: UUID,
    dimensions: list[str],
    k: int | None,
) -> AnswerStatistics:
    """A contact person's k-anonymous answer distribution (R5)."""
    _check_contact_person(actor, organisation_id)
    chosen = _parse(Kind.ANSWERS, dimensions)
    applied_k = _k_for(deps, k)
    granularity = Granularity(deps.statistics_period)
    async with transaction(deps.pool) as conn:
        current, labels = await _answer_table(
            conn,
            deps,
            organisation_id=organisation_id,
            course_id=course_id,
            question_id=question_id,
            include_unlinked=False,
        )
        key = (organisation_id, course_id, f"question:{question_id}", granularity.value)
        table, released_at = await _released(conn, deps, key, current)
    return _result(
        Kind.ANSWERS,
        chosen,
        granularity,
        _protected(deps, table, applied_k),
        k=applied_k,
        released_at=released_at,
        labels=labels,
    )


async def completion_statistics(
    deps: Dependencies,
    actor: Actor,
    *,
    organisation_id: UUID,
    course_id: UUID,
    dimensions: list[str],
    k: int | None,
) -> AnswerStatistics:
    """A contact person's k-anonymous completion counts and rates per course (R5)."""
    _check_contact_person(actor, organisation_id)
    chosen = _parse(Kind.COMPLETION, dimensions)
    applied_k = _k_for(deps, k)
    granularity = Granularity(deps.statistics_period)
    async with transaction(deps.pool) as conn:
        current = await _completion_table(
            conn, deps, organisation_id=organisation_id, course_id=course_id, include_unlinked=False
        )
        key = (organisation_id, course_id, "completion", granularity.value)
        table, released_at = await _released(conn, deps, key, current)
    return _result(
        Kind.COMPLETION,
        chosen,
        granularity,
        _protected(deps, table, applied_k),
        k=applied_k,
        released_at=released_at,
        labels={value: value for value in STATUS_VALUES},
    )


def _unprotected(table: CountTable) -> ProtectedTable:
    return ProtectedTable(table=table, k=1, suppressed=frozenset())


async def internal_answer_statistics(
    deps: Dependencies,
    actor: Actor,
    *,
    organisation_id: UUID,
    course_id: UUID,
    question_id: UUID,
    dimensions: list[str],
) -> AnswerStatistics:
    """Platform staff's full answer counts, erased people's anonymised answers included (R4)."""
    if not actor.is_staff:
        raise NotAllowed("platform staff only")
    chosen = _parse(Kind.ANSWERS, dimensions)
    async with transaction(deps.pool) as conn:
        table, labels = await _answer_table(
            conn,
            deps,
            organisation_id=organisation_id,
            course_id=course_id,
            question_id=question_id,
            include_unlinked=True,
        )
    granularity = Granularity(deps.statistics_period)
    return _result(
        Kind.ANSWERS,
        chosen,
        granularity,
        _unprotected(table),
        k=None,
        released_at=None,
        labels=labels,
    )


async def internal_completion_statistics(
    deps: Dependencies,
    actor: Actor,
    *,
    organisation_id: UUID,
    course_id: UUID,
    dimensions: list[str],
) -> AnswerStatistics:
    """Platform staff's full completion counts and rates (R4)."""
    if not actor.is_staff:
        raise NotAllowed("platform staff only")
    chosen = _parse(Kind.COMPLETION, dimensions)
    async with transaction(deps.pool) as conn:
        table = await _completion_table(
            conn, deps, organisation_id=organisation_id, course_id=course_id, include_unlinked=True
        )
    granularity = Granularity(deps.statistics_period)
    return _result(
        Kind.COMPLETION,
        chosen,
        granularity,
        _unprotected(table),
        k=None,
        released_at=None,
        labels={value: value for value in STATUS_VALUES},
    )
