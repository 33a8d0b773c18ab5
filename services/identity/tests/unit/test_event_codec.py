"""Domain events <-> contracts: personal fields leave as ciphertext and come back as plaintext."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.eventstore import StoredEvent
from byggrygg_shared.keyring import ERASED, Erased
from identity.adapters.event_codec import (
    SubjectErased,
    decode_organisation_event,
    decode_user_event,
    encode_organisation_event,
    encode_user_event,
)
from identity.domain.organisation import Organisation
from identity.domain.user import ProfileCorrection, ProfileField, User
from identity.domain.values import Gender, PersonContact, RetentionReason, Role


class FakeCipher:
    """Reversible fake of the key ring: "tok:<subject>:<n>", shreddable per subject."""

    def __init__(self) -> None:
        self.plain: dict[str, tuple[str, str]] = {}
        self.shredded: set[str] = set()

    async def encrypt(self, subject_ref: str, plaintext: str) -> str:
        token = f"tok:{subject_ref}:{len(self.plain)}"
        self.plain[token] = (subject_ref, plaintext)
        return token

    async def decrypt(self, subject_ref: str, token: str) -> str | Erased:
        owner, plaintext = self.plain[token]
        assert owner == subject_ref, "decrypted under the wrong subject"
        return ERASED if subject_ref in self.shredded else plaintext


def stored(contract: IntegrationEvent, version: int) -> StoredEvent:
    """The row the event store would hold (payload through JSON, as in PostgreSQL)."""
    return StoredEvent(
        global_position=version,
        stream_id="s",
        version=version,
        event_type=type(contract).event_type,
        event_version=type(contract).event_version,
        payload=json.loads(contract.model_dump_json()),
        metadata={},
        recorded_at=datetime.now(UTC),
        published_at=None,
    )


PLAINTEXT = (
    "Kari Nordmann",
    "kari@hansen.example.no",
    "post@hansen.example.no",
    "faktura@hansen.example.no",
    "Storgata 1",
    "+47 22 33 44 55",
    "female",
)


def assert_no_plaintext(contract: IntegrationEvent) -> None:
    text = contract.model_dump_json()
    for value in PLAINTEXT:
        assert value not in text
    for field in type(contract).personal_fields:
        value = getattr(contract, field)
        assert value is None or value.startswith("tok:"), field


async def test_organisation_events_round_trip(
    make_organisation: Callable[..., Organisation],
) -> None:
    cipher = FakeCipher()
    organisation = make_organisation()
    organisation.list_person(
        role=Role.ORG_ADMIN,
        contact=PersonContact("Kari Nordmann", "kari@hansen.example.no", "+4799887766"),
        subject_ref="subj_kari",
        listed_by="staff",
    )
    organisation.list_person(
        role=Role.CONTACT_PERSON,
        contact=PersonContact("Ola", "ola@hansen.example.no"),
        subject_ref="subj_ola",
        listed_by="staff",
    )
    organisation.end_contract(
        ended_on=date(2025, 1, 1),
        reasons=[RetentionReason.BOOKKEEPING],
        bookkeeping_years=5,
        ended_by="staff",
    )
    contracts = [await encode_organisation_event(e, cipher) for e in organisation.pending]
    assert [type(c).__name__ for c in contracts] == [
        "OrganisationRegistered",
        "AdminAdded",
        "ContactPersonAdded",
        "ContractEnded",
    ]
    for contract in contracts:
        assert_no_plaintext(contract)
    decoded = [
        await decode_organisation_event(stored(c, i), cipher)
        for i, c in enumerate(contracts, start=1)
    ]
    assert decoded == organisation.pending


async def test_shredded_organisation_data_reads_as_erased(
    make_organisation: Callable[..., Organisation],
) -> None:
    cipher = FakeCipher()
    organisation = make_organisation()
    [registered] = organisation.pending
    assert isinstance(registered, Organisation.Registered)
    contract = await encode_organisation_event(registered, cipher)
    cipher.shredded.add(registered.data_key_ref)
    decoded = await decode_organisation_event(stored(contract, 1), cipher)
    assert isinstance(decoded, Organisation.Registered)
    assert decoded.email == "[erased]"
    assert decoded.postal_address.street == "[erased]"
    # Payment information has its own key scope (R2: kept for bookkeeping).
    assert decoded.payment.invoice_email == "faktura@hansen.example.no"
    assert decoded.name == registered.name


async def test_user_events_round_trip(make_user: Callable[..., User]) -> None:
    cipher = FakeCipher()
    user = make_user()
    user.correct_profile(
        ProfileCorrection(
            fields=frozenset({ProfileField.GENDER, ProfileField.PHONE}),
            gender=Gender.FEMALE,
            phone="+47 22 33 44 55",
        ),
        corrected_by="self",
    )
    licence = uuid4()
    user.grant_licence(licence_id=licence, granted_by="admin")
    user.revoke_licence(licence_id=licence, revoked_by="admin")
    user.cancel_subscription()
    contracts = [await encode_user_event(e, cipher) for e in user.pending]
    for contract in contracts:
        assert_no_plaintext(contract)
    corrected = contracts[1].model_dump()
    assert corrected["corrected_fields"] == ["gender", "phone"]
    assert corrected["name"] is None
    decoded = [
        await decode_user_event(stored(c, i), cipher) for i, c in enumerate(contracts, start=1)
    ]
    assert decoded == user.pending


async def test_an_erased_user_cannot_be_read(make_user: Callable[..., User]) -> None:
    cipher = FakeCipher()
    user = make_user()
    contract = await encode_user_event(user.pending[0], cipher)
    cipher.shredded.add(user.subject_ref)
    with pytest.raises(SubjectErased):
        await decode_user_event(stored(contract, 1), cipher)
