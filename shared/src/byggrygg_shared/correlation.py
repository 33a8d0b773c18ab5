"""Carries the correlation id of the work in progress (an HTTP request or a consumed event).

One `ContextVar` shared by logging (every log line carries it), problem documents (the
`request_id` member) and anything that starts new work on behalf of the current one (for
example event metadata), so that one id follows a request across services (DESIGN §6).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

correlation_id: ContextVar[str | None] = ContextVar("byggrygg_correlation_id", default=None)


def current_correlation_id() -> str | None:
    """The correlation id bound in this context, or None outside any request or message."""
    return correlation_id.get()


@contextmanager
def bound_correlation_id(value: str) -> Iterator[str]:
    """Bind `value` as the correlation id for the duration of the `with` block."""
    token = correlation_id.set(value)
    try:
        yield value
    finally:
        correlation_id.reset(token)
