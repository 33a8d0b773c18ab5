"""The privacy participant finds a learner's answer events by index, not by reading the store.

Its evidence counts the learner's ``AnswerSubmitted`` events (``event_type`` and
``payload->>'subject_ref'``); without an index each erasure scanned every event, so a contract
end's cost grew with the square of its learners.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "events_type_subject_ref_idx",
        "events",
        ["event_type", sa.text("(payload ->> 'subject_ref')")],
    )


def downgrade() -> None:
    op.drop_index("events_type_subject_ref_idx", table_name="events")
