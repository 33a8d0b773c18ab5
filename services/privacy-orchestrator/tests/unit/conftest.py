"""Fixtures of the orchestrator's unit tests: record content builders and signers (no I/O).

Tests get the builders as fixtures (test modules cannot import each other under
`--import-mode=importlib`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from privacy_orchestrator.domain.canonical import GENESIS_HASH
from privacy_orchestrator.domain.chain import SealedRecord, seal
from privacy_orchestrator.domain.records import (
    Actor,
    ActorRole,
    Evidence,
    EvidenceAction,
    KeptData,
    Notice,
    Outcome,
    ParticipantReport,
    RecordContent,
    RequestKind,
    SubProcessorReport,
)
from privacy_orchestrator.domain.signing import RecordSigner

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def sample_content(**changes: Any) -> RecordContent:
    """An erasure approved by the contact person, with one hold and HeiHallo's confirmation."""
    organisation = uuid4()
    values: dict[str, Any] = {
        "request_id": uuid4(),
        "kind": RequestKind.ERASURE,
        "received_at": T0,
        "deadline": date(2026, 12, 2),
        "requested_by": Actor(ActorRole.DATA_SUBJECT, at=T0),
        "approved_by": Actor(
            ActorRole.CONTACT_PERSON, at=T0 + timedelta(hours=2), organisation_id=organisation
        ),
        "participants": (
            ParticipantReport(
                participant="identity",
                command="erase",
                outcome=Outcome.COMPLETED,
                sent_at=T0 + timedelta(hours=2),
                replied_at=T0 + timedelta(hours=2, seconds=1),
                evidence=(
                    Evidence("table users.email", EvidenceAction.ERASED, 1),
                    Evidence("event field UserCreated.name", EvidenceAction.CRYPTO_SHREDDED, 3),
                ),
            ),
            ParticipantReport(
                participant="consent",
                command="erase",
                outcome=Outcome.PARTIALLY_COMPLETED,
                sent_at=T0 + timedelta(hours=2),
                replied_at=T0 + timedelta(hours=2, seconds=2),
                evidence=(
                    Evidence(
                        "table correspondence.body",
                        EvidenceAction.KEPT,
                        2,
                        basis="open_complaint",
                        keep_until=None,
                    ),
                ),
            ),
        ),
        "sub_processors": (
            SubProcessorReport(
                name="HeiHallo",
                organisation_number="992797010",
                webhook_id="msg_2fQ8",
                sent_at=T0 + timedelta(hours=2),
                attempts=2,
                outcome=Outcome.COMPLETED,
                confirmed_at=T0 + timedelta(hours=2, minutes=1),
            ),
        ),
        "kept": (KeptData("consent", "table correspondence.body", "open_complaint"),),
        "notices": (Notice("kept_data_notice", T0 + timedelta(hours=3), "mail-7f1e2a"),),
        "outcome": Outcome.PARTIALLY_COMPLETED,
        "reason": "held_by_open_complaint",
        "completed_at": T0 + timedelta(hours=3),
    }
    values.update(changes)
    return RecordContent(**values)


def sealed_chain(signer: RecordSigner, count: int) -> list[SealedRecord]:
    chain: list[SealedRecord] = []
    prev = GENESIS_HASH
    for sequence in range(1, count + 1):
        record = seal(sample_content(), sequence=sequence, prev_hash=prev, signer=signer)
        chain.append(record)
        prev = record.hash
    return chain


@pytest.fixture
def make_content() -> Callable[..., RecordContent]:
    return sample_content


@pytest.fixture
def signer() -> RecordSigner:
    return RecordSigner(Ed25519PrivateKey.generate())


@pytest.fixture
def make_chain() -> Callable[[RecordSigner, int], list[SealedRecord]]:
    return sealed_chain
