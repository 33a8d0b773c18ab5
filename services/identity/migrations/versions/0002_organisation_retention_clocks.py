"""R2's clocks on an ended customer's data: when its contact details and its payment
information were erased, and which retention claims staff settled.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("organisations", sa.Column("contact_details_erased_on", sa.Date(), nullable=True))
    op.add_column(
        "organisations", sa.Column("payment_information_erased_on", sa.Date(), nullable=True)
    )
    op.add_column("retention_claims", sa.Column("settled_on", sa.Date(), nullable=True))
    op.add_column("retention_claims", sa.Column("settled_by", sa.Text(), nullable=True))
    # The retention worker's daily question: which ended customers still hold data R2 erases.
    op.create_index(
        "ix_organisations_retention_pending",
        "organisations",
        ["ended_on"],
        postgresql_where=sa.text(
            "status = 'ended' AND (contact_details_erased_on IS NULL "
            "OR payment_information_erased_on IS NULL)"
        ),
    )


def downgrade() -> None:
    op.drop_index("ix_organisations_retention_pending", table_name="organisations")
    op.drop_column("retention_claims", "settled_by")
    op.drop_column("retention_claims", "settled_on")
    op.drop_column("organisations", "payment_information_erased_on")
    op.drop_column("organisations", "contact_details_erased_on")
