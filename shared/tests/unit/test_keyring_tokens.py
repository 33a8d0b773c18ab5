"""Key ring pieces that need no database: the ERASED marker, tokens, the master key file."""

from __future__ import annotations

import base64
import pickle
import stat
from pathlib import Path
from typing import cast

import asyncpg
import pytest

from byggrygg_shared.keyring import (
    ERASED,
    Erased,
    KeyRing,
    MalformedToken,
    MasterKeyMismatch,
    create_master_key_file,
    is_token,
    load_master_key,
)


def test_erased_is_a_singleton_that_reads_as_erased() -> None:
    assert Erased() is ERASED
    assert str(ERASED) == "[erased]"
    assert repr(ERASED) == "ERASED"
    assert pickle.loads(pickle.dumps(ERASED)) is ERASED


def test_token_shape_is_recognised() -> None:
    assert is_token("enc:v1:" + "0" * 32 + ":AAAA")
    assert not is_token("enc:v1:short:AAAA")
    assert not is_token("Kari Nordmann")
    assert not is_token(None)


@pytest.mark.parametrize(
    "token",
    [
        "plain text",
        "enc:v2:" + "0" * 32 + ":AAAA",
        "enc:v1:" + "0" * 32 + ":",
        "enc:v1:" + "0" * 32 + ":AAAA",  # decodes, but far too short to hold nonce + tag
        "enc:v1:" + "0" * 32 + ":A===",
    ],
)
async def test_malformed_tokens_are_refused_before_any_lookup(token: str) -> None:
    # The pool is never touched: a malformed token fails on its shape alone.
    ring = KeyRing(cast(asyncpg.Pool, object()), b"k" * 32)
    with pytest.raises(MalformedToken):
        await ring.decrypt("subj_x", token)


def test_master_key_file_is_created_once_private_and_loadable(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "master.key"
    assert create_master_key_file(path, random_bytes=lambda n: b"\x01" * n)
    assert not create_master_key_file(path, random_bytes=lambda n: b"\x02" * n)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_master_key(path) == b"\x01" * 32


def test_a_master_key_of_the_wrong_size_or_encoding_is_refused(tmp_path: Path) -> None:
    short = tmp_path / "short.key"
    short.write_text(base64.b64encode(b"x" * 16).decode())
    with pytest.raises(MasterKeyMismatch):
        load_master_key(short)
    garbage = tmp_path / "garbage.key"
    garbage.write_text("not base64 !!")
    with pytest.raises(MasterKeyMismatch):
        load_master_key(garbage)
    with pytest.raises(MasterKeyMismatch):
        KeyRing(cast(asyncpg.Pool, object()), b"short")
