"""k-anonymous statistics over answers and completions (R4, R5): pure rules, no I/O.

`tables` counts distinct people per (period, value) cell; `suppression` decides which figures
may be published (every published figure counts at least k people and no suppressed one can be
recovered from the others); `views` selects what one query returns; `releases` decides when a
table may be published again; `dimensions` declares what a query may break counts down by.
"""

from reporting.domain.statistics.dimensions import (
    COLUMN_DIMENSION,
    COMPLETED,
    NOT_COMPLETED,
    STATUS_VALUES,
    Dimension,
    Granularity,
    GroupSize,
    Kind,
    declared_dimensions,
    parse_dimensions,
    period_of,
)
from reporting.domain.statistics.errors import (
    GroupSizeBelowMinimum,
    StatisticsError,
    UndeclaredDimension,
)
from reporting.domain.statistics.releases import Release, current_release, people_changed
from reporting.domain.statistics.suppression import ProtectedTable, protect
from reporting.domain.statistics.tables import (
    GRAND_TOTAL,
    Contribution,
    CountTable,
    FigureKey,
    MonthCount,
    count_table,
    every_option_set,
    multiple_choice_value,
    table_from_month_counts,
)
from reporting.domain.statistics.views import (
    CompletionRate,
    PublishedFigure,
    completion_rates,
    grand_total,
    publish,
    selected_keys,
)

__all__ = [
    "COLUMN_DIMENSION",
    "COMPLETED",
    "GRAND_TOTAL",
    "NOT_COMPLETED",
    "STATUS_VALUES",
    "CompletionRate",
    "Contribution",
    "CountTable",
    "Dimension",
    "FigureKey",
    "Granularity",
    "GroupSize",
    "GroupSizeBelowMinimum",
    "Kind",
    "MonthCount",
    "ProtectedTable",
    "PublishedFigure",
    "Release",
    "StatisticsError",
    "UndeclaredDimension",
    "completion_rates",
    "count_table",
    "current_release",
    "declared_dimensions",
    "every_option_set",
    "grand_total",
    "multiple_choice_value",
    "parse_dimensions",
    "people_changed",
    "period_of",
    "protect",
    "publish",
    "selected_keys",
    "table_from_month_counts",
]
