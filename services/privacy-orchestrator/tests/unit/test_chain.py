"""The hash chain and signatures, in memory: every kind of tampering is caught (R19)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from privacy_orchestrator.domain.canonical import GENESIS_HASH
from privacy_orchestrator.domain.chain import SealedRecord, verify_chain
from privacy_orchestrator.domain.errors import RecordVerificationFailed
from privacy_orchestrator.domain.signing import RecordSigner

MakeChain = Callable[[RecordSigner, int], list[SealedRecord]]


def entries(chain: list[SealedRecord]) -> list[dict[str, Any]]:
    return [copy.deepcopy(record.entry()) for record in chain]


def failure(items: list[Any], signer: RecordSigner, first: int = 1) -> RecordVerificationFailed:
    with pytest.raises(RecordVerificationFailed) as failed:
        verify_chain(items, signer.public_key, first_sequence=first)
    return failed.value


def test_a_sealed_chain_links_each_record_to_the_one_before(
    signer: RecordSigner, make_chain: MakeChain
) -> None:
    chain = make_chain(signer, 3)
    assert [r.sequence for r in chain] == [1, 2, 3]
    assert chain[0].prev_hash == GENESIS_HASH
    assert chain[1].prev_hash == chain[0].hash
    assert chain[2].prev_hash == chain[1].hash
    assert verify_chain(entries(chain), signer.public_key) == 3


def test_a_changed_value_fails_at_that_record(signer: RecordSigner, make_chain: MakeChain) -> None:
    items = entries(make_chain(signer, 3))
    items[1]["record"]["participants"][0]["evidence"][0]["count"] = 0
    error = failure(items, signer)
    assert error.where == "record 2"
    assert "hash does not match" in error.problem


def test_a_changed_record_with_a_recomputed_hash_fails_on_its_signature(
    signer: RecordSigner, make_chain: MakeChain
) -> None:
    from privacy_orchestrator.domain.canonical import canonical_json, sha256_hex

    items = entries(make_chain(signer, 3))
    items[2]["record"]["outcome"] = "completed"
    items[2]["hash"] = sha256_hex(canonical_json(items[2]["record"]))
    error = failure(items, signer)
    assert error.where == "record 3"
    assert "signature" in error.problem


def test_a_removed_record_breaks_the_sequence(signer: RecordSigner, make_chain: MakeChain) -> None:
    items = entries(make_chain(signer, 4))
    del items[1]
    error = failure(items, signer)
    assert error.where == "record 3"
    assert "record 2 is missing" in error.problem


def test_reordered_records_fail(signer: RecordSigner, make_chain: MakeChain) -> None:
    items = entries(make_chain(signer, 3))
    items[1], items[2] = items[2], items[1]
    error = failure(items, signer)
    assert error.where == "record 3"


def test_a_chain_signed_by_another_key_fails(signer: RecordSigner, make_chain: MakeChain) -> None:
    other = RecordSigner(Ed25519PrivateKey.generate())
    items = entries(make_chain(other, 2))
    error = failure(items, signer)
    assert error.where == "record 1"
    assert "signature is not valid" in error.problem


def test_a_record_re_signed_with_another_key_fails(
    signer: RecordSigner, make_chain: MakeChain
) -> None:
    other = RecordSigner(Ed25519PrivateKey.generate())
    items = entries(make_chain(signer, 3))
    items[1]["signature"] = other.sign(items[1]["hash"])
    assert failure(items, signer).where == "record 2"


def test_a_tampered_prev_hash_fails(signer: RecordSigner, make_chain: MakeChain) -> None:
    items = entries(make_chain(signer, 3))
    items[2]["prev_hash"] = "f" * 64
    error = failure(items, signer)
    assert error.where == "record 3"
    assert "prev_hash" in error.problem


def test_a_valid_record_from_another_chain_does_not_link(
    signer: RecordSigner, make_chain: MakeChain
) -> None:
    # Both chains are signed by the same key; record 2 of the second does not follow record 1
    # of the first.
    first, second = entries(make_chain(signer, 2)), entries(make_chain(signer, 2))
    error = failure([first[0], second[1]], signer)
    assert error.where == "record 2"
    assert "does not match the hash of record 1" in error.problem


def test_the_first_record_must_start_from_the_genesis(
    signer: RecordSigner, make_chain: MakeChain
) -> None:
    items = entries(make_chain(signer, 3))
    assert failure(items[1:], signer).where == "record 2"
    # A partial range starts wherever it says and checks the links inside it.
    assert verify_chain(items[1:], signer.public_key, first_sequence=2) == 2


def test_uppercase_hex_is_not_accepted(signer: RecordSigner, make_chain: MakeChain) -> None:
    items = entries(make_chain(signer, 1))
    items[0]["signature"] = items[0]["signature"].upper()
    assert failure(items, signer).where == "record 1"
