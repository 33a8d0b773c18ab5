"""Organisation numbers (R1): nine digits with a MOD11 check digit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from identity.domain.errors import InvalidOrganisationNumber
from identity.domain.orgnumber import OrganisationNumber, mod11_check_digit

# Real organisation numbers from the Brønnøysund register.
KNOWN_VALID = ["992797010", "923609016", "974760673", "971526920"]


@pytest.mark.parametrize("number", KNOWN_VALID)
def test_known_numbers_are_valid(number: str) -> None:
    assert OrganisationNumber(number).value == number


def test_written_forms_with_spaces_are_accepted() -> None:
    assert OrganisationNumber.parse(" 992 797 010 ").value == "992797010"


def test_remainder_zero_means_check_digit_zero() -> None:
    # 992797010: weighted sum 176 = 16 * 11, so the check digit is 0.
    assert mod11_check_digit("99279701") == 0


@pytest.mark.parametrize(
    "number",
    [
        "992797011",  # wrong check digit
        "992797019",
        "99279701",  # eight digits
        "9927970100",  # ten digits
        "99279701a",
        "",
        "٩٩٢٧٩٧٠١٠",  # Arabic-Indic digits are digits to str.isdigit, not to us
    ],
)
def test_invalid_numbers_are_rejected(number: str) -> None:
    with pytest.raises(InvalidOrganisationNumber):
        OrganisationNumber(number)


def _prefix_with_remainder_one() -> str:
    return next(
        f"{n:08d}" for n in range(10_000_000, 99_999_999) if mod11_check_digit(f"{n:08d}") is None
    )


def test_remainder_one_has_no_valid_check_digit() -> None:
    prefix = _prefix_with_remainder_one()
    for last in "0123456789":
        with pytest.raises(InvalidOrganisationNumber):
            OrganisationNumber(prefix + last)


@given(st.text(alphabet="0123456789", min_size=8, max_size=8))
def test_exactly_one_last_digit_is_valid_unless_remainder_is_one(prefix: str) -> None:
    valid = []
    for last in "0123456789":
        try:
            OrganisationNumber(prefix + last)
        except InvalidOrganisationNumber:
            continue
        valid.append(last)
    expected = mod11_check_digit(prefix)
    assert valid == ([] if expected is None else [str(expected)])
