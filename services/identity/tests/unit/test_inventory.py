"""The data inventory covers every personal column and event field of identity (DESIGN §4),
and the check catches what it must."""

from __future__ import annotations

from typing import ClassVar

import pytest
import sqlalchemy as sa

from byggrygg_shared.contracts import all_contracts
from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.inventory import (
    DataCategory,
    DataInventory,
    Erasure,
    EventField,
    IncompleteInventory,
    LawfulBasis,
    NonPersonalField,
    PersonalDataField,
    TableColumn,
    assert_inventory_complete,
    check_inventory,
)
from identity.adapters.tables import METADATA
from identity.privacy import EMITTED_CONTRACTS, INVENTORY


def test_identity_inventory_is_complete() -> None:
    assert_inventory_complete(
        INVENTORY, tables=METADATA.tables.values(), contracts=EMITTED_CONTRACTS
    )


def test_every_identity_contract_is_covered() -> None:
    registered = {c for c in all_contracts() if "identity" in c.source_services()}
    assert registered == set(EMITTED_CONTRACTS)


def test_every_personal_event_field_is_erased_by_destroying_a_key_or_kept_with_a_basis() -> None:
    for entry in INVENTORY.personal:
        if isinstance(entry.location, EventField):
            assert entry.erasure in (Erasure.CRYPTO_SHRED, Erasure.KEEP_WITH_BASIS), entry


# --- the check itself can fail -------------------------------------------------------------


def _declared(location: TableColumn | EventField) -> PersonalDataField:
    return PersonalDataField(
        location=location,
        subject="user",
        category=DataCategory.CONTACT,
        purpose="test",
        lawful_basis=LawfulBasis.CONTRACT,
        retention="test",
        erasure=Erasure.DELETE,
    )


def _table_with(*columns: str) -> sa.Table:
    return sa.Table(
        "fake_people",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        *(sa.Column(column, sa.Text) for column in columns),
    )


class FakeEvent(IntegrationEvent):
    event_type: ClassVar[str] = "no.byggrygg.test.FakeHappened"
    source_service: ClassVar[str] = "test"
    topic: ClassVar[str] = "test.fake.v1"
    personal_fields: ClassVar[frozenset[str]] = frozenset({"secret_note"})

    subject_ref: str
    email: str
    secret_note: str


def test_an_undeclared_email_column_fails() -> None:
    empty = DataInventory(service="fake", personal=())
    problems = check_inventory(empty, tables=[_table_with("email")], contracts=[])
    assert problems == ["column fake_people.email is not declared, but its name looks personal"]
    with pytest.raises(IncompleteInventory, match=r"fake_people\.email"):
        assert_inventory_complete(empty, tables=[_table_with("email")], contracts=[])


def test_a_declared_column_passes_and_an_innocent_one_needs_nothing() -> None:
    inventory = DataInventory(
        service="fake", personal=(_declared(TableColumn("fake_people", "email")),)
    )
    assert check_inventory(inventory, tables=[_table_with("email", "status")], contracts=[]) == []


def test_a_declaration_of_a_missing_column_fails() -> None:
    inventory = DataInventory(
        service="fake", personal=(_declared(TableColumn("fake_people", "phone")),)
    )
    assert check_inventory(inventory, tables=[_table_with()], contracts=[]) == [
        "column fake_people.phone is declared but does not exist"
    ]


def test_undeclared_event_fields_fail_by_marker_and_by_personal_fields() -> None:
    problems = check_inventory(
        DataInventory(service="fake", personal=()), tables=[], contracts=[FakeEvent]
    )
    assert problems == [
        "event field no.byggrygg.test.FakeHappened.email is not declared, but its name looks "
        "personal",
        "event field no.byggrygg.test.FakeHappened.secret_note is not declared, but the contract "
        "lists it in personal_fields",
    ]


def test_a_personal_event_field_in_plaintext_fails() -> None:
    email = EventField(FakeEvent.event_type, "email")
    note = EventField(FakeEvent.event_type, "secret_note")
    inventory = DataInventory(service="fake", personal=(_declared(email), _declared(note)))
    assert check_inventory(inventory, tables=[], contracts=[FakeEvent]) == [
        f"{email} holds personal data but is not a key-ring token "
        "(add it to the contract's personal_fields; only a pseudonymous value linked "
        "through subject_ref may stay plain, with erasure UNLINK)"
    ]


def test_non_personal_needs_a_reason_and_cannot_cover_an_encrypted_field() -> None:
    inventory = DataInventory(
        service="fake",
        personal=(),
        non_personal=(
            NonPersonalField(TableColumn("fake_people", "name"), " "),
            NonPersonalField(EventField(FakeEvent.event_type, "secret_note"), "it is not"),
            NonPersonalField(EventField(FakeEvent.event_type, "email"), "a shared mailbox"),
        ),
    )
    problems = check_inventory(inventory, tables=[_table_with("name")], contracts=[FakeEvent])
    assert problems == [
        "column fake_people.name is declared non-personal without a reason",
        f"{EventField(FakeEvent.event_type, 'secret_note')} is declared non-personal but its "
        "contract encrypts it",
    ]


def test_keeping_needs_a_basis_and_duplicates_fail() -> None:
    location = TableColumn("fake_people", "email")
    kept = PersonalDataField(
        location=location,
        subject="user",
        category=DataCategory.CONTACT,
        purpose="test",
        lawful_basis=LawfulBasis.LEGAL_OBLIGATION,
        retention="test",
        erasure=Erasure.KEEP_WITH_BASIS,
    )
    inventory = DataInventory(service="fake", personal=(kept, _declared(location)))
    assert check_inventory(inventory, tables=[_table_with("email")], contracts=[]) == [
        "column fake_people.email is declared 2 times",
        "column fake_people.email is kept on erasure but names no keep_basis",
    ]
