"""The export file verifies offline, and any change to it fails (R19)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privacy_orchestrator.domain.canonical import GENESIS_HASH, canonical_json
from privacy_orchestrator.domain.chain import SealedRecord
from privacy_orchestrator.domain.errors import RecordVerificationFailed
from privacy_orchestrator.domain.export import ChainHead, build_export, verify_export
from privacy_orchestrator.domain.signing import RecordSigner

MakeChain = Callable[[RecordSigner, int], list[SealedRecord]]
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def export(
    signer: RecordSigner, chain: list[SealedRecord], *, first: int = 1, last: int | None = None
) -> bytes:
    end = chain[-1].sequence if last is None else last
    head = ChainHead(chain[-1].sequence, chain[-1].hash) if chain else ChainHead(0, GENESIS_HASH)
    selected = [r for r in chain if first <= r.sequence <= end]
    return build_export(
        selected,
        first_sequence=first,
        last_sequence=end,
        head=head,
        signer=signer,
        exported_at=NOW,
    )


def fails(data: bytes, signer: RecordSigner, sequence: int | None = None) -> str:
    with pytest.raises(RecordVerificationFailed) as failed:
        verify_export(data, signer.public_key, sequence=sequence)
    return str(failed.value)


def test_an_export_verifies_and_is_canonical_json(
    signer: RecordSigner, make_chain: MakeChain
) -> None:
    data = export(signer, make_chain(signer, 3))
    assert canonical_json(json.loads(data)) == data
    verified = verify_export(data, signer.public_key)
    assert (verified.count, verified.first_sequence, verified.last_sequence) == (3, 1, 3)


def test_one_record_verifies_on_its_own(signer: RecordSigner, make_chain: MakeChain) -> None:
    data = export(signer, make_chain(signer, 3))
    assert verify_export(data, signer.public_key, sequence=2).count == 1
    assert "record 7" in fails(data, signer, sequence=7)


def test_an_empty_chain_exports_and_verifies(signer: RecordSigner) -> None:
    data = build_export(
        [],
        first_sequence=1,
        last_sequence=0,
        head=ChainHead(0, GENESIS_HASH),
        signer=signer,
        exported_at=NOW,
    )
    assert verify_export(data, signer.public_key).count == 0


def test_a_partial_range_verifies(signer: RecordSigner, make_chain: MakeChain) -> None:
    data = export(signer, make_chain(signer, 5), first=2, last=4)
    assert verify_export(data, signer.public_key).count == 3


def test_another_key_fails_on_the_manifest(signer: RecordSigner, make_chain: MakeChain) -> None:
    data = export(signer, make_chain(signer, 2))
    other = RecordSigner(Ed25519PrivateKey.generate())
    assert fails(data, other).startswith("manifest: the file was signed with key")


def test_a_file_cut_at_a_record_boundary_fails(signer: RecordSigner, make_chain: MakeChain) -> None:
    chain = make_chain(signer, 3)
    document = json.loads(export(signer, chain))
    document["records"] = document["records"][:2]
    message = fails(canonical_json(document), signer)
    assert "the manifest says records 1..3 but the file ends at record 2" in message


def test_a_deleted_last_record_shows_against_the_chain_head(
    signer: RecordSigner, make_chain: MakeChain
) -> None:
    chain = make_chain(signer, 3)
    # What an export of a database whose last row was deleted looks like: the head says 3.
    data = build_export(
        chain[:2],
        first_sequence=1,
        last_sequence=3,
        head=ChainHead(3, chain[2].hash),
        signer=signer,
        exported_at=NOW,
    )
    assert "ends at record 2" in fails(data, signer)


@pytest.mark.parametrize("keep", [0, 1, 100, 1000, -1])
def test_a_truncated_file_fails(signer: RecordSigner, make_chain: MakeChain, keep: int) -> None:
    data = export(signer, make_chain(signer, 3))
    assert fails(data[:keep], signer).startswith("file: is not valid UTF-8 JSON")


def test_pretty_printing_the_file_fails(signer: RecordSigner, make_chain: MakeChain) -> None:
    data = export(signer, make_chain(signer, 2))
    pretty = json.dumps(json.loads(data), indent=2, ensure_ascii=False).encode()
    assert "not in canonical form" in fails(pretty, signer)


# One chain for the property test: built once, changed one byte at a time.
_SIGNER = RecordSigner(Ed25519PrivateKey.generate())
_DATA: bytes = b""


def _export_once(make_chain: MakeChain) -> bytes:
    global _DATA
    if not _DATA:
        _DATA = export(_SIGNER, make_chain(_SIGNER, 3))
    return _DATA


@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.floats(min_value=0, max_value=1, exclude_max=True), new=st.integers(0, 255))
def test_any_single_byte_change_in_any_record_is_detected(
    make_chain: MakeChain, position: float, new: int
) -> None:
    data = _export_once(make_chain)
    start = data.index(b'"records":')
    index = start + int(position * (len(data) - start))
    if data[index] == new:
        new = (new + 1) % 256
    changed = data[:index] + bytes([new]) + data[index + 1 :]
    with pytest.raises(RecordVerificationFailed):
        verify_export(changed, _SIGNER.public_key)


def test_flipping_any_bit_of_any_byte_of_the_records_is_detected(make_chain: MakeChain) -> None:
    # Exhaustive over positions (the property test above samples positions and values).
    data = _export_once(make_chain)
    start = data.index(b'"records":')
    undetected = []
    for index in range(start, len(data)):
        for bit in (0x01, 0x20):
            changed = data[:index] + bytes([data[index] ^ bit]) + data[index + 1 :]
            try:
                verify_export(changed, _SIGNER.public_key)
            except RecordVerificationFailed:
                continue
            undetected.append((index, bit))
    assert undetected == []
