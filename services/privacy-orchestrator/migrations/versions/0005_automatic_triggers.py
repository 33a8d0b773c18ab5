"""Automatic triggers and retention clocks (R2, R6, art. 28(3)(g)): the triggers that filed an
erasure, the subjects of each organisation (pseudonyms only), contract ends with their export
offer and erasure progress, and an index to find a subject's open erasure.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "automatic_erasures",
        sa.Column("trigger_id", sa.UUID(), nullable=False),
        sa.Column("trigger", sa.Text(), nullable=False),
        sa.Column("request_id", sa.UUID(), nullable=False),
        sa.Column("filed", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("trigger_id"),
        comment="Triggers of automatic erasures (R2, R6): each files at most one request",
    )
    op.create_index(
        op.f("ix_automatic_erasures_request_id"),
        "automatic_erasures",
        ["request_id"],
        unique=False,
    )
    op.create_table(
        "organisation_subjects",
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.Column("subject_ref", sa.Text(), nullable=False),
        sa.Column("listed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("organisation_id", "subject_ref"),
        comment="The subjects of each organisation (pseudonyms only), for its contract end (R6)",
    )
    op.create_index(
        "ix_organisation_subjects_subject_ref",
        "organisation_subjects",
        ["subject_ref"],
        unique=False,
    )
    op.create_table(
        "contract_ends",
        sa.Column("contract_end_id", sa.UUID(), nullable=False),
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=False),
        sa.Column("retention", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("offer_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("offer_ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("offer_outcome", sa.Text(), nullable=True),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("filed", sa.Integer(), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('export_offered', 'erasing', 'erasure_filed')", name="contract_ends_state"
        ),
        sa.CheckConstraint(
            "offer_outcome IS NULL OR offer_outcome IN ('expired', 'declined')",
            name="contract_ends_offer_outcome",
        ),
        sa.PrimaryKeyConstraint("contract_end_id"),
        sa.UniqueConstraint("organisation_id"),
        comment="Contract ends (R2, R6): the controller's export offer, then the erasure's "
        "progress",
    )
    op.create_index("ix_contract_ends_due", "contract_ends", ["state", "offer_until"], unique=False)
    op.create_index("ix_requests_subject_ref", "requests", ["subject_ref"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_requests_subject_ref", table_name="requests")
    op.drop_index("ix_contract_ends_due", table_name="contract_ends")
    op.drop_table("contract_ends")
    op.drop_index("ix_organisation_subjects_subject_ref", table_name="organisation_subjects")
    op.drop_table("organisation_subjects")
    op.drop_index(op.f("ix_automatic_erasures_request_id"), table_name="automatic_erasures")
    op.drop_table("automatic_erasures")
