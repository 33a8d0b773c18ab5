"""The orchestrator's inventory covers its tables, and declares no personal data (R19)."""

from __future__ import annotations

from byggrygg_shared.contracts import all_contracts
from byggrygg_shared.inventory import TableColumn, assert_inventory_complete
from privacy_orchestrator.adapters.tables import METADATA
from privacy_orchestrator.privacy import EMITTED_CONTRACTS, INVENTORY


def test_inventory_is_complete() -> None:
    assert_inventory_complete(
        INVENTORY, tables=METADATA.tables.values(), contracts=EMITTED_CONTRACTS
    )


def test_every_contract_the_orchestrator_emits_is_covered() -> None:
    registered = {c for c in all_contracts() if c.source_service == "privacy-orchestrator"}
    assert registered == set(EMITTED_CONTRACTS)


def test_completion_records_are_declared_free_of_personal_data() -> None:
    assert INVENTORY.personal_at(TableColumn("completion_records", "record")) is None
    assert TableColumn("completion_records", "record") in INVENTORY.declared()
