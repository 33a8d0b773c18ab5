"""Renders the AsyncAPI 3.0 document of every Kafka topic from the contracts (DESIGN §2).

``docs/asyncapi.json`` is generated, never hand-edited: one channel per contract topic (address =
topic name; a per-recipient contract, such as a privacy command, is on each of its topics), one
message per contract version (payload = the contract's JSON Schema, headers = the CloudEvents
binary-mode ``ce_*`` headers the envelope writes, Kafka key = aggregate id), one ``send``
operation per topic and emitting service (every participant sends its own replies), and a
generic ``<topic>.dlq`` channel for each topic's dead letters. ``--check`` fails when the
document is stale, so a contract cannot change without its description; CI also validates the
document with the AsyncAPI parser.

    uv run python -m byggrygg_shared.asyncapi --write   # regenerate
    uv run python -m byggrygg_shared.asyncapi --check   # exit 1 when stale
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Sequence
from itertools import groupby
from pathlib import Path
from typing import Any, Final

from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.schema_snapshots import contract_schema, platform_contracts

ASYNCAPI_DOCUMENT: Final = "asyncapi.json"
ASYNCAPI_VERSION: Final = "3.0.0"
DOCUMENT_VERSION: Final = "1.0.0"
TITLE: Final = "ByggRygg platform events"
DLQ_SUFFIX: Final = ".dlq"
_KAFKA_BINDING_VERSION: Final = "0.5.0"
_SCHEMA_REF: Final = re.compile(r"^#/\$defs/(?P<name>[^/]+)$")


class UnsupportedSchemaReference(ValueError):
    """A contract schema uses a ``$ref`` the generator cannot inline (not local, or cyclic)."""


def _component_id(text: str) -> str:
    """An AsyncAPI component/channel key (``^[A-Za-z0-9_\\-]+$``) for a topic or event name."""
    return re.sub(r"[^A-Za-z0-9_\-]", "_", text)


def channel_id(topic: str) -> str:
    return _component_id(topic)


def message_id(contract: type[IntegrationEvent]) -> str:
    return _component_id(f"{contract.event_type.rsplit('.', 1)[-1]}.v{contract.event_version}")


def inline_local_refs(node: Any, definitions: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """`node` with every ``#/$defs/<name>`` reference replaced by its definition."""
    if isinstance(node, list):
        return [inline_local_refs(item, definitions, seen) for item in node]
    if not isinstance(node, dict):
        return node
    reference = node.get("$ref")
    if isinstance(reference, str):
        # Inside an AsyncAPI document "#/..." points at the document root, not at the payload
        # schema, so pydantic's local "#/$defs/X" references are replaced by their targets.
        match = _SCHEMA_REF.match(reference)
        if match is None or match["name"] not in definitions or match["name"] in seen:
            raise UnsupportedSchemaReference(f"cannot inline $ref {reference!r}")
        target = inline_local_refs(definitions[match["name"]], definitions, (*seen, match["name"]))
        siblings = {
            k: inline_local_refs(v, definitions, seen) for k, v in node.items() if k != "$ref"
        }
        return {**target, **siblings}
    return {key: inline_local_refs(value, definitions, seen) for key, value in node.items()}


def payload_schema(contract: type[IntegrationEvent]) -> dict[str, Any]:
    """The contract's snapshot schema as a self-contained AsyncAPI (draft-07 superset) schema.

    ``$schema`` and ``$id`` are dropped: ``$id`` would make parsers resolve against a URL
    that is a name, not a fetchable document; the URL travels as the ``ce_dataschema`` header.
    """
    schema = contract_schema(contract)
    definitions = schema.pop("$defs", {})
    for keyword in ("$schema", "$id"):
        schema.pop(keyword, None)
    inlined: dict[str, Any] = inline_local_refs(schema, definitions, ())
    return inlined


def _string(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **extra}


def _source_header(contract: type[IntegrationEvent]) -> dict[str, Any]:
    sources = [f"/services/{service}" for service in contract.source_services()]
    if len(sources) == 1:
        return _string("Producing service.", const=sources[0])
    return _string("Producing service (each sends under its own name).", enum=sources)


def cloudevents_headers(contract: type[IntegrationEvent]) -> dict[str, Any]:
    """The binary-mode CloudEvents headers of `contract`'s records (see ``envelope``)."""
    properties = {
        "ce_specversion": _string("CloudEvents version.", const="1.0"),
        "ce_id": _string("Unique event id; consumers deduplicate on it."),
        "ce_source": _source_header(contract),
        "ce_type": _string("Event type and version.", const=contract.ce_type()),
        "ce_time": _string("When the event happened (UTC, ISO 8601).", format="date-time"),
        "ce_subject": _string("Pseudonymous subject_ref of the person, if any."),
        "ce_dataschema": _string("JSON Schema of the payload.", const=contract.dataschema()),
        "ce_correlationid": _string("Id shared by every event of one request."),
        "ce_causationid": _string("Id of the event or command that caused this one."),
        "ce_tenantid": _string("Organisation the event belongs to, if any."),
        "content-type": _string("Payload media type.", const="application/json"),
    }
    required = [
        "ce_specversion",
        "ce_id",
        "ce_source",
        "ce_type",
        "ce_time",
        "ce_correlationid",
        "content-type",
    ]
    return {"type": "object", "properties": properties, "required": sorted(required)}


