"""Contract snapshots: the compatibility rules (hand-made schemas) and the write/check cycle."""

from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar

import pytest

from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.contracts.registry import UnsupportedEventVersion
from byggrygg_shared.schema_compatibility import incompatibilities, is_compatible
from byggrygg_shared.schema_snapshots import (
    check_snapshots,
    contract_schema,
    main,
    snapshot_path,
    write_snapshots,
)


def obj(
    properties: dict[str, Any], required: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required or [], **extra}


STR = {"type": "string"}
INT = {"type": "integer"}
NULLABLE_STR = {"anyOf": [{"type": "string"}, {"type": "null"}]}
BASE = obj({"user_id": STR, "nickname": NULLABLE_STR}, ["user_id"], additionalProperties=False)


def reasons(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return [str(issue) for issue in incompatibilities(old, new)]


@pytest.mark.parametrize(
    ("name", "new"),
    [
        ("identical", BASE),
        (
            "titles and descriptions",
            obj(
                {
                    "user_id": {**STR, "title": "User", "description": "who"},
                    "nickname": NULLABLE_STR,
                },
                ["user_id"],
                additionalProperties=False,
                description="changed",
            ),
        ),
        (
            "new optional field",
            obj(
                {"user_id": STR, "nickname": NULLABLE_STR, "locale": {**STR, "default": "nb"}},
                ["user_id"],
                additionalProperties=False,
            ),
        ),
        (
            "required made optional",
            obj({"user_id": STR, "nickname": NULLABLE_STR}, [], additionalProperties=False),
        ),
        (
            "type widened",
            obj(
                {"user_id": {"type": ["string", "null"]}, "nickname": NULLABLE_STR},
                ["user_id"],
                additionalProperties=False,
            ),
        ),
    ],
)
def test_compatible_changes(name: str, new: dict[str, Any]) -> None:
    assert reasons(BASE, new) == [], name


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        (
            obj({"user_id": STR}, ["user_id"], additionalProperties=False),
            ["nickname: field removed"],
        ),
        (
            obj(
                {"user_id": INT, "nickname": NULLABLE_STR}, ["user_id"], additionalProperties=False
            ),
            ["user_id: type changed: string no longer accepted (now integer)"],
        ),
        (
            obj({"user_id": STR, "nickname": STR}, ["user_id"], additionalProperties=False),
            ["nickname: type changed: null no longer accepted (now string)"],
        ),
        (
            obj(
                {"user_id": STR, "nickname": NULLABLE_STR, "org": STR},
                ["user_id", "org"],
                additionalProperties=False,
            ),
            ["org: new required field"],
        ),
        (
            obj(
                {"user_id": STR, "nickname": NULLABLE_STR},
                ["user_id", "nickname"],
                additionalProperties=False,
            ),
            ["nickname: optional field became required"],
        ),
        (
            obj(
                {"user_id": {**STR, "format": "uuid"}, "nickname": NULLABLE_STR},
                ["user_id"],
                additionalProperties=False,
            ),
            ["user_id: format changed from None to 'uuid'"],
        ),
        (
            obj(
                {"user_id": {**STR, "maxLength": 8}, "nickname": NULLABLE_STR},
                ["user_id"],
                additionalProperties=False,
            ),
            ["user_id: maxLength tightened to 8"],
        ),
    ],
)
def test_incompatible_changes(new: dict[str, Any], expected: list[str]) -> None:
    assert reasons(BASE, new) == expected


def test_enum_values_may_be_added_but_not_removed() -> None:
    old = obj(
        {"role": {"$ref": "#/$defs/Role"}},
        ["role"],
        **{"$defs": {"Role": {"enum": ["learner", "org_admin"], "type": "string"}}},
    )
    added = obj(
        {"role": {"$ref": "#/$defs/Role"}},
        ["role"],
        **{"$defs": {"Role": {"enum": ["learner", "org_admin", "staff"], "type": "string"}}},
    )
    removed = obj(
        {"role": {"$ref": "#/$defs/Role"}},
        ["role"],
        **{"$defs": {"Role": {"enum": ["learner"], "type": "string"}}},
    )

    assert is_compatible(old, added)
    assert reasons(old, removed) == ["role: enum values removed: ['org_admin']"]
    assert reasons(obj({"role": STR}), obj({"role": {"enum": ["learner"]}})) == [
        "role: values restricted to ['learner']"
    ]


def test_nested_models_and_arrays_are_compared_through_refs() -> None:
    address = {"type": "object", "properties": {"street": STR, "city": STR}, "required": ["street"]}
    old = obj(
        {"addresses": {"type": "array", "items": {"$ref": "#/$defs/Address"}}, "n": INT},
        **{"$defs": {"Address": address}},
    )
    new_address = {"type": "object", "properties": {"city": STR}, "required": []}
    new = obj(
        {
            "addresses": {"type": "array", "items": {"$ref": "#/$defs/Addr"}},
            "n": {"type": "number"},
        },
        **{"$defs": {"Addr": new_address}},
    )

    # integer -> number is a widening; the nested removal is found through both refs
    assert reasons(old, new) == ["addresses[].street: field removed"]
    assert reasons(new, old) == [
        "addresses[].street: new required field",
        "n: type changed: number no longer accepted (now integer)",
    ]


