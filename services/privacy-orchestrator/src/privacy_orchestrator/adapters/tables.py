"""The orchestrator's database schema as SQLAlchemy metadata: alembic migrates from it, and the
data-inventory test reads it (docs/decisions.md).

- ``completion_records``: the append-only chain of signed completion records (R19). One row per
  request; ``record`` is the canonical JSON text exactly as hashed. A trigger (migration 0001)
  refuses UPDATE, DELETE and TRUNCATE; the hashes and signatures catch whoever gets past it.
- ``record_chain_head``: one row, the last record's sequence and hash. Appends lock it
  (``SELECT ... FOR UPDATE``), so they are serialised and the chain can never fork; an export
  reports it, so a deleted last record shows.

The request workflow's tables (events, inbox, requests) come with the next migrations.
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

METADATA: Final = sa.MetaData()

COMPLETION_RECORDS: Final = sa.Table(
    "completion_records",
    METADATA,
    sa.Column("sequence", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("request_id", postgresql.UUID(as_uuid=True), nullable=False, unique=True),
    sa.Column("record", sa.Text, nullable=False),
    sa.Column("hash", sa.Text, nullable=False, unique=True),
    sa.Column("prev_hash", sa.Text, nullable=False),
    sa.Column("signature", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("sequence >= 1", name="completion_records_sequence_positive"),
    comment="Signed, hash-chained completion records of data-subject requests (R19); append-only",
)

RECORD_CHAIN_HEAD: Final = sa.Table(
    "record_chain_head",
    METADATA,
    sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("sequence", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.Text, nullable=False),
    sa.CheckConstraint("id = 1", name="record_chain_head_single_row"),
    comment="The last completion record's sequence and hash; locked by every append",
)
