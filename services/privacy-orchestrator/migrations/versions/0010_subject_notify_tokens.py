"""Where to tell a person of an automatic erasure's kept data (R10): the login e-mail of each
directory subject, as identity's key-ring token under the subject's own key.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("organisation_subjects", sa.Column("email_token", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("organisation_subjects", "email_token")
