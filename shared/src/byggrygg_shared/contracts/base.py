"""The tiny base of every integration event that crosses a service boundary (DESIGN §2).

An integration event is a frozen pydantic model named in the past tense. Its class carries the
stable routing facts: ``event_type`` (never reused for another meaning), ``event_version``
(bumped on an incompatible change; older payloads are upcast on read, see ``registry``),
``source_service``, ``topic`` (``<service>.<aggregate>.v<N>``) and ``personal_fields``: the
fields whose values are key-ring ciphertext tokens, never plaintext (DESIGN §4).

A contract about a person declares a ``subject_ref: str`` field; the base does not force it.

Two routing facts exist for the privacy messages (DESIGN §5), and default to "not used":

- ``route_field``/``routes``: a contract sent to one of several recipients, each on its own topic
  (``EraseSubject`` goes to ``privacy.commands.<participant>.v1``). ``topic`` is then a template
  with one ``{<route_field>}`` placeholder, ``routes`` lists the values it may take, and the
  instance's ``route_field`` value picks the topic (``routing_topic()``). ``topics()`` lists
  every topic a contract travels on; code that needs topics uses it, never ``topic`` directly.
- ``senders``: a contract several services emit (every participant sends its own
  ``ParticipantReplied``). ``source_service`` then names the role, ``senders`` the services;
  the CloudEvents ``source`` on the wire is always the emitting service's (the outbox relay's).
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
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


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
    # Per-recipient routing (see the module docstring); None = one topic, ``topic`` itself.
    route_field: ClassVar[str | None] = None
    routes: ClassVar[tuple[str, ...]] = ()
    # The services that emit a contract several services send; () = only ``source_service``.
    senders: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def topics(cls) -> tuple[str, ...]:
        """Every topic this contract travels on: ``(topic,)``, or one per route."""
        if cls.route_field is None:
            return (cls.topic,)
        return tuple(cls.topic.replace("{" + cls.route_field + "}", route) for route in cls.routes)

    @classmethod
    def source_services(cls) -> tuple[str, ...]:
        """The services that emit this contract."""
        return cls.senders or (cls.source_service,)

    def routing_topic(self) -> str:
        """The topic of this instance (its route's, for a per-recipient contract)."""
        cls = type(self)
        if cls.route_field is None:
            return cls.topic
        route = getattr(self, cls.route_field)
        if route not in cls.routes:
            raise InvalidContract(f"{cls.__qualname__}: no route {route!r}")
        return cls.topic.replace("{" + cls.route_field + "}", str(route))

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
        cls._check_routing()
        for service in cls.senders:
            if not _SERVICE.match(service):
                raise InvalidContract(f"{cls.__qualname__}.senders must be service slugs")
        unknown = set(cls.personal_fields) - set(cls.model_fields)
        if unknown:
            raise InvalidContract(
                f"{cls.__qualname__}.personal_fields names unknown fields: {sorted(unknown)}"
            )

    @classmethod
    def _check_routing(cls) -> None:
        placeholders = _PLACEHOLDER.findall(cls.topic)
        if cls.route_field is None:
            if placeholders or cls.routes:
                raise InvalidContract(f"{cls.__qualname__}: a routed topic needs route_field")
        elif placeholders != [cls.route_field] or cls.route_field not in cls.model_fields:
            raise InvalidContract(
                f"{cls.__qualname__}.topic must hold one {{{cls.route_field}}} placeholder "
                "naming a field"
            )
        elif not cls.routes or any(not _SERVICE.match(route) for route in cls.routes):
            raise InvalidContract(f"{cls.__qualname__}.routes must be non-empty slugs")
        for topic in cls.topics():
            if not _TOPIC.match(topic):
                raise InvalidContract(
                    f"{cls.__qualname__}.topic {topic!r} must look like "
                    "'<service>.<aggregate>.v<N>'"
                )

    def event_subject(self) -> str | None:
        """The pseudonymous ``subject_ref`` this event is about, if the contract has one."""
        value: Any = getattr(self, "subject_ref", None)
        return value if isinstance(value, str) else None
