"""Replay protection on real PostgreSQL: one webhook id accepted once, with the effect."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
import sqlalchemy as sa

from byggrygg_shared.db import create_all, create_pool, transaction
from byggrygg_shared.webhooks import (
    PostgresWebhookReceipts,
    ReceiptOutsideTransaction,
    ReplayedWebhook,
    WebhookSigner,
    WebhookVerifier,
    forget_receipts_before,
    generate_secret,
    webhook_receipts_table,
)

SECRET = generate_secret()
BODY = b'{"type": "privacy.erasure.completed", "data": {"request_id": "r-1"}}'


@pytest.fixture
async def pool(fresh_database: str) -> AsyncIterator[asyncpg.Pool]:
    metadata = sa.MetaData()
    webhook_receipts_table(metadata)
    conn = await asyncpg.connect(fresh_database)
    try:
        await create_all(conn, metadata)
        await conn.execute("CREATE TABLE confirmations (webhook_id text NOT NULL)")
    finally:
        await conn.close()
    created = await create_pool(fresh_database, min_size=1, max_size=4)
    try:
        yield created
    finally:
        await created.close()


async def receive(pool: asyncpg.Pool, headers: dict[str, str], *, fail: bool = False) -> None:
    """The receiver's pattern: receipt and effect in one transaction."""
    async with transaction(pool) as conn:
        message = await WebhookVerifier([SECRET]).verify_once(
            BODY, headers, PostgresWebhookReceipts(conn)
        )
        await conn.execute("INSERT INTO confirmations VALUES ($1)", message.webhook_id)
        if fail:
            raise RuntimeError("the effect failed after the receipt")


async def confirmations(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM confirmations"))


async def test_an_id_is_accepted_once_then_refused_as_a_replay(pool: asyncpg.Pool) -> None:
    signer = WebhookSigner([SECRET])
    webhook_id = signer.new_id()
    await receive(pool, signer.headers(BODY, webhook_id=webhook_id))
    with pytest.raises(ReplayedWebhook):
        await receive(pool, signer.headers(BODY, webhook_id=webhook_id))
    assert await confirmations(pool) == 1
    assert await pool.fetchval("SELECT webhook_id FROM webhook_receipts") == webhook_id


async def test_a_failed_effect_rolls_back_its_receipt(pool: asyncpg.Pool) -> None:
    signer = WebhookSigner([SECRET])
    headers = signer.headers(BODY, webhook_id=signer.new_id())
    with pytest.raises(RuntimeError, match="effect failed"):
        await receive(pool, headers, fail=True)
    # The sender's retry is applied: the id was not kept by the rolled-back transaction.
    await receive(pool, headers)
    assert await confirmations(pool) == 1


async def test_concurrent_deliveries_of_one_id_apply_once(pool: asyncpg.Pool) -> None:
    signer = WebhookSigner([SECRET])
    headers = signer.headers(BODY, webhook_id=signer.new_id())
    outcomes = await asyncio.gather(
        *(receive(pool, headers) for _ in range(4)), return_exceptions=True
    )
    assert sum(outcome is None for outcome in outcomes) == 1
    assert all(isinstance(outcome, ReplayedWebhook) for outcome in outcomes if outcome is not None)
    assert await confirmations(pool) == 1


async def test_a_receipt_outside_a_transaction_is_refused(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        with pytest.raises(ReceiptOutsideTransaction):
            await PostgresWebhookReceipts(conn).remember("msg_1", datetime.now(UTC))
    assert await pool.fetchval("SELECT count(*) FROM webhook_receipts") == 0


async def test_old_receipts_can_be_forgotten(pool: asyncpg.Pool) -> None:
    now = datetime.now(UTC)
    async with transaction(pool) as conn:
        receipts = PostgresWebhookReceipts(conn)
        assert await receipts.remember("old", now - timedelta(hours=1))
        assert await receipts.remember("new", now)
    async with pool.acquire() as conn:
        assert await forget_receipts_before(conn, now - timedelta(minutes=10)) == 1
    assert await pool.fetchval("SELECT array_agg(webhook_id) FROM webhook_receipts") == ["new"]
