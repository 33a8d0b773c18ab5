"""Sub-processor rules without I/O: organisation numbers (MOD11), back-off, what an HTTP answer
means for a delivery."""

from __future__ import annotations

from datetime import timedelta

import pytest

from privacy_orchestrator.domain.errors import InvalidSubProcessor
from privacy_orchestrator.domain.subprocessors import (
    AttemptResult,
    DeliveryPolicy,
    organisation_number,
)


@pytest.mark.parametrize("raw", ["992 797 010", "992797010", " 923609016 "])
def test_valid_organisation_numbers_are_normalised(raw: str) -> None:
    assert organisation_number(raw) == raw.replace(" ", "")


@pytest.mark.parametrize(
    "raw", ["992797011", "99279701", "9927970100", "abcdefghi", "", "\uff1992797010"]
)
def test_invalid_organisation_numbers_are_refused(raw: str) -> None:
    with pytest.raises(InvalidSubProcessor):
        organisation_number(raw)


def test_backoff_doubles_and_is_capped() -> None:
    policy = DeliveryPolicy(first_backoff=timedelta(seconds=1), max_backoff=timedelta(seconds=5))
    assert [policy.backoff(n).total_seconds() for n in range(1, 6)] == [1, 2, 4, 5, 5]


@pytest.mark.parametrize(
    ("status", "accepted", "refused"),
    [
        (202, True, False),
        (204, True, False),
        (409, True, False),  # already accepted under this webhook-id
        (401, False, True),
        (422, False, True),
        (429, False, False),
        (408, False, False),
        (500, False, False),
        (503, False, False),
        (None, False, False),  # a network error
    ],
)
def test_what_an_answer_means(status: int | None, accepted: bool, refused: bool) -> None:
    result = AttemptResult(status=status, error=None if status else "ConnectError")
    assert (result.accepted, result.refused) == (accepted, refused)
