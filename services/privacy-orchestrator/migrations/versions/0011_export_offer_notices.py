"""Telling the controller of its export offer (art. 28(3)(g)): the organisation's contact
persons with identity's token of their e-mail, and when a contract end's reminder went out.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organisation_contacts",
        sa.Column("organisation_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("subject_ref", sa.Text(), nullable=False),
        sa.Column("email_token", sa.Text(), nullable=False),
        sa.Column("listed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("organisation_id", "subject_ref"),
        comment="The contact persons of each organisation, told of its export offer",
    )
    op.create_index(
        "ix_organisation_contacts_subject_ref", "organisation_contacts", ["subject_ref"]
    )
    op.add_column(
        "contract_ends", sa.Column("offer_reminded_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("contract_ends", "offer_reminded_at")
    op.drop_index("ix_organisation_contacts_subject_ref", table_name="organisation_contacts")
    op.drop_table("organisation_contacts")
