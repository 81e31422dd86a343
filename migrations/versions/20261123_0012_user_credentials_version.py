"""users: a credentials version, so a password reset ends the sessions signed in before it

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23 03:45:00

Local bearer tokens carry the user's credentials version; a token whose version is not the
user's current one is refused. Existing users start at 1, and tokens issued before this
revision (which carry no version) count as version 1, so nobody is signed out by the upgrade.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("credentials_version", sa.Integer(), server_default=sa.text("1"), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("users", "credentials_version")
