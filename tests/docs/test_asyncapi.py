"""docs/asyncapi.json describes every topic and contract the code declares (DESIGN §2)."""

import json
from pathlib import Path
from typing import Any

import pytest

from byggrygg_shared.asyncapi import (
    ASYNCAPI_DOCUMENT,
    UnsupportedSchemaReference,
    inline_local_refs,
    is_stale,
    payload_schema,
    rendered_document,
)
from byggrygg_shared.schema_snapshots import platform_contracts

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _committed() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((DOCS / ASYNCAPI_DOCUMENT).read_text(encoding="utf-8"))
    return document


def _resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    if "$ref" not in node:
        return node
    target: Any = document
    for part in node["$ref"].removeprefix("#/").split("/"):
        target = target[part.replace("~1", "/").replace("~0", "~")]
    return _resolve(document, target)


def test_committed_document_is_current() -> None:
    assert not is_stale(DOCS), "run: uv run python -m byggrygg_shared.asyncapi --write"


def test_a_changed_document_is_reported_stale(tmp_path: Path) -> None:
    (tmp_path / ASYNCAPI_DOCUMENT).write_text(rendered_document(), encoding="utf-8")
    assert not is_stale(tmp_path)
    mutated = json.loads(rendered_document())
    mutated["info"]["version"] = "0.0.0-edited"
    (tmp_path / ASYNCAPI_DOCUMENT).write_text(json.dumps(mutated), encoding="utf-8")
    assert is_stale(tmp_path)


def test_every_contract_is_a_message_on_its_topic_channel() -> None:
    document = _committed()
    channels = {channel["address"]: channel for channel in document["channels"].values()}
    contracts = platform_contracts()
    assert contracts, "no contracts found"
    for contract in contracts:
        # A per-recipient contract (a privacy command) is a message of each of its topics; a
        # contract several services emit (a participant's reply) is sent by each of them.
        for topic in contract.topics():
            channel = channels[topic]
            messages = [_resolve(document, m) for m in channel["messages"].values()]
            by_type = {m["headers"]["properties"]["ce_type"]["const"]: m for m in messages}
            message = by_type[contract.ce_type()]
            assert message["payload"] == payload_schema(contract)
            assert message["contentType"] == "application/json"
            assert message["bindings"]["kafka"]["key"]["type"] == "string"
            assert f"{topic}.dlq" in channels
            for service in contract.source_services():
                sends = [
                    op
                    for op in document["operations"].values()
                    if op["action"] == "send"
                    and _resolve(document, op["channel"])["address"] == topic
                    and service in [tag["name"] for tag in op["tags"]]
                ]
                assert len(sends) == 1, f"{contract.ce_type()}: no send operation by {service}"


def test_a_schema_reference_that_cannot_be_inlined_is_refused() -> None:
    cyclic = {"$defs": {"Node": {"properties": {"next": {"$ref": "#/$defs/Node"}}}}}
    with pytest.raises(UnsupportedSchemaReference):
        inline_local_refs({"$ref": "#/$defs/Node"}, cyclic["$defs"], ())
    with pytest.raises(UnsupportedSchemaReference):
        inline_local_refs({"$ref": "https://example.org/other.json"}, {}, ())
