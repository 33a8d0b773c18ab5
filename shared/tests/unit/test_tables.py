"""The shared table definitions render to the DDL DESIGN §2 describes."""

from __future__ import annotations

import sqlalchemy as sa

from byggrygg_shared.db import render_ddl
from byggrygg_shared.eventstore import events_table
from byggrygg_shared.inbox import inbox_table


def test_events_table_has_the_design_columns_and_the_outbox_index() -> None:
    metadata = sa.MetaData()
    table = events_table(metadata)
    assert events_table(metadata) is table  # idempotent per metadata
    assert [c.name for c in table.columns] == [
        "global_position",
        "stream_id",
        "version",
        "event_type",
        "event_version",
        "payload",
        "metadata",
        "recorded_at",
        "published_at",
    ]
    ddl = "\n".join(render_ddl(metadata))
    assert "BIGSERIAL" in ddl
    assert "UNIQUE (stream_id, version)" in ddl
    assert "WHERE published_at IS NULL" in ddl


def test_inbox_primary_key_is_consumer_and_event_id() -> None:
    table = inbox_table(sa.MetaData())
    assert [c.name for c in table.primary_key.columns] == ["consumer", "event_id"]
