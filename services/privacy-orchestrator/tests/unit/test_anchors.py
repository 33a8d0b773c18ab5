"""Anchors (R19): a chain head signed and kept outside the database catches what the chain
alone cannot, records removed from its end with the head rewound; and ``verify-records
--anchor`` says so (exit 1), or that it cannot tell from this file (exit 2)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from privacy_orchestrator.domain.anchors import (
    AnchorOutOfRange,
    build_checkpoint,
    read_anchor,
    verify_anchored,
)
from privacy_orchestrator.domain.canonical import GENESIS_HASH, canonical_json
from privacy_orchestrator.domain.chain import SealedRecord
from privacy_orchestrator.domain.errors import RecordVerificationFailed
from privacy_orchestrator.domain.export import ChainHead, build_export
from privacy_orchestrator.domain.signing import RecordSigner, public_key_pem
from privacy_orchestrator.main import cli

MakeChain = Callable[[RecordSigner, int], list[SealedRecord]]
AT = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)


def export_of(chain: list[SealedRecord], signer: RecordSigner, first: int = 1) -> bytes:
    """The export of ``chain[first-1:]``, as the service makes it of the chain it holds."""
    head = ChainHead(chain[-1].sequence, chain[-1].hash) if chain else ChainHead(0, GENESIS_HASH)
    return build_export(
        chain[first - 1 :],
        first_sequence=first,
        last_sequence=head.sequence,
        head=head,
        signer=signer,
        exported_at=AT,
    )


def checkpoint_of(chain: list[SealedRecord], signer: RecordSigner, upto: int) -> bytes:
    record = chain[upto - 1]
    return build_checkpoint(ChainHead(record.sequence, record.hash), signer=signer, taken_at=AT)


def test_a_chain_that_still_holds_its_anchors_verifies(
    signer: RecordSigner, make_chain: MakeChain
) -> None:
    chain = make_chain(signer, 5)
    anchors = [
        read_anchor(checkpoint_of(chain, signer, 3), signer.public_key),
        read_anchor(export_of(chain[:4], signer), signer.public_key),  # an earlier export
    ]
    assert [(a.sequence, a.kind) for a in anchors] == [(3, "checkpoint"), (4, "export")]
    assert verify_anchored(export_of(chain, signer), signer.public_key, anchors).count == 5


def test_records_removed_from_the_end_with_the_head_rewound_fail_against_an_anchor(
    signer: RecordSigner, make_chain: MakeChain
) -> None:
    chain = make_chain(signer, 5)
    anchor = read_anchor(checkpoint_of(chain, signer, 5), signer.public_key)
    # What a database superuser can do: drop records 4 and 5 and set the head to record 3.
    # The shorter export verifies on its own: that is the limit anchors close.
    shortened = export_of(chain[:3], signer)
    assert verify_anchored(shortened, signer.public_key, []).count == 3
    with pytest.raises(RecordVerificationFailed) as failed:
        verify_anchored(shortened, signer.public_key, [anchor])
    assert str(failed.value) == (
        "chain: ends at record 3, but the checkpoint of 2026-12-08T02:00:00.000000Z saw record "
        "5: records were removed from its end (head rewound)"
    )


def test_a_chain_rewritten_after_an_anchor_fails_at_the_anchored_record(
    signer: RecordSigner, make_chain: MakeChain
) -> None:
    chain = make_chain(signer, 4)
    anchor = read_anchor(checkpoint_of(chain, signer, 3), signer.public_key)
    rewritten = make_chain(signer, 4)  # another history from record 1, as long, same key
    with pytest.raises(RecordVerificationFailed) as failed:
        verify_anchored(export_of(rewritten, signer), signer.public_key, [anchor])
    assert failed.value.where == "record 3"
    assert "hash differs from the checkpoint of" in failed.value.problem


def test_an_export_that_does_not_reach_the_anchor_cannot_check_it(
    signer: RecordSigner, make_chain: MakeChain
) -> None:
    chain = make_chain(signer, 5)
    anchor = read_anchor(checkpoint_of(chain, signer, 2), signer.public_key)
    with pytest.raises(AnchorOutOfRange) as failed:
        verify_anchored(export_of(chain, signer, first=3), signer.public_key, [anchor])
    assert "not in this file (it holds 3..5)" in str(failed.value)


def test_an_anchor_of_the_empty_chain_holds_for_every_chain(
    signer: RecordSigner, make_chain: MakeChain
) -> None:
    empty = read_anchor(export_of([], signer), signer.public_key)
    assert empty.sequence == 0
    assert verify_anchored(export_of(make_chain(signer, 2), signer), signer.public_key, [empty])


def _forged_head(document: dict, signer: RecordSigner) -> dict:
    document["checkpoint"]["chain_head"]["sequence"] = 2
    return document


@pytest.mark.parametrize(
    ("spoil", "expected"),
    [
        (lambda data, other: data[:20], "anchor: is not valid UTF-8 JSON"),
        (
            lambda data, other: b"[]",
            "anchor: is not a checkpoint (byggrygg.completion-records-checkpoint.v1) or an "
            "export file",
        ),
        (
            lambda data, other: canonical_json(_forged_head(json.loads(data), other)),
            "anchor: signature is not valid for this public key",
        ),
        (
            lambda data, other: build_checkpoint(ChainHead(1, "a" * 64), signer=other, taken_at=AT),
            "anchor: was not signed with the given key",
        ),
    ],
)
def test_an_anchor_must_be_a_head_signed_with_the_key(
    signer: RecordSigner, make_chain: MakeChain, spoil: Callable, expected: str
) -> None:
    data = checkpoint_of(make_chain(signer, 3), signer, 3)
    other = RecordSigner(Ed25519PrivateKey.generate())
    with pytest.raises(RecordVerificationFailed) as failed:
        read_anchor(spoil(data, other), signer.public_key)
    assert str(failed.value) == expected


def run_verify(tmp_path: Path, signer: RecordSigner, export: bytes, *anchors: bytes) -> tuple:
    pem = tmp_path / "key.pem"
    pem.write_text(public_key_pem(signer.public_key))
    file = tmp_path / "export.json"
    file.write_bytes(export)
    arguments = ["verify-records", "--file", str(file), "--public-key", str(pem)]
    for number, anchor in enumerate(anchors):
        path = tmp_path / f"anchor-{number}.json"
        path.write_bytes(anchor)
        arguments += ["--anchor", str(path)]
    result = CliRunner().invoke(cli, arguments)
    return result.exit_code, result.stdout, result.stderr


def test_verify_records_checks_every_anchor(
    signer: RecordSigner, make_chain: MakeChain, tmp_path: Path
) -> None:
    chain = make_chain(signer, 5)
    checkpoint, earlier = checkpoint_of(chain, signer, 5), export_of(chain[:2], signer)
    assert run_verify(tmp_path, signer, export_of(chain, signer), checkpoint, earlier)[:2] == (
        0,
        "verified 5 records (1..5), holding the heads of 2 anchor(s)\n",
    )
    code, _, err = run_verify(tmp_path, signer, export_of(chain[:4], signer), earlier, checkpoint)
    assert code == 1
    assert err.startswith("FAILED: chain: ends at record 4, but the checkpoint of")
    code, _, err = run_verify(tmp_path, signer, export_of(chain, signer, first=3), earlier)
    assert code == 2
    assert err.startswith("CANNOT CHECK: record 2: is anchored by the export of")


def test_a_bad_anchor_file_fails_and_names_it(
    signer: RecordSigner, make_chain: MakeChain, tmp_path: Path
) -> None:
    chain = make_chain(signer, 2)
    code, _, err = run_verify(tmp_path, signer, export_of(chain, signer), b"{}")
    assert code == 1
    assert err == (
        f"FAILED: anchor {tmp_path / 'anchor-0.json'}: is not a checkpoint "
        "(byggrygg.completion-records-checkpoint.v1) or an export file\n"
    )


def test_anchors_and_a_single_record_do_not_mix(
    signer: RecordSigner, make_chain: MakeChain, tmp_path: Path
) -> None:
    chain = make_chain(signer, 2)
    pem = tmp_path / "key.pem"
    pem.write_text(public_key_pem(signer.public_key))
    (tmp_path / "e.json").write_bytes(export_of(chain, signer))
    (tmp_path / "a.json").write_bytes(checkpoint_of(chain, signer, 2))
    result = CliRunner().invoke(
        cli,
        [
            *("verify-records", "--file", str(tmp_path / "e.json"), "--public-key", str(pem)),
            *("--sequence", "1", "--anchor", str(tmp_path / "a.json")),
        ],
    )
    assert result.exit_code == 2
    assert "leave out --sequence" in result.stderr
