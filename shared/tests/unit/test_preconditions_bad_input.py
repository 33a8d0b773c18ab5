"""Regression: an If-Match that only looks numeric is a 400, never a 500 (found by
tests/security: "²" passes str.isdigit(), and int() refuses it and numbers over 4300 digits)."""

from __future__ import annotations

import pytest

from byggrygg_shared.preconditions import expected_version, optional_expected_version
from byggrygg_shared.problems import BadRequest


@pytest.mark.parametrize(
    "header",
    [
        '"\u00b2"',  # superscript two: a latin-1 header byte, and str.isdigit() is true
        "\u00b9",
        '"\u0663"',  # Arabic-Indic three
        '"' + "9" * 5000 + '"',  # over int()'s digit limit
        "9" * 19,  # more than a stream version can be
    ],
)
def test_an_if_match_that_only_looks_like_a_version_is_a_bad_request(header: str) -> None:
    with pytest.raises(BadRequest):
        optional_expected_version(header)
    with pytest.raises(BadRequest):
        expected_version(header)


def test_the_largest_version_accepted_still_reads_back() -> None:
    assert expected_version('"' + "9" * 18 + '"') == 10**18 - 1
