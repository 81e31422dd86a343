"""clocks: breach and at-risk indexes led by the ticket kind

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 08:10:00

The supervisors' breach and at-risk lists read each ticket kind's clocks in (instant, id) order
and stop at the page. ``ix_clocks_breached_at`` (breached_at, id) gives way to
``ix_clocks_kind_breached_at`` (subject_kind, breached_at, id), so a kind with few clocks (the
callbacks) is not looked for among a month of complaint breaches; ``ix_clocks_kind_due_at_running``
does the same for running clocks (``ix_clocks_due_at_running`` stays: the sweeper reads every
kind by due instant). Both partial; built in the migration's transaction (writes to ``clocks``
wait a few seconds per million clocks).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNNING = "stopped_at IS NULL AND breached_at IS NULL AND paused_since IS NULL"


def upgrade() -> None:
    op.create_index(
        "ix_clocks_kind_breached_at",
        "clocks",
        ["subject_kind", "breached_at", "id"],
        postgresql_where=sa.text("breached_at IS NOT NULL"),
    )
    op.create_index(
        "ix_clocks_kind_due_at_running",
        "clocks",
        ["subject_kind", "due_at", "id"],
        postgresql_where=sa.text(RUNNING),
    )
    op.drop_index("ix_clocks_breached_at", table_name="clocks")


def downgrade() -> None:
    op.create_index(
        "ix_clocks_breached_at",
        "clocks",
        ["breached_at", "id"],
        postgresql_where=sa.text("breached_at IS NOT NULL"),
    )
    op.drop_index("ix_clocks_kind_due_at_running", table_name="clocks")
    op.drop_index("ix_clocks_kind_breached_at", table_name="clocks")
