"""The data inventory covers every personal column of reporting (DESIGN §4)."""

from __future__ import annotations

from byggrygg_shared.catalogue import discover_inventories
from byggrygg_shared.contracts import all_contracts
from byggrygg_shared.contracts.privacy import ParticipantReplied
from byggrygg_shared.inventory import assert_inventory_complete
from reporting.adapters.tables import METADATA
from reporting.privacy import EMITTED_CONTRACTS, INVENTORY


def test_reporting_inventory_is_complete() -> None:
    assert_inventory_complete(
        INVENTORY, tables=METADATA.tables.values(), contracts=EMITTED_CONTRACTS
    )


def test_reporting_emits_no_domain_events_of_its_own() -> None:
    # Its privacy replies are the privacy contract's, declared by every participant alike.
    emitted = {c for c in all_contracts() if "reporting" in c.source_services()}
    assert emitted == {ParticipantReplied}


def test_the_inventory_is_installed_so_the_orchestrator_addresses_reporting() -> None:
    # The orchestrator's plan addresses every participant whose inventory this finds.
    assert INVENTORY in discover_inventories()
