"""Every platform contract matches its committed JSON Schema snapshot (DESIGN §2).

Fails when a contract has no snapshot, changed incompatibly without a new event_version,
changed compatibly without ``--write``, or when an old version's events could no longer be
read. The rules themselves are tested (and shown to fail) in unit/test_schema_snapshots.py.
"""

from byggrygg_shared.schema_snapshots import SNAPSHOT_DIR, check_snapshots, platform_contracts


def test_every_contract_matches_its_snapshot() -> None:
    findings = check_snapshots(platform_contracts(), SNAPSHOT_DIR)

    assert not findings, (
        "contract snapshots out of line:\n"
        + "\n".join(map(str, findings))
        + "\n(see shared/contracts-snapshots/README.md)"
    )


def test_snapshot_directory_is_in_the_repository() -> None:
    assert SNAPSHOT_DIR.is_dir()
    assert (SNAPSHOT_DIR / "README.md").is_file()
