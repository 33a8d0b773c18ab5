"""Completion records (R19): the append-only record chain and its head.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS_HASH = "0" * 64


def upgrade() -> None:
    op.create_table(
        "completion_records",
        sa.Column("sequence", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("request_id", sa.UUID(), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("hash", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.Text(), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("sequence >= 1", name="completion_records_sequence_positive"),
        sa.PrimaryKeyConstraint("sequence"),
        sa.UniqueConstraint("hash"),
        sa.UniqueConstraint("request_id"),
        comment="Signed, hash-chained completion records of data-subject requests (R19); "
        "append-only",
    )
    op.create_table(
        "record_chain_head",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.Text(), nullable=False),
        sa.CheckConstraint("id = 1", name="record_chain_head_single_row"),
        sa.PrimaryKeyConstraint("id"),
        comment="The last completion record's sequence and hash; locked by every append",
    )
    # The head before the first record: sequence 0, the genesis hash.
    head = sa.table("record_chain_head", sa.column("id"), sa.column("sequence"), sa.column("hash"))
    op.bulk_insert(head, [{"id": 1, "sequence": 0, "hash": GENESIS_HASH}])
    # Append-only in the database too. The hashes and signatures catch whoever gets past this
    # (a superuser can switch triggers off); the trigger stops mistakes and ordinary roles.
    op.execute(
        """
        CREATE FUNCTION completion_records_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'completion records are append-only (% refused)', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER completion_records_no_change BEFORE UPDATE OR DELETE"
        " ON completion_records FOR EACH ROW EXECUTE FUNCTION completion_records_append_only()"
    )
    op.execute(
        "CREATE TRIGGER completion_records_no_truncate BEFORE TRUNCATE"
        " ON completion_records FOR EACH STATEMENT"
        " EXECUTE FUNCTION completion_records_append_only()"
    )


def downgrade() -> None:
    op.drop_table("record_chain_head")
    op.drop_table("completion_records")
    op.execute("DROP FUNCTION completion_records_append_only()")
