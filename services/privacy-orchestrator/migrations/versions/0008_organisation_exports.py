"""Organisation export at a contract end (art. 28(3)(g)): the controller's request for its
organisation's data during the export offer, and the access requests filed for it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organisation_exports",
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.Column("contract_end_id", sa.UUID(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by_role", sa.Text(), nullable=False),
        sa.Column("filed", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("organisation_id"),
        comment="Organisation exports asked for during a contract end's offer (art. 28(3)(g))",
    )
    op.create_table(
        "organisation_export_requests",
        sa.Column("request_id", sa.UUID(), nullable=False),
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.PrimaryKeyConstraint("request_id"),
        comment="The access requests of an organisation export, one per subject",
    )
    op.create_index(
        op.f("ix_organisation_export_requests_organisation_id"),
        "organisation_export_requests",
        ["organisation_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_organisation_export_requests_organisation_id"),
        table_name="organisation_export_requests",
    )
    op.drop_table("organisation_export_requests")
    op.drop_table("organisation_exports")
