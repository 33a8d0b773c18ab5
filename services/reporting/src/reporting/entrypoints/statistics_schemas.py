"""HTTP models of the statistics API: what a statistics answer and the dimension list look like.

A figure never carries anything about a person: a period, a value (option id, option set or
scale value) with its label, and a count of distinct people, or ``null`` with
``suppressed: true`` when it is below k or protects one that is (R5).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from reporting.domain.statistics import Granularity, Kind
from reporting.service_layer.statistics import AnswerStatistics


class _Read(BaseModel):
    model_config = ConfigDict(frozen=True)


class FigureRead(_Read):
    period: str | None
    value: str | None
    label: str | None
    count: int | None
    suppressed: bool


class CompletionRateRead(_Read):
    period: str | None
    completed: int | None
    enrolled: int | None
    rate: float | None


class StatisticsRead(_Read):
    """One statistic: the figures the query's dimensions select from one protected table.

    ``period``/``value`` of a figure are ``null`` where the query did not break down by that
    dimension (a margin or the total). ``released_at`` is when the counts were taken: they are
    published again only after at least k people changed (contact persons' statistics only).
    """

    statistic: Kind
    dimensions: list[str]
    period_granularity: Granularity
    k: int | None
    suppression: bool
    released_at: datetime | None
    total: int | None
    figures: list[FigureRead]
    rates: list[CompletionRateRead]

    @classmethod
    def of(cls, result: AnswerStatistics) -> StatisticsRead:
        return cls(
            statistic=result.kind,
            dimensions=sorted(dimension.value for dimension in result.dimensions),
            period_granularity=result.granularity,
            k=result.k,
            suppression=result.k is not None,
            released_at=result.released_at,
            total=result.total,
            figures=[
                FigureRead(
                    period=figure.period,
                    value=figure.value,
                    label=None if figure.value is None else result.value_labels.get(figure.value),
                    count=figure.count,
                    suppressed=figure.suppressed,
                )
                for figure in result.figures
            ],
            rates=[
                CompletionRateRead(
                    period=rate.period,
                    completed=rate.completed,
                    enrolled=rate.enrolled,
                    rate=rate.rate,
                )
                for rate in result.rates
            ],
        )


class DimensionRead(_Read):
    name: str
    description: str


class StatisticDimensionsRead(_Read):
    statistic: Kind
    dimensions: list[DimensionRead]


class DimensionsRead(_Read):
    """What a statistics query may ask for in this deployment."""

    k_minimum: int
    period_granularity: Granularity
    statistics: list[StatisticDimensionsRead]
