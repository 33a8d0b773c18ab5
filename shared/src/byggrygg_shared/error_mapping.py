"""A service's own errors as problem documents (RFC 9457): the machinery behind its table.

Each service keeps one table (``entrypoints/errors.py``) from its domain and service-layer
error types to ``(status, type slug, title, detail)``, so the status of every error is visible
in one place; `ErrorMapping` turns that table into exception handlers. Details are fixed
sentences, never the exception's text (which could one day carry input values). An error
under one of the mapped base classes but missing from the table is a bug and answers 500.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from byggrygg_shared.eventstore import ConcurrentAppend
from byggrygg_shared.problems import InternalError, Problem, log_unhandled, problem_response

# error type -> (status, type slug, title, detail)
ProblemTable = Mapping[type[Exception], tuple[int, str, str, str]]

# The platform's own errors that reach every service's handlers.
PLATFORM_PROBLEMS: Final[ProblemTable] = {
    ConcurrentAppend: (
        409,
        "edit-conflict",
        "Edit conflict",
        "The resource changed while your request was processed. Try again.",
    ),
}

_BEARER_CHALLENGE: Final = {"WWW-Authenticate": 'Bearer realm="byggrygg"'}


class ErrorMapping:
    """`problems` (plus `PLATFORM_PROBLEMS`) for every error under `bases`."""

    def __init__(self, problems: ProblemTable, *, bases: Iterable[type[Exception]]) -> None:
        self._problems = {**PLATFORM_PROBLEMS, **problems}
        self._bases = (*bases, *PLATFORM_PROBLEMS)

    def problem_for(self, error: Exception) -> Problem | None:
        """The problem an error stands for, or None if it is not in the table."""
        for error_type in type(error).__mro__:
            if error_type in self._problems:
                status, slug, title, detail = self._problems[error_type]
                headers = _BEARER_CHALLENGE if status == 401 else None
                return Problem(detail, status=status, title=title, type_=slug, headers=headers)
        return None

    async def _on_error(self, request: Request, error: Exception) -> JSONResponse:
        problem = self.problem_for(error)
        if problem is None:  # an error class missing from the table: a bug, reported as one
            log_unhandled(error, request.scope)
            problem = InternalError()
        return problem_response(problem, request)

    def install(self, app: FastAPI) -> None:
        """Register the table as exception handlers of `app`."""
        for error_type in self._bases:
            app.add_exception_handler(error_type, self._on_error)
