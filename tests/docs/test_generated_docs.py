"""The event catalogue and data inventory in docs/ are what the code declares (GDPR art. 30)."""

from pathlib import Path

from byggrygg_shared.catalogue import (
    EVENTS_DOCUMENT,
    INVENTORY_DOCUMENT,
    discover_inventories,
    rendered_documents,
    stale_documents,
)

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_generated_documents_are_current() -> None:
    assert stale_documents(DOCS) == [], "run: uv run python -m byggrygg_shared.catalogue --write"


def test_a_changed_document_is_reported_stale(tmp_path: Path) -> None:
    for name, text in rendered_documents().items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert stale_documents(tmp_path) == []
    (tmp_path / INVENTORY_DOCUMENT).write_text("edited by hand\n", encoding="utf-8")
    assert stale_documents(tmp_path) == [INVENTORY_DOCUMENT]


def test_every_service_inventory_is_documented() -> None:
    services = [inventory.service for inventory in discover_inventories()]
    assert "identity" in services
    document = rendered_documents()[INVENTORY_DOCUMENT]
    for service in services:
        assert f"## {service}\n" in document
    assert "identity.user.v1" in rendered_documents()[EVENTS_DOCUMENT]
