"""The tiny base of every integration event that crosses a service boundary (DESIGN §2).

An integration event is a frozen pydantic model named in the past tense. Its class carries the
stable routing facts: ``event_type`` (never reused for another meaning), ``event_version``
(bumped on an incompatible change; older payloads are upcast on read, see ``registry``),
``source_service``, ``topic`` (``<service>.<aggregate>.v<N>``) and ``personal_fields``: the
fields whose values are key-ring ciphertext tokens, never plaintext (DESIGN §4).

A contract about a person declares a ``subject_ref: str`` field; the base does not force it.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

__all__ = ["DATASCHEMA_BASE", "IntegrationEvent", "InvalidContract"]

# Where the generated JSON Schemas are published; one document per CloudEvents type string.
DATASCHEMA_BASE = "https://byggrygg.no/schemas/events/"

_EVENT_TYPE = re.compile(r"^[a-z][a-z0-9]*(\.[a-z][a-z0-9-]*)+\.[A-Z][A-Za-z0-9]*$")
_TOPIC = re.compile(r"^[a-z][a-z0-9-]*(\.[a-z0-9-]+)*\.v[1-9][0-9]*$")
_SERVICE = re.compile(r"^[a-z][a-z0-9-]*$")


class InvalidContract(TypeError):
    """A contract class is missing a routing fact or declares one in the wrong shape."""


class IntegrationEvent(BaseModel):
    """Base of every cross-service event; subclasses are registered with ``registry.register``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    event_version: ClassVar[int] = 1
    source_service: ClassVar[str]
    topic: ClassVar[str]
    personal_fields: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def ce_type(cls) -> str:
        """The CloudEvents ``type``: ``<event_type>.v<event_version>``."""
        return f"{cls.event_type}.v{cls.event_version}"

    @classmethod
    def dataschema(cls) -> str:
        """The CloudEvents ``dataschema`` URI of this version's JSON Schema."""
        return f"{DATASCHEMA_BASE}{cls.ce_type()}.json"

    @classmethod
    def check_contract(cls) -> None:
        """Raise ``InvalidContract`` unless every routing fact is present and well formed."""
        for name in ("event_type", "source_service", "topic"):
            if not isinstance(getattr(cls, name, None), str):
                raise InvalidContract(f"{cls.__qualname__} must set ClassVar {name}: str")
        if not _EVENT_TYPE.match(cls.event_type) or re.search(r"\.v\d+$", cls.event_type):
            raise InvalidContract(
                f"{cls.__qualname__}.event_type {cls.event_type!r} must look like "
                "'no.byggrygg.<service>.<EventName>' without a version suffix"
            )
        if not isinstance(cls.event_version, int) or cls.event_version < 1:
            raise InvalidContract(f"{cls.__qualname__}.event_version must be an int >= 1")
        if not _SERVICE.match(cls.source_service):
            raise InvalidContract(f"{cls.__qualname__}.source_service must be a service slug")
        if not _TOPIC.match(cls.topic):
            raise InvalidContract(
                f"{cls.__qualname__}.topic {cls.topic!r} must look like "
                "'<service>.<aggregate>.v<N>'"
            )
        unknown = set(cls.personal_fields) - set(cls.model_fields)
        if unknown:
            raise InvalidContract(
                f"{cls.__qualname__}.personal_fields names unknown fields: {sorted(unknown)}"
            )

    def event_subject(self) -> str | None:
        """The pseudonymous ``subject_ref`` this event is about, if the contract has one."""
        value: Any = getattr(self, "subject_ref", None)
        return value if isinstance(value, str) else None
