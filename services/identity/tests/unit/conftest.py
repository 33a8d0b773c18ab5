"""Fixtures of identity's unit tests: builders of domain objects (no I/O).

Tests get the builders as fixtures (test modules cannot import each other under
`--import-mode=importlib`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest

from identity.domain.organisation import Organisation
from identity.domain.orgnumber import OrganisationNumber
from identity.domain.user import Profile, User
from identity.domain.values import Language, PaymentInformation, PostalAddress, Role

STAFF = "staff-1"
ACCEPTED_AT = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def new_organisation(*, starts_on: date = date(2024, 1, 1)) -> Organisation:
    return Organisation.register(
        organisation_id=uuid4(),
        name=" Byggmester Hansen AS ",
        organisation_number=OrganisationNumber("992797010"),
        phone="+47 22 33 44 55",
        email="Post@Hansen.example.no",
        postal_address=PostalAddress(street="Storgata 1", postal_code="0155", city="Oslo"),
        payment=PaymentInformation(invoice_email="faktura@hansen.example.no"),
        contract_starts_on=starts_on,
        contract_ends_on=None,
        data_key_ref="subj_" + "a" * 32,
        billing_key_ref="subj_" + "b" * 32,
        registered_by=STAFF,
    )


def profile(**changes: Any) -> Profile:
    values: dict[str, Any] = {
        "name": "Kari Nordmann",
        "email": "kari@hansen.example.no",
        "phone": None,
        "gender": None,
        "language": Language.BOKMAL,
    }
    values.update(changes)
    return Profile(**values)


def new_user(*, organisation_id: UUID | None = None) -> User:
    return User.accept_terms(
        user_id=uuid4(),
        subject_ref="subj_" + "c" * 32,
        organisation_id=organisation_id or uuid4(),
        roles=frozenset({Role.LEARNER}),
        profile=profile(),
        accepted_version="2024-1",
        current_version="2024-1",
        accepted_at=ACCEPTED_AT,
    )


def state_of(aggregate: object) -> dict[str, Any]:
    """Everything an aggregate knows except its not-yet-saved events."""
    return {key: value for key, value in vars(aggregate).items() if key != "pending"}


@pytest.fixture
def make_organisation() -> Callable[..., Organisation]:
    return new_organisation


@pytest.fixture
def make_user() -> Callable[..., User]:
    return new_user


@pytest.fixture
def make_profile() -> Callable[..., Profile]:
    return profile
