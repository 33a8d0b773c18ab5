"""JSON Schema snapshots of every registered contract, and the check that guards them (DESIGN §2).

Each contract version has one committed file, ``shared/contracts-snapshots/<ce type>.json``
(e.g. ``no.byggrygg.identity.UserCreated.v1.json``): the JSON Schema its payloads follow, with
``$id`` = the CloudEvents ``dataschema`` and the routing facts under ``x-byggrygg``. Snapshots
of older versions stay forever: stored events of those versions still exist.

``--check`` (and ``shared/tests/test_contract_snapshots.py``) fails when

- a contract has no snapshot (``missing``: run ``--write``);
- a contract no longer reads payloads its snapshot accepted (``incompatible``: restore the
  field or bump ``event_version`` and register an upcaster);
- a compatible change was not written (``outdated``: run ``--write``; the snapshot must be
  current, or a later change would be compared against a stale baseline);
- a snapshot's version can no longer be read (``unreadable``: contract gone, or no upcaster
  chain from that version to the current one).

``--write`` creates and refreshes snapshots but refuses to overwrite one with an incompatible
schema unless ``--force`` is given (only for a version that was never deployed).

    uv run python -m byggrygg_shared.schema_snapshots --check
    uv run python -m byggrygg_shared.schema_snapshots --write
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.contracts.registry import (
    UnknownEventType,
    UnsupportedEventVersion,
    parse_ce_type,
    resolve,
)
from byggrygg_shared.schema_compatibility import incompatibilities

# shared/src/byggrygg_shared/schema_snapshots.py -> shared/contracts-snapshots
SNAPSHOT_DIR: Final = Path(__file__).resolve().parents[2] / "contracts-snapshots"
JSON_SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"

FindingKind = Literal["missing", "incompatible", "outdated", "unreadable"]


@dataclass(frozen=True)
class SnapshotFinding:
    """Something wrong between the contracts and their snapshots."""

    ce_type: str
    kind: FindingKind
    details: tuple[str, ...] = ()

    def __str__(self) -> str:
        lines = [f"{self.ce_type}: {self.kind}"]
        lines.extend(f"    {detail}" for detail in self.details)
        return "\n".join(lines)


def contract_schema(contract: type[IntegrationEvent]) -> dict[str, Any]:
    """The snapshot document of `contract`'s current version."""
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": contract.dataschema(),
        **contract.model_json_schema(),
        "x-byggrygg": {
            "event_type": contract.event_type,
            "event_version": contract.event_version,
            "source_service": contract.source_service,
            "topic": contract.topic,
            "personal_fields": sorted(contract.personal_fields),
        },
    }


def snapshot_path(ce_type: str, directory: Path = SNAPSHOT_DIR) -> Path:
    return directory / f"{ce_type}.json"


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def _load(path: Path) -> dict[str, Any]:
    loaded = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(loaded, dict):
        raise ValueError(f"{path} does not hold a JSON object")
    return loaded


def _compare(contract: type[IntegrationEvent], directory: Path) -> SnapshotFinding | None:
    ce_type = contract.ce_type()
    path = snapshot_path(ce_type, directory)
    if not path.exists():
        return SnapshotFinding(ce_type, "missing", ("run --write to create it",))
    old, new = _load(path), contract_schema(contract)
    issues = incompatibilities(old, new)
    if issues:
        hint = "restore compatibility, or bump event_version and register an upcaster"
        return SnapshotFinding(ce_type, "incompatible", (*map(str, issues), hint))
    if old != new:
        return SnapshotFinding(ce_type, "outdated", ("compatible change: run --write",))
    return None


def check_snapshots(
    contracts: Iterable[type[IntegrationEvent]],
    directory: Path = SNAPSHOT_DIR,
    *,
    resolve_ce_type: Callable[[str], type[IntegrationEvent]] = resolve,
) -> list[SnapshotFinding]:
    """Every finding for `contracts` against the snapshots in `directory` (empty: all good)."""
    contracts = list(contracts)
    current = {contract.ce_type() for contract in contracts}
    findings = [finding for c in contracts if (finding := _compare(c, directory)) is not None]
    snapshots = sorted(directory.glob("*.json")) if directory.is_dir() else []
    for path in snapshots:
        ce_type = path.name.removesuffix(".json")
        if ce_type in current:
            continue
        try:
            parse_ce_type(ce_type)
            resolve_ce_type(ce_type)
        except (UnknownEventType, UnsupportedEventVersion) as exc:
            findings.append(SnapshotFinding(ce_type, "unreadable", (str(exc),)))
    return findings


def write_snapshots(
    contracts: Iterable[type[IntegrationEvent]],
    directory: Path = SNAPSHOT_DIR,
    *,
    force: bool = False,
) -> tuple[list[Path], list[SnapshotFinding]]:
    """Write missing and outdated snapshots; returns (written, refused as incompatible)."""
    written: list[Path] = []
    refused: list[SnapshotFinding] = []
    directory.mkdir(parents=True, exist_ok=True)
    for contract in contracts:
        finding = _compare(contract, directory)
        if finding is None:
            continue
        if finding.kind == "incompatible" and not force:
            refused.append(finding)
            continue
        path = snapshot_path(contract.ce_type(), directory)
        path.write_text(render(contract_schema(contract)), encoding="utf-8")
        written.append(path)
    return written, refused


_CONTRACTS_PACKAGE: Final = "byggrygg_shared.contracts"


def platform_contracts() -> list[type[IntegrationEvent]]:
    """Every registered contract defined in the contracts package.

    Contracts registered from anywhere else (tests define throw-away ones) have no place
    among the committed snapshots.
    """
    # Importing the package imports every contract module, filling the registry.
    import byggrygg_shared.contracts as contracts

    return [
        contract
        for contract in contracts.all_contracts()
        if contract.__module__ == _CONTRACTS_PACKAGE
        or contract.__module__.startswith(_CONTRACTS_PACKAGE + ".")
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m byggrygg_shared.schema_snapshots", description=__doc__.split("\n")[0]
    )
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="create or refresh snapshots")
    action.add_argument("--check", action="store_true", help="fail on any finding")
    parser.add_argument("--force", action="store_true", help="overwrite incompatible snapshots")
    parser.add_argument("--dir", type=Path, default=SNAPSHOT_DIR, help="snapshot directory")
    args = parser.parse_args(argv)
    contracts = platform_contracts()

    if args.write:
        written, refused = write_snapshots(contracts, args.dir, force=args.force)
        for path in written:
            print(f"wrote {path}")
        for finding in refused:
            print(f"refused (use --force only if this version was never deployed):\n{finding}")
        return 1 if refused else 0

    findings = check_snapshots(contracts, args.dir)
    for finding in findings:
        print(finding)
    print(f"{len(contracts)} contracts, {len(findings)} findings")
    return 1 if findings else 0


if __name__ == "__main__":
    raise SystemExit(main())
