"""Records are hashed over RFC 8785 canonical JSON: sorted keys, no whitespace, UTF-8."""

from __future__ import annotations

import hashlib

import pytest
import rfc8785

from privacy_orchestrator.domain.canonical import canonical_json, is_hash, sha256_hex


def test_keys_are_sorted_and_there_is_no_whitespace() -> None:
    assert canonical_json({"b": [1, {"z": None, "a": True}], "a": "x"}) == (
        b'{"a":"x","b":[1,{"a":true,"z":null}]}'
    )


def test_keys_sort_by_utf16_code_units_and_text_is_utf8() -> None:
    # RFC 8785 3.2.3: U+1F600 sorts before U+E000 in UTF-16 (its high surrogate 0xD83D is
    # below 0xE000), though not by code point.
    assert canonical_json({"\ue000": 2, "\U0001f600": 1, "é": 3}) == (
        '{"é":3,"\U0001f600":1,"\ue000":2}'.encode()
    )


def test_control_characters_are_escaped_the_one_canonical_way() -> None:
    assert canonical_json('a\nb\u001f"\\') == b'"a\\nb\\u001f\\"\\\\"'


def test_integers_outside_the_exact_range_are_refused() -> None:
    with pytest.raises(rfc8785.IntegerDomainError):
        canonical_json(2**60)


def test_the_hash_is_sha256_of_the_canonical_bytes() -> None:
    data = canonical_json({"a": 1})
    assert sha256_hex(data) == hashlib.sha256(b'{"a":1}').hexdigest()
    assert is_hash(sha256_hex(data))
    assert not is_hash(sha256_hex(data).upper())
    assert not is_hash("0" * 63)