def test_recursive_schemas_terminate() -> None:
    node = {
        "type": "object",
        "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}},
    }
    schema = {"$ref": "#/$defs/Node", "$defs": {"Node": node}}
    assert is_compatible(schema, schema)


# --- snapshots of real pydantic contracts -------------------------------------------------


class Colour(StrEnum):
    RED = "red"
    GREEN = "green"


class _TestContract(IntegrationEvent):
    event_type: ClassVar[str] = "no.byggrygg.snapshottest.PaintChosen"
    source_service: ClassVar[str] = "snapshottest"
    topic: ClassVar[str] = "snapshottest.paint.v1"


class PaintChosenV1(_TestContract):
    subject_ref: str
    colour: Colour
    litres: int


class PaintChosenV1WithNote(_TestContract):
    subject_ref: str
    colour: Colour
    litres: int
    note: str | None = None


class PaintChosenV1WithoutLitres(_TestContract):
    subject_ref: str
    colour: Colour


class PaintChosenV2(PaintChosenV1WithoutLitres):
    event_version: ClassVar[int] = 2


def accept_all(ce_type: str) -> type[IntegrationEvent]:
    return PaintChosenV2


def no_upcaster(ce_type: str) -> type[IntegrationEvent]:
    raise UnsupportedEventVersion(f"no upcaster from {ce_type}")


def test_snapshot_document(tmp_path: Path) -> None:
    schema = contract_schema(PaintChosenV1)

    assert (
        schema["$id"]
        == "https://byggrygg.no/schemas/events/no.byggrygg.snapshottest.PaintChosen.v1.json"
    )
    assert schema["x-byggrygg"]["topic"] == "snapshottest.paint.v1"
    assert schema["required"] == ["subject_ref", "colour", "litres"]


def test_write_then_check_is_clean(tmp_path: Path) -> None:
    written, refused = write_snapshots([PaintChosenV1], tmp_path)

    assert written == [snapshot_path("no.byggrygg.snapshottest.PaintChosen.v1", tmp_path)]
    assert refused == []
    assert check_snapshots([PaintChosenV1], tmp_path, resolve_ce_type=accept_all) == []


def test_missing_snapshot_fails(tmp_path: Path) -> None:
    (finding,) = check_snapshots([PaintChosenV1], tmp_path, resolve_ce_type=accept_all)
    assert finding.kind == "missing"


def test_incompatible_change_without_new_version_fails_and_is_not_written(tmp_path: Path) -> None:
    write_snapshots([PaintChosenV1], tmp_path)

    (finding,) = check_snapshots([PaintChosenV1WithoutLitres], tmp_path, resolve_ce_type=accept_all)
    assert finding.kind == "incompatible"
    assert "litres: field removed" in finding.details

    written, refused = write_snapshots([PaintChosenV1WithoutLitres], tmp_path)
    assert written == []
    assert [r.kind for r in refused] == ["incompatible"]
    assert check_snapshots([PaintChosenV1WithoutLitres], tmp_path, resolve_ce_type=accept_all)

    written, _ = write_snapshots([PaintChosenV1WithoutLitres], tmp_path, force=True)
    assert len(written) == 1


def test_compatible_change_needs_a_write(tmp_path: Path) -> None:
    write_snapshots([PaintChosenV1], tmp_path)

    (finding,) = check_snapshots([PaintChosenV1WithNote], tmp_path, resolve_ce_type=accept_all)
    assert finding.kind == "outdated"

    write_snapshots([PaintChosenV1WithNote], tmp_path)
    assert check_snapshots([PaintChosenV1WithNote], tmp_path, resolve_ce_type=accept_all) == []


def test_new_version_gets_its_own_snapshot_and_the_old_one_stays(tmp_path: Path) -> None:
    write_snapshots([PaintChosenV1], tmp_path)
    v1_file = snapshot_path("no.byggrygg.snapshottest.PaintChosen.v1", tmp_path)
    v1_text = v1_file.read_text()

    (missing,) = check_snapshots([PaintChosenV2], tmp_path, resolve_ce_type=accept_all)
    assert missing.ce_type == "no.byggrygg.snapshottest.PaintChosen.v2"
    assert missing.kind == "missing"

    write_snapshots([PaintChosenV2], tmp_path)
    assert v1_file.read_text() == v1_text
    assert check_snapshots([PaintChosenV2], tmp_path, resolve_ce_type=accept_all) == []
    # v1 events still exist: without an upcaster from v1 they could not be read any more
    (unreadable,) = check_snapshots([PaintChosenV2], tmp_path, resolve_ce_type=no_upcaster)
    assert unreadable.ce_type == "no.byggrygg.snapshottest.PaintChosen.v1"
    assert unreadable.kind == "unreadable"


def test_cli_write_then_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--write", "--dir", str(tmp_path)]) == 0
    assert main(["--check", "--dir", str(tmp_path)]) == 0
    assert "0 findings" in capsys.readouterr().out
