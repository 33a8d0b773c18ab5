"""The data inventory covers every personal column and event field of courses (DESIGN §4)."""

from __future__ import annotations

from byggrygg_shared.contracts import all_contracts
from byggrygg_shared.inventory import Erasure, EventField, TableColumn, assert_inventory_complete
from courses.adapters.tables import METADATA
from courses.privacy import EMITTED_CONTRACTS, INVENTORY


def test_courses_inventory_is_complete() -> None:
    assert_inventory_complete(
        INVENTORY, tables=METADATA.tables.values(), contracts=EMITTED_CONTRACTS
    )


def test_every_courses_contract_is_covered() -> None:
    registered = {c for c in all_contracts() if c.source_service == "courses"}
    assert registered == set(EMITTED_CONTRACTS)


def test_free_text_is_encrypted_in_events_and_answers_are_anonymised_in_tables() -> None:
    event_type = "no.byggrygg.courses.AnswerSubmitted"
    free_text = INVENTORY.personal_at(EventField(event_type, "free_text"))
    assert free_text is not None
    assert free_text.erasure is Erasure.CRYPTO_SHRED
    for column in ("selected_option_ids", "scale_value", "free_text"):
        entry = INVENTORY.personal_at(TableColumn("answers", column))
        assert entry is not None, column
        assert entry.erasure is Erasure.ANONYMISE


def test_choice_and_scale_answers_in_events_are_personal_and_unlinked_on_erasure() -> None:
    # Plain for reporting's statistics, but pseudonymous (subject_ref): personal data (R16).
    event_type = "no.byggrygg.courses.AnswerSubmitted"
    for field in ("selected_option_ids", "scale_value"):
        entry = INVENTORY.personal_at(EventField(event_type, field))
        assert entry is not None, field
        assert entry.erasure is Erasure.UNLINK
