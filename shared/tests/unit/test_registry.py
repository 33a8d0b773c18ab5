"""Contract registry: resolving CloudEvents types, upcasting old payloads on read."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from byggrygg_shared.contracts.base import IntegrationEvent, InvalidContract
from byggrygg_shared.contracts.registry import (
    DuplicateContract,
    InvalidEventPayload,
    UnknownEventType,
    UnsupportedEventVersion,
    all_contracts,
    current_contract,
    decode,
    register,
    register_upcaster,
    resolve,
)


@register
class NameChanged(IntegrationEvent):
    """v3: v1 had `name`, v2 split it into `given`/`family`, v3 added `locale`."""

    event_type: ClassVar[str] = "no.byggrygg.registrytest.NameChanged"
    event_version: ClassVar[int] = 3
    source_service: ClassVar[str] = "registrytest"
    topic: ClassVar[str] = "registrytest.person.v1"

    given: str
    family: str
    locale: str


def v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    given, _, family = payload.pop("name").partition(" ")
    return {**payload, "given": given, "family": family}


def v2_to_v3(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "locale": "nb-NO"}


register_upcaster(NameChanged.event_type, 1, v1_to_v2)
register_upcaster(NameChanged.event_type, 2, v2_to_v3)


def test_current_version_resolves_and_validates() -> None:
    assert resolve("no.byggrygg.registrytest.NameChanged.v3") is NameChanged
    event = decode(NameChanged.ce_type(), {"given": "a", "family": "b", "locale": "en"})
    assert event == NameChanged(given="a", family="b", locale="en")


def test_old_payload_is_upcast_step_by_step_on_read() -> None:
    event = decode("no.byggrygg.registrytest.NameChanged.v1", {"name": "Kari Nordmann"})
    assert event == NameChanged(given="Kari", family="Nordmann", locale="nb-NO")


def test_current_contract_names_only_the_current_version_and_follows_registrations() -> None:
    assert current_contract(NameChanged.ce_type()) is NameChanged
    assert current_contract("no.byggrygg.registrytest.NameChanged.v1") is None  # needs upcasting
    assert current_contract("no.byggrygg.registrytest.NameChanged.v4") is None  # newer
    assert current_contract("no.byggrygg.registrytest.Later.v1") is None
    assert current_contract("not a type") is None

    # A contract registered after a miss was remembered is found all the same.
    @register
    class Later(IntegrationEvent):
        event_type: ClassVar[str] = "no.byggrygg.registrytest.Later"
        event_version: ClassVar[int] = 1
        source_service: ClassVar[str] = "registrytest"
        topic: ClassVar[str] = "registrytest.person.v1"

    assert current_contract("no.byggrygg.registrytest.Later.v1") is Later


def test_unknown_or_newer_versions_are_named_errors() -> None:
    with pytest.raises(UnknownEventType):
        resolve("no.byggrygg.registrytest.Unheard.v1")
    with pytest.raises(UnknownEventType):
        resolve("no-version-suffix")
    with pytest.raises(UnsupportedEventVersion):
        resolve("no.byggrygg.registrytest.NameChanged.v4")


def test_missing_upcaster_is_reported() -> None:
    @register
    class Gap(IntegrationEvent):
        event_type: ClassVar[str] = "no.byggrygg.registrytest.Gap"
        event_version: ClassVar[int] = 2
        source_service: ClassVar[str] = "registrytest"
        topic: ClassVar[str] = "registrytest.gap.v1"

    with pytest.raises(UnsupportedEventVersion):
        resolve("no.byggrygg.registrytest.Gap.v1")


def test_invalid_payload_error_names_fields_but_never_values() -> None:
    with pytest.raises(InvalidEventPayload) as caught:
        decode(NameChanged.ce_type(), {"given": "SECRET-NAME", "family": 5, "extra": "x"})
    text = str(caught.value)
    assert "family" in text
    assert "locale" in text
    assert "extra" in text
    assert "SECRET-NAME" not in text
    assert caught.value.__cause__ is None


def test_another_class_cannot_take_an_existing_event_type() -> None:
    class Impostor(IntegrationEvent):
        event_type: ClassVar[str] = "no.byggrygg.registrytest.NameChanged"
        source_service: ClassVar[str] = "registrytest"
        topic: ClassVar[str] = "registrytest.person.v1"

    with pytest.raises(DuplicateContract):
        register(Impostor)


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ({"source_service": "x", "topic": "x.y.v1"}, "event_type"),
        (
            {"event_type": "no.byggrygg.x.Y.v1", "source_service": "x", "topic": "x.y.v1"},
            "event_type",
        ),
        ({"event_type": "no.byggrygg.x.Y", "source_service": "x", "topic": "x.y"}, "topic"),
        ({"event_type": "no.byggrygg.x.Y", "source_service": "X Y", "topic": "x.y.v1"}, "source"),
        (
            {
                "event_type": "no.byggrygg.x.Y",
                "source_service": "x",
                "topic": "x.y.v1",
                "personal_fields": frozenset({"nope"}),
            },
            "personal_fields",
        ),
        (
            {
                "event_type": "no.byggrygg.x.Y",
                "source_service": "x",
                "topic": "x.y.v1",
                "event_version": 0,
            },
            "event_version",
        ),
    ],
)
def test_contracts_with_malformed_routing_facts_are_refused(
    attrs: dict[str, Any], message: str
) -> None:
    cls = type("Broken", (IntegrationEvent,), {"__module__": __name__, **attrs})
    with pytest.raises(InvalidContract, match=message):
        register(cls)


def test_all_contracts_lists_registered_ones() -> None:
    assert NameChanged in all_contracts()


def test_contracts_are_frozen_and_strict() -> None:
    event = NameChanged(given="a", family="b", locale="c")
    with pytest.raises(ValueError, match="frozen"):
        event.given = "z"  # type: ignore[misc]
    with pytest.raises(ValueError, match="extra"):
        NameChanged(given="a", family="b", locale="c", other=1)  # type: ignore[call-arg]


def test_the_contracts_package_imports_every_contract_module() -> None:
    import pkgutil

    import byggrygg_shared.contracts as contracts

    modules = {info.name for info in pkgutil.iter_modules(contracts.__path__)}
    listed = {module.__name__.rsplit(".", 1)[1] for module in contracts.CONTRACT_MODULES}
    assert modules - {"base", "registry"} == listed
    assert all(c.event_type.startswith("no.byggrygg.") for c in all_contracts())
