"""Newsletter sign-ups that expire unconfirmed (R8): the ``expired`` status and its time, and
the queue of keys to destroy (``newsletter_key_shreds``).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATUS = "newsletter_subscriptions_status_check"
_CLEARED = "newsletter_subscriptions_withdrawn_cleared_check"
_OLD_COMMENT = "Unexpired double-opt-in tokens (hashes only) of pending subscriptions (R8)"
_NEW_COMMENT = "Double-opt-in tokens (hashes only) of unconfirmed subscriptions (R8)"


def upgrade() -> None:
    op.add_column(
        "newsletter_subscriptions",
        sa.Column("expired_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.drop_constraint(_STATUS, "newsletter_subscriptions", type_="check")
    op.create_check_constraint(
        _STATUS,
        "newsletter_subscriptions",
        "status IN ('pending', 'confirmed', 'withdrawn', 'expired')",
    )
    op.drop_constraint(_CLEARED, "newsletter_subscriptions", type_="check")
    op.create_check_constraint(
        _CLEARED,
        "newsletter_subscriptions",
        "status NOT IN ('withdrawn', 'expired') "
        "OR (name IS NULL AND email IS NULL AND role IS NULL)",
    )
    op.create_table_comment(
        "newsletter_confirmations",
        _NEW_COMMENT,
        existing_comment=_OLD_COMMENT,
    )
    op.create_table(
        "newsletter_key_shreds",
        sa.Column("subject_ref", sa.Text(), nullable=False),
        sa.Column("subscription_id", sa.UUID(), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"], ["newsletter_subscriptions.subscription_id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("subject_ref"),
        comment="Keys of expired, never-confirmed newsletter sign-ups still to destroy (R8)",
    )


def downgrade() -> None:
    op.drop_table("newsletter_key_shreds")
    op.create_table_comment(
        "newsletter_confirmations",
        _OLD_COMMENT,
        existing_comment=_NEW_COMMENT,
    )
    op.drop_constraint(_CLEARED, "newsletter_subscriptions", type_="check")
    op.create_check_constraint(
        _CLEARED,
        "newsletter_subscriptions",
        "status <> 'withdrawn' OR (name IS NULL AND email IS NULL AND role IS NULL)",
    )
    op.drop_constraint(_STATUS, "newsletter_subscriptions", type_="check")
    op.create_check_constraint(
        _STATUS, "newsletter_subscriptions", "status IN ('pending', 'confirmed', 'withdrawn')"
    )
    op.drop_column("newsletter_subscriptions", "expired_at")
