"""The registry of integration-event contracts: CloudEvents type string -> pydantic class.

``register`` is the class decorator every contract uses. ``resolve`` maps a CloudEvents type
(``no.byggrygg.identity.UserCreated.v1``) to the contract class that reads it today. Only the
current version of a contract is a class; an older version's payload is upgraded step by step by
upcasters (``register_upcaster``) when it is read, and never rewritten where it is stored
(DESIGN §2, "upcast on read"). ``decode`` does resolve + upcast + validate in one call.

The registry is process-wide state filled at import time by ``byggrygg_shared.contracts``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import ValidationError

from byggrygg_shared.contracts.base import IntegrationEvent

__all__ = [
    "DuplicateContract",
    "InvalidEventPayload",
    "UnknownEventType",
    "UnsupportedEventVersion",
    "Upcaster",
    "all_contracts",
    "decode",
    "parse_ce_type",
    "register",
    "register_upcaster",
    "resolve",
    "upcast",
]

E = TypeVar("E", bound=type[IntegrationEvent])

# Takes the payload of version N and returns the payload of version N + 1.
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

_CURRENT_CACHE_LIMIT = 1024
_CE_TYPE = re.compile(r"^(?P<event_type>.+)\.v(?P<version>[1-9][0-9]*)$")

_contracts: dict[str, type[IntegrationEvent]] = {}
_upcasters: dict[tuple[str, int], Upcaster] = {}
# ``current_contract``'s answers by CloudEvents type; emptied whenever a registration could
# change one.
_current: dict[str, type[IntegrationEvent] | None] = {}


class UnknownEventType(LookupError):
    """No contract is registered for this event type (or the type string is not ours)."""


class UnsupportedEventVersion(LookupError):
    """The event's version is newer than this process knows, or no upcaster path reaches it."""


class DuplicateContract(ValueError):
    """Two different classes claim the same ``event_type``."""


class InvalidEventPayload(ValueError):
    """A payload does not validate against its contract.

    The message names fields and error kinds only, never the offending values (they may be
    personal data).
    """


def register(cls: E) -> E:
    """Class decorator: check the contract's routing facts and make it resolvable."""
    cls.check_contract()
    existing = _contracts.get(cls.event_type)
    if existing is not None and _qualified(existing) != _qualified(cls):
        raise DuplicateContract(f"{cls.event_type} is already registered by {_qualified(existing)}")
    _contracts[cls.event_type] = cls
    _current.clear()
    return cls


def register_upcaster(event_type: str, from_version: int, fn: Upcaster) -> None:
    """Register ``fn`` to turn a ``from_version`` payload into a ``from_version + 1`` payload."""
    key = (event_type, from_version)
    if key in _upcasters and _upcasters[key] is not fn:
        raise DuplicateContract(f"an upcaster for {event_type} v{from_version} already exists")
    _upcasters[key] = fn
    _current.clear()


def parse_ce_type(ce_type: str) -> tuple[str, int]:
    """Split ``no.byggrygg.x.Y.v3`` into ``("no.byggrygg.x.Y", 3)``."""
    match = _CE_TYPE.match(ce_type)
    if match is None:
        raise UnknownEventType(f"{ce_type!r} is not '<event_type>.v<version>'")
    return match["event_type"], int(match["version"])


def resolve(ce_type: str) -> type[IntegrationEvent]:
    """The contract class that reads events of ``ce_type`` (possibly after upcasting)."""
    event_type, version = parse_ce_type(ce_type)
    cls = _contracts.get(event_type)
    if cls is None:
        raise UnknownEventType(f"no contract registered for {event_type}")
    if version > cls.event_version:
        raise UnsupportedEventVersion(
            f"{event_type} v{version} is newer than the known v{cls.event_version}"
        )
    for step in range(version, cls.event_version):
        if (event_type, step) not in _upcasters:
            raise UnsupportedEventVersion(f"no upcaster from {event_type} v{step}")
    return cls


def current_contract(ce_type: str) -> type[IntegrationEvent] | None:
    """The contract class of ``ce_type`` if it names a registered contract at its current
    version (read as it is, no upcasting); None for any other type string.

    Remembered per type string: batch consumers ask once per record (``envelope``'s fast
    path), for a handful of distinct types."""
    try:
        return _current[ce_type]
    except KeyError:
        pass
    cls: type[IntegrationEvent] | None
    try:
        version = parse_ce_type(ce_type)[1]
        cls = resolve(ce_type)
    except LookupError:  # UnknownEventType, UnsupportedEventVersion
        cls = None
    else:
        if version != cls.event_version:
            cls = None
    if len(_current) < _CURRENT_CACHE_LIMIT:  # type strings come from the records: bounded
        _current[ce_type] = cls
    return cls


def upcast(event_type: str, version: int, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Upgrade ``payload`` from ``version`` to the registered contract's current version."""
    cls = resolve(f"{event_type}.v{version}")
    current = dict(payload)
    for step in range(version, cls.event_version):
        current = _upcasters[(event_type, step)](current)
    return current


def decode(ce_type: str, payload: Mapping[str, Any]) -> IntegrationEvent:
    """Resolve, upcast and validate: the contract instance a payload of ``ce_type`` means."""
    event_type, version = parse_ce_type(ce_type)
    cls = resolve(ce_type)
    data = upcast(event_type, version, payload)
    try:
        return cls.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or '<root>'}: {item['type']}"
            for item in error.errors(include_input=False, include_url=False)
        )
        # `from None`: the pydantic error embeds the input values, which may be personal data.
        raise InvalidEventPayload(f"{ce_type}: {problems}") from None


def all_contracts() -> list[type[IntegrationEvent]]:
    """Every registered contract class, sorted by event type."""
    return [_contracts[name] for name in sorted(_contracts)]


def _qualified(cls: type[Any]) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"
