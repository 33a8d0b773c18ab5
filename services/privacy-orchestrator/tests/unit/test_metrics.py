"""`metrics.observe_completion`: a completed request's receipt-to-completion time, by kind and
outcome; nothing for a request still open."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client import REGISTRY

from privacy_orchestrator.metrics import observe_completion

from .test_request import T0, issue, new_request, reply

NAME = "byggrygg_privacy_request_duration_seconds"


def sample(suffix: str, outcome: str, **extra: str) -> float:
    labels = {"kind": "erasure", "outcome": outcome, **extra}
    return REGISTRY.get_sample_value(NAME + suffix, labels) or 0.0


def test_a_completed_request_is_observed_with_its_duration() -> None:
    count, total = sample("_count", "partially_completed"), sample("_sum", "partially_completed")
    within_an_hour = sample("_bucket", "partially_completed", le="3600.0")
    request = new_request()
    issue(request)
    reply(request, "identity")
    reply(request, "courses", kept=True)
    reply(request, "consent")
    request.complete(T0 + timedelta(minutes=30))

    observe_completion(request)

    assert sample("_count", "partially_completed") == count + 1
    assert sample("_sum", "partially_completed") == total + 1800.0
    assert sample("_bucket", "partially_completed", le="3600.0") == within_an_hour + 1


def test_an_open_request_is_not_observed() -> None:
    before = sample("_count", "in_progress")
    request = new_request()
    issue(request)

    observe_completion(request)

    assert sample("_count", "in_progress") == before
    assert request.completed_at is None
