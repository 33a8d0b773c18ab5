"""The inventory check: a personal event field is a key-ring token, or a pseudonymous plain
value (linked only through subject_ref) that erasure unlinks; nothing else may stay plain."""

from __future__ import annotations

from typing import ClassVar

import sqlalchemy as sa

from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.inventory import (
    ERASURE_MEANING,
    DataCategory,
    DataInventory,
    Erasure,
    EventField,
    LawfulBasis,
    Location,
    NonPersonalField,
    PersonalDataField,
    TableColumn,
    check_inventory,
)


class Answered(IntegrationEvent):
    """A test contract about a person (subject_ref), with a token and a plain answer."""

    event_type: ClassVar[str] = "no.byggrygg.test.Answered"
    source_service: ClassVar[str] = "test"
    topic: ClassVar[str] = "test.answers.v1"
    personal_fields: ClassVar[frozenset[str]] = frozenset({"free_text"})

    subject_ref: str
    free_text: str
    scale_value: int


class Tallied(IntegrationEvent):
    """A test contract about no one: no subject_ref."""

    event_type: ClassVar[str] = "no.byggrygg.test.Tallied"
    source_service: ClassVar[str] = "test"
    topic: ClassVar[str] = "test.answers.v1"

    scale_value: int


METADATA = sa.MetaData()
ANSWERS = sa.Table("answers", METADATA, sa.Column("scale_value", sa.Integer))
TOKEN = EventField(Answered.event_type, "free_text")
PLAIN = EventField(Answered.event_type, "scale_value")


def personal(location: Location, erasure: Erasure) -> PersonalDataField:
    return PersonalDataField(
        location=location,
        subject="learner",
        category=DataCategory.CONTENT,
        purpose="statistics",
        lawful_basis=LawfulBasis.CONTROLLER_INSTRUCTION,
        retention="while the licence lasts",
        erasure=erasure,
    )


def problems(
    *entries: PersonalDataField, contracts: tuple[type[IntegrationEvent], ...] = ()
) -> list[str]:
    inventory = DataInventory(
        service="test", personal=(personal(TOKEN, Erasure.CRYPTO_SHRED), *entries)
    )
    return check_inventory(inventory, tables=[], contracts=contracts or (Answered,))


def test_a_pseudonymous_plain_event_field_may_be_personal_with_unlink() -> None:
    assert problems(personal(PLAIN, Erasure.UNLINK)) == []


def test_a_plain_personal_event_field_with_another_erasure_is_rejected() -> None:
    for erasure in (Erasure.ANONYMISE, Erasure.DELETE, Erasure.CRYPTO_SHRED):
        [problem] = problems(personal(PLAIN, erasure))
        assert "is not a key-ring token" in problem, erasure


def test_unlink_needs_an_event_that_names_its_person_by_subject_ref() -> None:
    tallied = EventField(Tallied.event_type, "scale_value")
    [problem] = problems(personal(tallied, Erasure.UNLINK), contracts=(Answered, Tallied))
    assert "has no subject_ref" in problem
    assert str(tallied) in problem


def test_unlink_is_for_event_fields_not_table_columns() -> None:
    inventory = DataInventory(
        service="test",
        personal=(
            personal(TOKEN, Erasure.CRYPTO_SHRED),
            personal(TableColumn("answers", "scale_value"), Erasure.UNLINK),
        ),
    )
    [problem] = check_inventory(inventory, tables=[ANSWERS], contracts=(Answered,))
    assert "only events are" in problem


def test_a_token_field_cannot_be_declared_non_personal() -> None:
    inventory = DataInventory(
        service="test",
        personal=(),
        non_personal=(NonPersonalField(TOKEN, "it is only text"),),
    )
    [problem] = check_inventory(inventory, tables=[], contracts=(Answered,))
    assert "its contract encrypts it" in problem


def test_every_erasure_kind_says_what_it_means() -> None:
    assert set(ERASURE_MEANING) == set(Erasure)
    assert all(meaning.strip() for meaning in ERASURE_MEANING.values())
