"""The data inventory covers every personal column and event field of consent (DESIGN §4)."""

from __future__ import annotations

from byggrygg_shared.contracts import all_contracts
from byggrygg_shared.inventory import Erasure, EventField, assert_inventory_complete
from consent.adapters.tables import METADATA
from consent.privacy import EMITTED_CONTRACTS, INVENTORY


def test_consent_inventory_is_complete() -> None:
    assert_inventory_complete(
        INVENTORY, tables=METADATA.tables.values(), contracts=EMITTED_CONTRACTS
    )


def test_every_consent_contract_is_covered() -> None:
    registered = {c for c in all_contracts() if "consent" in c.source_services()}
    assert registered == set(EMITTED_CONTRACTS)


def test_every_personal_event_field_is_erased_by_destroying_a_key_or_kept_with_a_basis() -> None:
    for entry in INVENTORY.personal:
        if isinstance(entry.location, EventField):
            assert entry.erasure in (Erasure.CRYPTO_SHRED, Erasure.KEEP_WITH_BASIS), entry
