"""The privacy participant finds a subject's events by index, not by reading the whole store.

Its evidence counts the subject's events per type (``metadata->>'subject_ref'``); without an
index each erasure scanned every event, so a contract end's cost grew with the square of its
users.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("events_subject_ref_idx", "events", [sa.text("(metadata ->> 'subject_ref')")])


def downgrade() -> None:
    op.drop_index("events_subject_ref_idx", table_name="events")
