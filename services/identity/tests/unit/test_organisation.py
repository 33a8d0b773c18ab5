"""The Organisation aggregate (R1, R2)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from identity.domain.errors import (
    ContractAlreadyEnded,
    DuplicateRetentionReason,
    InvalidContractPeriod,
    PersonAlreadyListed,
)
from identity.domain.organisation import ContractStatus, Organisation, add_years
from identity.domain.orgnumber import OrganisationNumber
from identity.domain.values import (
    PaymentInformation,
    PersonContact,
    PostalAddress,
    RetentionClaim,
    RetentionReason,
    Role,
)

STAFF = "staff-1"
MakeOrganisation = Callable[..., Organisation]


def state_of(aggregate: object) -> dict[str, Any]:
    return {key: value for key, value in vars(aggregate).items() if key != "pending"}


def test_registration_raises_one_event_with_normalised_values(
    make_organisation: MakeOrganisation,
) -> None:
    organisation = make_organisation()
    assert organisation.version == 1
    assert organisation.loaded_version == 0
    [event] = organisation.pending
    assert isinstance(event, Organisation.Registered)
    assert event.name == "Byggmester Hansen AS"
    assert event.email == "post@hansen.example.no"
    assert organisation.status is ContractStatus.ACTIVE


def test_contract_cannot_be_planned_to_end_before_it_starts(
    make_organisation: MakeOrganisation,
) -> None:
    with pytest.raises(InvalidContractPeriod):
        Organisation.register(
            organisation_id=make_organisation().id,
            name="X AS",
            organisation_number=OrganisationNumber("992797010"),
            phone="12345678",
            email="x@example.no",
            postal_address=PostalAddress("Gate 1", "0001", "Oslo"),
            payment=PaymentInformation("f@example.no"),
            contract_starts_on=date(2024, 1, 2),
            contract_ends_on=date(2024, 1, 1),
            data_key_ref="subj_1",
            billing_key_ref="subj_2",
            registered_by=STAFF,
        )


def test_a_person_is_listed_once_per_organisation(make_organisation: MakeOrganisation) -> None:
    organisation = make_organisation()
    organisation.list_person(
        role=Role.CONTACT_PERSON,
        contact=PersonContact("Ola", "ola@hansen.example.no"),
        subject_ref="subj_ola",
        listed_by=STAFF,
    )
    with pytest.raises(PersonAlreadyListed):
        organisation.list_person(
            role=Role.ORG_ADMIN,
            contact=PersonContact("Ola N", " OLA@hansen.example.no"),
            subject_ref="subj_other",
            listed_by=STAFF,
        )
    assert set(organisation.people) == {"subj_ola"}


def test_only_contact_persons_and_admins_are_listed(make_organisation: MakeOrganisation) -> None:
    with pytest.raises(ValueError, match="lists contact persons and admins"):
        make_organisation().list_person(
            role=Role.LEARNER,
            contact=PersonContact("A", "a@example.no"),
            subject_ref="subj_a",
            listed_by=STAFF,
        )


def test_ending_the_contract_records_each_retention_clock(
    make_organisation: MakeOrganisation,
) -> None:
    organisation = make_organisation()
    organisation.end_contract(
        ended_on=date(2025, 6, 30),
        reasons=[RetentionReason.LEGAL_DISPUTE, RetentionReason.BOOKKEEPING],
        bookkeeping_years=5,
        ended_by=STAFF,
    )
    assert organisation.status is ContractStatus.ENDED
    assert organisation.retention == (
        RetentionClaim(RetentionReason.BOOKKEEPING, date(2030, 6, 30)),
        RetentionClaim(RetentionReason.LEGAL_DISPUTE, None),
    )


def test_no_retention_reason_means_nothing_is_kept(make_organisation: MakeOrganisation) -> None:
    organisation = make_organisation()
    organisation.end_contract(
        ended_on=date(2025, 1, 1), reasons=[], bookkeeping_years=5, ended_by=STAFF
    )
    assert organisation.retention == ()


def test_retention_reasons_are_given_once(make_organisation: MakeOrganisation) -> None:
    with pytest.raises(DuplicateRetentionReason):
        make_organisation().end_contract(
            ended_on=date(2025, 1, 1),
            reasons=[RetentionReason.BOOKKEEPING, RetentionReason.BOOKKEEPING],
            bookkeeping_years=5,
            ended_by=STAFF,
        )


def test_an_ended_contract_cannot_end_again_or_take_new_people(
    make_organisation: MakeOrganisation,
) -> None:
    organisation = make_organisation()
    organisation.end_contract(
        ended_on=date(2025, 1, 1), reasons=[], bookkeeping_years=5, ended_by=STAFF
    )
    with pytest.raises(ContractAlreadyEnded):
        organisation.end_contract(
            ended_on=date(2025, 1, 2), reasons=[], bookkeeping_years=5, ended_by=STAFF
        )
    with pytest.raises(ContractAlreadyEnded):
        organisation.list_person(
            role=Role.ORG_ADMIN,
            contact=PersonContact("A", "a@example.no"),
            subject_ref="subj_a",
            listed_by=STAFF,
        )


def test_a_contract_cannot_end_before_it_started(make_organisation: MakeOrganisation) -> None:
    with pytest.raises(InvalidContractPeriod):
        make_organisation(starts_on=date(2024, 5, 1)).end_contract(
            ended_on=date(2024, 4, 30), reasons=[], bookkeeping_years=5, ended_by=STAFF
        )


def test_bookkeeping_clock_from_a_leap_day() -> None:
    assert add_years(date(2024, 2, 29), 5) == date(2029, 2, 28)
    assert add_years(date(2024, 2, 29), 4) == date(2028, 2, 29)


def test_replaying_the_events_gives_the_same_organisation(
    make_organisation: MakeOrganisation,
) -> None:
    organisation = make_organisation()
    organisation.list_person(
        role=Role.ORG_ADMIN,
        contact=PersonContact("Ola", "ola@example.no", "+4799999999"),
        subject_ref="subj_ola",
        listed_by=STAFF,
    )
    organisation.end_contract(
        ended_on=date(2025, 1, 1),
        reasons=[RetentionReason.OUTSTANDING_DEBT],
        bookkeeping_years=5,
        ended_by=STAFF,
    )
    replayed = Organisation.replay(organisation.pending)
    assert state_of(replayed) == state_of(organisation)
    assert replayed.version == 3
    assert replayed.pending == []


def test_an_empty_history_is_not_an_organisation() -> None:
    with pytest.raises(ValueError, match="empty history"):
        Organisation.replay([])