def _message(contract: type[IntegrationEvent]) -> dict[str, Any]:
    doc = " ".join(line.strip() for line in (contract.__doc__ or "").strip().splitlines())
    message: dict[str, Any] = {
        "name": contract.event_type.rsplit(".", 1)[-1],
        "title": contract.ce_type(),
        "contentType": "application/json",
        "headers": cloudevents_headers(contract),
        "payload": payload_schema(contract),
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": "Aggregate (stream) id."},
                "bindingVersion": _KAFKA_BINDING_VERSION,
            }
        },
    }
    if doc:
        message["summary"] = doc
    return message


def _dead_letter_message() -> dict[str, Any]:
    dlq_headers = {
        "dlq_error_type": "Qualified name of the exception that made the handler give up.",
        "dlq_error_message": "The error, without personal data.",
        "dlq_attempts": "How many times the handler was tried.",
        "dlq_original_topic": "Topic the record was read from.",
        "dlq_original_partition": "Partition the record was read from.",
        "dlq_original_offset": "Offset the record was read from.",
        "dlq_consumer_group": "Consumer group whose handler failed.",
        "dlq_failed_at": "When the record was dead-lettered (ISO 8601).",
    }
    return {
        "name": "DeadLetter",
        "title": "Dead-lettered record",
        "summary": (
            "A record a consumer could not handle after its retries: the original key, value "
            "and headers, unchanged, plus dlq_* headers naming the error and the origin."
        ),
        "headers": {
            "type": "object",
            "properties": {name: _string(text) for name, text in dlq_headers.items()},
            "required": sorted(dlq_headers),
            "additionalProperties": {"type": "string"},
        },
        "payload": {"description": "The original record's value, byte for byte."},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": "The original record's key."},
                "bindingVersion": _KAFKA_BINDING_VERSION,
            }
        },
    }


def _ref(*parts: str) -> dict[str, str]:
    # JSON Pointer escaping (RFC 6901), in case an id ever holds "~" or "/".
    return {"$ref": "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)}


def render_asyncapi(contracts: Iterable[type[IntegrationEvent]]) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of `contracts`' topics and their dead letters.

    A per-recipient contract (``IntegrationEvent.topics``) is a message of each of its topics;
    a contract several services emit (``source_services``) has a send operation per service.
    """
    routed = sorted(
        ((topic, contract) for contract in contracts for topic in contract.topics()),
        key=lambda pair: (pair[0], pair[1].event_type, pair[1].event_version),
    )
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {"DeadLetter": _dead_letter_message()}
    for topic, group in groupby(routed, key=lambda pair: pair[0]):
        topic_contracts = [contract for _, contract in group]
        channel = channel_id(topic)
        channels[channel] = {
            "address": topic,
            "title": topic,
            "messages": {
                message_id(c): _ref("components", "messages", message_id(c))
                for c in topic_contracts
            },
        }
        for contract in topic_contracts:
            messages[message_id(contract)] = _message(contract)
        by_service = sorted(
            ((service, c) for c in topic_contracts for service in c.source_services()),
            key=lambda pair: (pair[0], pair[1].event_type),
        )
        for service, pairs in groupby(by_service, key=lambda pair: pair[0]):
            sent = [contract for _, contract in pairs]
            operations[_component_id(f"{service}.sends.{topic}")] = {
                "action": "send",
                "summary": f"The {service} service's outbox relay publishes to {topic}.",
                "channel": _ref("channels", channel),
                "messages": [_ref("channels", channel, "messages", message_id(c)) for c in sent],
                "tags": [{"name": service}],
            }
        channels[channel_id(topic + DLQ_SUFFIX)] = {
            "address": topic + DLQ_SUFFIX,
            "title": topic + DLQ_SUFFIX,
            "description": f"Dead letters of consumers of {topic} (retries exhausted).",
            "messages": {"DeadLetter": _ref("components", "messages", "DeadLetter")},
        }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": TITLE,
            "version": DOCUMENT_VERSION,
            "description": (
                "Every event crossing a service boundary: CloudEvents 1.0 in Kafka binary mode "
                "(ce_* headers, JSON data as the value), key = aggregate id. Generated by "
                "`uv run python -m byggrygg_shared.asyncapi --write`; do not edit."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "The local KRaft broker started by `make up`.",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def render_text(document: dict[str, Any]) -> str:
    """Deterministic JSON: sorted keys, two-space indent, trailing newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def rendered_document() -> str:
    """The platform's AsyncAPI document as committed in ``docs/``."""
    return render_text(render_asyncapi(platform_contracts()))


def is_stale(directory: Path) -> bool:
    """Whether ``directory``'s AsyncAPI document differs from what the code renders."""
    path = directory / ASYNCAPI_DOCUMENT
    return not path.exists() or path.read_text(encoding="utf-8") != rendered_document()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="regenerate the document")
    action.add_argument("--check", action="store_true", help="fail when the document is stale")
    parser.add_argument("--docs", type=Path, default=Path("docs"), help="the docs folder")
    args = parser.parse_args(argv)
    path = args.docs / ASYNCAPI_DOCUMENT
    if args.write:
        args.docs.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered_document(), encoding="utf-8")
        print(f"wrote {path}")
        return 0
    if is_stale(args.docs):
        print(f"{path} is stale: run `python -m byggrygg_shared.asyncapi --write`")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
