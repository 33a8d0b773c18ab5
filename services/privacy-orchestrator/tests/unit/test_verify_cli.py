"""`privacy-orchestrator verify-records` in process (typer's runner): the message and exit
code for each kind of damage. The real-process runs are in tests/integration/test_cli.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from privacy_orchestrator.domain.canonical import canonical_json
from privacy_orchestrator.domain.chain import SealedRecord
from privacy_orchestrator.domain.export import ChainHead, build_export
from privacy_orchestrator.domain.signing import RecordSigner, public_key_pem
from privacy_orchestrator.main import cli

MakeChain = Callable[[RecordSigner, int], list[SealedRecord]]


@pytest.fixture
def exported(signer: RecordSigner, make_chain: MakeChain, tmp_path: Path) -> tuple[bytes, Path]:
    chain = make_chain(signer, 3)
    data = build_export(
        chain,
        first_sequence=1,
        last_sequence=3,
        head=ChainHead(3, chain[-1].hash),
        signer=signer,
        exported_at=datetime(2026, 11, 25, tzinfo=UTC),
    )
    pem = tmp_path / "key.pem"
    pem.write_text(public_key_pem(signer.public_key))
    return data, pem


def verify(tmp_path: Path, content: bytes, pem: Path, *extra: str) -> tuple[int, str, str]:
    file = tmp_path / "export.json"
    file.write_bytes(content)
    result = CliRunner().invoke(
        cli, ["verify-records", "--file", str(file), "--public-key", str(pem), *extra]
    )
    return result.exit_code, result.stdout, result.stderr


def test_a_good_file_verifies(exported: tuple[bytes, Path], tmp_path: Path) -> None:
    data, pem = exported
    assert verify(tmp_path, data, pem)[:2] == (0, "verified 3 records (1..3)\n")
    assert verify(tmp_path, data, pem, "--sequence", "3")[:2] == (0, "verified record 3\n")


def _reordered(document: dict[str, Any]) -> dict[str, Any]:
    return dict(document, records=[document["records"][i] for i in (0, 2, 1)])


def _forged(document: dict[str, Any]) -> dict[str, Any]:
    forger = RecordSigner(Ed25519PrivateKey.generate())
    document["records"][0]["signature"] = forger.sign(document["records"][0]["hash"])
    return document


def _relinked(document: dict[str, Any]) -> dict[str, Any]:
    for where in (document["records"][1], document["records"][1]["record"]):
        where["prev_hash"] = "b" * 64
    return document


def _dropped(document: dict[str, Any]) -> dict[str, Any]:
    del document["records"][1]
    return document


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (_reordered, "FAILED: record 3: expected record 2 here"),
        (_forged, "FAILED: record 1: signature is not valid for this public key"),
        (_relinked, "FAILED: record 2: hash does not match"),
        (_dropped, "FAILED: record 3: expected record 2 here: record 2 is missing (deleted?)"),
    ],
)
def test_damage_names_the_first_bad_record(
    exported: tuple[bytes, Path], tmp_path: Path, damage: Callable, expected: str
) -> None:
    data, pem = exported
    code, _, err = verify(tmp_path, canonical_json(damage(json.loads(data))), pem)
    assert code == 1
    assert err.startswith(expected), err


def test_a_truncated_file_fails(exported: tuple[bytes, Path], tmp_path: Path) -> None:
    data, pem = exported
    code, _, err = verify(tmp_path, data[: len(data) // 2], pem)
    assert (code, err.split(":")[:2]) == (1, ["FAILED", " file"])


def test_the_wrong_key_fails(exported: tuple[bytes, Path], tmp_path: Path) -> None:
    data, _ = exported
    other = tmp_path / "other.pem"
    other.write_text(public_key_pem(Ed25519PrivateKey.generate().public_key()))
    code, _, err = verify(tmp_path, data, other)
    assert code == 1
    assert err.startswith("FAILED: manifest: the file was signed with key sha256:")


def test_unreadable_inputs_exit_2(exported: tuple[bytes, Path], tmp_path: Path) -> None:
    data, pem = exported
    not_a_key = tmp_path / "not-a-key.pem"
    not_a_key.write_text("hello")
    assert verify(tmp_path, data, not_a_key)[0] == 2
    result = CliRunner().invoke(
        cli,
        ["verify-records", "--file", str(tmp_path / "none.json"), "--public-key", str(pem)],
    )
    assert result.exit_code == 2


@pytest.mark.parametrize("command", ["export-records", "export-public-key"])
def test_the_export_commands_never_create_a_signing_key(tmp_path: Path, command: str) -> None:
    key_file = tmp_path / "secrets" / "absent.pem"
    result = CliRunner().invoke(
        cli,
        [command, "--out", str(tmp_path / "out")],
        env={"BYGGRYGG_PRIVACY_ORCHESTRATOR_SIGNING_KEY_FILE": str(key_file)},
    )
    assert result.exit_code == 2
    assert "no signing key" in result.stderr
    assert not key_file.exists()
    assert not (tmp_path / "out").exists()
