"""Access export (R14): the participants' parts as received, and the assembled export,
encrypted under the subject's key, until it expires.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "export_parts",
        sa.Column("request_id", sa.UUID(), nullable=False),
        sa.Column("participant", sa.Text(), nullable=False),
        sa.Column("export_token", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("request_id", "participant"),
        comment="Parts of access exports (R14) as key-ring tokens, until the export is assembled",
    )
    op.create_index(
        op.f("ix_export_parts_received_at"), "export_parts", ["received_at"], unique=False
    )
    op.create_table(
        "access_exports",
        sa.Column("request_id", sa.UUID(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("download_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_downloaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("request_id"),
        comment="Assembled access exports (R14), encrypted under the subject's key, until expiry",
    )
    op.create_index(
        op.f("ix_access_exports_expires_at"), "access_exports", ["expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_access_exports_expires_at"), table_name="access_exports")
    op.drop_table("access_exports")
    op.drop_index(op.f("ix_export_parts_received_at"), table_name="export_parts")
    op.drop_table("export_parts")
