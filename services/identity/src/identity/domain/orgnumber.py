"""Norwegian organisation numbers (R1): nine digits, the last a MOD11 check digit."""

from __future__ import annotations

from dataclasses import dataclass

from identity.domain.errors import InvalidOrganisationNumber

# Weights from Brønnøysundregistrene's definition of the organisation number.
_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)


def mod11_check_digit(first_eight: str) -> int | None:
    """The check digit for eight digits, or None when no valid digit exists (remainder 1)."""
    total = sum(int(digit) * weight for digit, weight in zip(first_eight, _WEIGHTS, strict=True))
    remainder = total % 11
    if remainder == 0:
        return 0
    if remainder == 1:
        return None
    return 11 - remainder


@dataclass(frozen=True)
class OrganisationNumber:
    """A validated organisation number, stored as its nine digits without spaces."""

    value: str

    def __post_init__(self) -> None:
        if len(self.value) != 9 or not self.value.isascii() or not self.value.isdigit():
            raise InvalidOrganisationNumber("an organisation number is exactly nine digits")
        expected = mod11_check_digit(self.value[:8])
        if expected is None or expected != int(self.value[8]):
            raise InvalidOrganisationNumber("the organisation number's check digit is wrong")

    @classmethod
    def parse(cls, raw: str) -> OrganisationNumber:
        """Accept the common written forms ("992 797 010", "992797010")."""
        return cls(raw.replace(" ", "").strip())

    def __str__(self) -> str:
        return self.value
