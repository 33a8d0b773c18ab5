"""The orchestrator's own Prometheus metrics: how long data-subject requests take (R13, R19).

``byggrygg_privacy_request_duration_seconds{kind, outcome}`` is a histogram of the seconds
from a request's receipt to its completion, observed when the request completes
(`observe_completion`, called where `DataSubjectRequest.complete` is). The legal deadline is
one month (art. 12(3)): the buckets reach past it, so an SLO panel can count requests that
took longer than a day, a week or the month.

At least once: the observation happens inside the transaction that saves the completion
(the only place that knows the request just completed). Should that transaction roll back
and the reply be recorded again, the completion is observed twice; this is rare (a failed
commit) and only ever over-counts, which a dashboard of durations tolerates. Rejected
requests never complete and are not observed here (their count is in the request view).

Labels are the request kind (access, rectification, erasure) and the outcome (completed,
partially_completed): bounded, never a subject or request id.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import Histogram

from privacy_orchestrator.domain.request import DataSubjectRequest

_HOUR: Final = 3600.0
_DAY: Final = 24 * _HOUR

request_duration_seconds: Final = Histogram(
    "byggrygg_privacy_request_duration_seconds",
    "Seconds from a data-subject request's receipt to its completion, by kind and outcome.",
    ["kind", "outcome"],
    buckets=(
        0.5,
        1.0,
        5.0,
        30.0,
        60.0,
        300.0,
        _HOUR,
        6 * _HOUR,
        _DAY,
        7 * _DAY,
        30 * _DAY,
        60 * _DAY,
    ),
)


def observe_completion(request: DataSubjectRequest) -> None:
    """Observe `request`'s receipt-to-completion time; nothing if it has not completed."""
    if request.completed_at is None:
        return
    seconds = (request.completed_at - request.received_at).total_seconds()
    request_duration_seconds.labels(request.kind.value, request.state.value).observe(
        max(0.0, seconds)
    )
