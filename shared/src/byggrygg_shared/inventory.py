"""Data inventory as code (GDPR art. 30, DESIGN §4): declarations and the completeness check.

Each service declares, in its ``privacy.py``, every table column and event field that holds
personal data: what category it is, why it is kept, on what lawful basis, for how long, and what
erasure does to it. Columns and fields that look personal but are not say so, with a reason.
The privacy orchestrator plans requests from these declarations; ``check_inventory`` is what a
service's test calls so that a new personal column or event field cannot ship undeclared:

- a column or event field is *presumed personal* when its name contains a marker from
  ``PERSONAL_MARKERS`` or the contract lists it in ``personal_fields``; it must then be declared,
  either personal or non-personal with a reason;
- a declaration must name a column or field that exists (no stale declarations);
- an event field declared personal must be a key-ring token (listed in the contract's
  ``personal_fields``): events are immutable, so plaintext personal data in them could never be
  erased. The one exception is a plain *pseudonymous* value (``Erasure.UNLINK``): readable on
  purpose, in an event whose only link to the person is the pseudonym ``subject_ref``; erasure
  destroys everything that ties that pseudonym to a person, after which the value left in the
  event is anonymous. Pseudonymous data is personal data (GDPR recital 26), so it is declared
  personal, not non-personal;
- nothing may be declared twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import sqlalchemy as sa

from byggrygg_shared.contracts.base import IntegrationEvent

__all__ = [
    "ERASURE_MEANING",
    "PERSONAL_MARKERS",
    "DataCategory",
    "DataInventory",
    "Erasure",
    "EventField",
    "IncompleteInventory",
    "LawfulBasis",
    "Location",
    "NonPersonalField",
    "PersonalDataField",
    "TableColumn",
    "assert_inventory_complete",
    "check_inventory",
    "looks_personal",
]

# Substrings of column or field names that suggest personal data. Deliberately broad: a false
# hit costs one NonPersonalField line with a reason; a miss costs an undeclared personal field.
PERSONAL_MARKERS: Final = (
    "name",
    "email",
    "e_mail",
    "phone",
    "mobile",
    "address",
    "street",
    "postal",
    "zip",
    "city",
    "gender",
    "sex",
    "language",
    "birth",
    "password",
    "passwd",
    "payment",
    "account",
    "billing",
    "invoice",
    "iban",
    "card",
    "ssn",
    "national_id",
    "personnummer",
    "answer",
    "comment",
    "note",
    "summary",
    "text",
)


class DataCategory(StrEnum):
    """What kind of personal data a field holds."""

    IDENTITY = "identity"  # names
    CONTACT = "contact"  # e-mail, phone, postal address
    PROFILE = "profile"  # gender, language setting
    AUTHENTICATION = "authentication"  # password hashes
    PAYMENT = "payment"  # invoicing details
    CONTENT = "content"  # answers, correspondence, free text


class LawfulBasis(StrEnum):
    """Why processing is lawful. Data processed for a customer rests on its instruction."""

    CONTRACT = "contract"  # art. 6(1)(b)
    LEGAL_OBLIGATION = "legal_obligation"  # art. 6(1)(c), e.g. bookkeeping law
    LEGITIMATE_INTEREST = "legitimate_interest"  # art. 6(1)(f)
    CONSENT = "consent"  # art. 6(1)(a)
    CONTROLLER_INSTRUCTION = "controller_instruction"  # art. 28(3)(a): we are the processor


class Erasure(StrEnum):
    """What an erasure does to a field (R16)."""

    DELETE = "delete"  # the row or value is removed
    ANONYMISE = "anonymise"  # kept without any link to the person
    CRYPTO_SHRED = "crypto_shred"  # a key-ring token: the subject's key is destroyed
    KEEP_WITH_BASIS = "keep_with_basis"  # kept under a recorded basis and clock, then erased
    # A plain event field linked to the person only through the pseudonym subject_ref: the value
    # stays in the immutable event; erasure destroys every tie between pseudonym and person.
    UNLINK = "unlink"


# What each erasure kind means, for people reading the generated inventory.
ERASURE_MEANING: Final[dict[Erasure, str]] = {
    Erasure.DELETE: "the row or value is removed",
    Erasure.ANONYMISE: "kept without any link to the person",
    Erasure.CRYPTO_SHRED: "a key-ring token; the person's key is destroyed, so it is unreadable "
    "everywhere at once",
    Erasure.KEEP_WITH_BASIS: "kept under the recorded basis until its clock runs out, then erased",
    Erasure.UNLINK: "a plain value in an immutable event, linked to the person only through the "
    "pseudonym subject_ref; erasure destroys everything that ties the pseudonym to the person, "
    "after which the value is anonymous",
}


@dataclass(frozen=True, order=True)
class TableColumn:
    """A column of a service's own database."""

    table: str
    column: str

    def __str__(self) -> str:
        return f"column {self.table}.{self.column}"


