"""If-Match carries back the ETag a GET gave; absent (where required) is 428, malformed 400."""

from __future__ import annotations

import pytest

from byggrygg_shared.preconditions import (
    PreconditionRequired,
    etag,
    expected_version,
    optional_expected_version,
)
from byggrygg_shared.problems import BadRequest


def test_the_etag_of_a_version_reads_back_as_that_version() -> None:
    assert etag(7) == '"7"'
    assert expected_version(etag(7)) == 7


@pytest.mark.parametrize("header", ['"3"', 'W/"3"', "3", ' "3" '])
def test_strong_weak_and_bare_forms_are_accepted(header: str) -> None:
    assert expected_version(header) == 3


@pytest.mark.parametrize("header", ["*", '"abc"', '"-1"', "", '"3", "4"'])
def test_anything_but_one_of_our_etags_is_a_bad_request(header: str) -> None:
    with pytest.raises(BadRequest):
        optional_expected_version(header)


def test_a_missing_required_if_match_is_precondition_required() -> None:
    with pytest.raises(PreconditionRequired) as raised:
        expected_version(None)
    assert raised.value.status == 428
    assert raised.value.type_uri.endswith("/if-match-required")


def test_an_optional_if_match_may_be_left_out() -> None:
    assert optional_expected_version(None) is None
