"""Map the service layer's errors to problem documents (RFC 9457).

One table, so the status of every error is visible in one place. Details are fixed sentences,
never the exception's text. Each capability (the statistics routers) adds its errors to
``_PROBLEMS`` (errors must subclass ``ServiceError``).
"""

from __future__ import annotations

from byggrygg_shared.error_mapping import ErrorMapping
from reporting.service_layer import errors as service
from reporting.service_layer import ops, statistics

# error type -> (status, type slug, title, detail)
_PROBLEMS: dict[type[Exception], tuple[int, str, str, str]] = {
    service.NotAllowed: (403, "forbidden", "Forbidden", "Your role does not allow this."),
    ops.InvalidCursor: (
        422,
        "invalid-cursor",
        "Invalid cursor",
        "`after` must be the `next` cursor of an earlier page, unchanged.",
    ),
    # --- statistics (k-anonymous statistics lane)
    statistics.NotThisOrganisationsContactPerson: (
        403,
        "forbidden",
        "Forbidden",
        "Only the organisation's contact person or platform staff may see its statistics.",
    ),
    statistics.StatisticsNotFound: (
        404,
        "not-found",
        "Not found",
        "The organisation has no such course, or the course no such question.",
    ),
    statistics.QuestionHasNoStatistics: (
        404,
        "no-statistics",
        "No statistics",
        "Free-text questions have no statistics: free text is never counted or shown.",
    ),
    statistics.DimensionNotDeclared: (
        400,
        "undeclared-dimension",
        "Undeclared dimension",
        "A dimension is not declared for this statistic; see GET /statistics/dimensions.",
    ),
    statistics.KBelowMinimum: (
        400,
        "k-below-minimum",
        "Group size below the minimum",
        "k may not be smaller than this deployment's minimum group size.",
    ),
}

ERROR_MAPPING = ErrorMapping(_PROBLEMS, bases=(service.ServiceError,))
problem_for = ERROR_MAPPING.problem_for