@dataclass(frozen=True, order=True)
class EventField:
    """A top-level field of an integration event (by stable ``event_type``, all versions)."""

    event_type: str
    field: str

    def __str__(self) -> str:
        return f"event field {self.event_type}.{self.field}"


Location = TableColumn | EventField


@dataclass(frozen=True)
class PersonalDataField:
    """One place that holds personal data, and how the service treats it."""

    location: Location
    subject: str  # whose data: "user", "contact_person", "organisation", ...
    category: DataCategory
    purpose: str
    lawful_basis: LawfulBasis
    retention: str
    erasure: Erasure
    # Required when erasure is KEEP_WITH_BASIS: what allows keeping it, and until when.
    keep_basis: str | None = None


@dataclass(frozen=True)
class NonPersonalField:
    """A column or field whose name looks personal but whose content is not."""

    location: Location
    reason: str


@dataclass(frozen=True)
class DataInventory:
    """A service's record of processing activities, as data."""

    service: str
    personal: tuple[PersonalDataField, ...]
    non_personal: tuple[NonPersonalField, ...] = ()

    def declared(self) -> list[Location]:
        return [f.location for f in self.personal] + [f.location for f in self.non_personal]

    def personal_at(self, location: Location) -> PersonalDataField | None:
        return next((f for f in self.personal if f.location == location), None)


class IncompleteInventory(AssertionError):
    """The inventory misses, duplicates or invents declarations."""


def looks_personal(name: str) -> bool:
    """Whether a column or field name contains a personal-data marker."""
    lowered = name.lower()
    return any(marker in lowered for marker in PERSONAL_MARKERS)


def check_inventory(
    inventory: DataInventory,
    *,
    tables: Iterable[sa.Table],
    contracts: Iterable[type[IntegrationEvent]],
) -> list[str]:
    """Every problem with ``inventory`` against the service's tables and contracts; [] if none."""
    problems: list[str] = []
    contract_list = list(contracts)
    existing: set[Location] = set()
    presumed: list[tuple[Location, str]] = []
    encrypted: set[Location] = set()
    pseudonymous: set[str] = set()  # event types that name their person by subject_ref

    for table in tables:
        for column in table.columns:
            location: Location = TableColumn(table.name, column.name)
            existing.add(location)
            if looks_personal(column.name):
                presumed.append((location, "its name looks personal"))
    for contract in contract_list:
        if "subject_ref" in contract.model_fields:
            pseudonymous.add(contract.event_type)
        for field_name in contract.model_fields:
            location = EventField(contract.event_type, field_name)
            existing.add(location)
            if field_name in contract.personal_fields:
                encrypted.add(location)
                presumed.append((location, "the contract lists it in personal_fields"))
            elif looks_personal(field_name):
                presumed.append((location, "its name looks personal"))

    declared = inventory.declared()
    for location, count in sorted(Counter(declared).items(), key=lambda item: str(item[0])):
        if count > 1:
            problems.append(f"{location} is declared {count} times")
    declared_set = set(declared)
    for location, why in sorted(set(presumed), key=str):
        if location not in declared_set:
            problems.append(f"{location} is not declared, but {why}")
    for location in sorted(declared_set - existing, key=str):
        problems.append(f"{location} is declared but does not exist")

    for entry in inventory.personal:
        location = entry.location
        plain_event_field = (
            isinstance(location, EventField) and location in existing and location not in encrypted
        )
        if plain_event_field and entry.erasure is not Erasure.UNLINK:
            problems.append(
                f"{entry.location} holds personal data but is not a key-ring token "
                "(add it to the contract's personal_fields; only a pseudonymous value linked "
                "through subject_ref may stay plain, with erasure UNLINK)"
            )
        if entry.erasure is Erasure.UNLINK:
            if not isinstance(location, EventField):
                problems.append(f"{entry.location} is unlinked on erasure, but only events are")
            elif location.event_type not in pseudonymous:
                problems.append(
                    f"{entry.location} is unlinked on erasure, but its event has no subject_ref"
                )
        if entry.erasure is Erasure.KEEP_WITH_BASIS and not entry.keep_basis:
            problems.append(f"{entry.location} is kept on erasure but names no keep_basis")
    for non_personal in inventory.non_personal:
        if non_personal.location in encrypted:
            problems.append(
                f"{non_personal.location} is declared non-personal but its contract encrypts it"
            )
        if not non_personal.reason.strip():
            problems.append(f"{non_personal.location} is declared non-personal without a reason")
    return problems


def assert_inventory_complete(
    inventory: DataInventory,
    *,
    tables: Iterable[sa.Table],
    contracts: Iterable[type[IntegrationEvent]],
) -> None:
    """Raise ``IncompleteInventory`` listing every problem ``check_inventory`` finds."""
    problems = check_inventory(inventory, tables=tables, contracts=contracts)
    if problems:
        raise IncompleteInventory(
            f"data inventory of {inventory.service} is incomplete:\n  " + "\n  ".join(problems)
        )
