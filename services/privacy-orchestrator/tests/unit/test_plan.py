"""The plan (R13, R15, R16): which command each participant gets, and which sub-processors
are asked with which corrected fields, from the register's data categories."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import get_args
from uuid import uuid4

import pytest

from byggrygg_shared.contracts.privacy import RectifiableField, RectifySubject
from byggrygg_shared.inventory import DataCategory
from privacy_orchestrator.domain.records import RequestKind
from privacy_orchestrator.service_layer.plan import (
    FIELD_CATEGORIES,
    plan_request,
    subprocessor_fields,
)

IDENTITY_AND_CONTACT = (DataCategory.IDENTITY, DataCategory.CONTACT)


def test_a_rectification_sends_every_participant_the_tokens() -> None:
    tokens = {"name": "enc:v1:a", "language": "enc:v1:b"}
    plan = plan_request(
        request_id=uuid4(),
        kind=RequestKind.RECTIFICATION,
        subject_ref="subj_" + "a" * 32,
        organisation_id=None,
        participants=("identity", "courses", "consent"),
        holds=(),
        issued_at=datetime(2026, 11, 25, tzinfo=UTC),
        corrections=tokens,
    )
    assert [type(c) for c in plan.commands] == [RectifySubject] * 3
    assert all(c.corrections == tokens for c in plan.commands if isinstance(c, RectifySubject))
    assert plan.holds == ()


@pytest.mark.parametrize("kind", [RequestKind.ERASURE, RequestKind.ACCESS])
def test_erasure_and_access_ask_every_sub_processor(kind: RequestKind) -> None:
    assert subprocessor_fields(kind, (DataCategory.PAYMENT,), []) == ()


@pytest.mark.parametrize(
    ("corrected", "expected"),
    [
        (["name", "phone", "language"], ("name", "phone")),
        (["email"], ("email",)),
        (["gender", "language"], None),  # profile only: HeiHallo never received it
    ],
)
def test_a_rectification_asks_who_received_the_fields_category(
    corrected: list[str], expected: tuple[str, ...] | None
) -> None:
    fields = subprocessor_fields(RequestKind.RECTIFICATION, IDENTITY_AND_CONTACT, corrected)
    assert fields == expected


def test_every_rectifiable_field_has_a_category() -> None:
    assert set(FIELD_CATEGORIES) == set(get_args(RectifiableField))
