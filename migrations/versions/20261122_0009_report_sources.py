"""report summaries: fold again with the inquiry, claim report and callback sources

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 08:00:00

The summaries held complaint outcomes and receipts only. With the other ticket kinds registered
(``app.reports.sources``), their past clock outcomes and receipts must be folded too: this
empties the summaries and moves their cursor back to the start of the feed, so the periodic
folding (or ``contact-desk reports-rebuild``) folds the whole feed again. Reports stay exact
meanwhile (they read the summaries plus every event not folded yet), only slower until the
folding has caught up. No schema change.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DELETE FROM report_sla_summary")
    op.execute("DELETE FROM report_ticket_months")
    op.execute(
        "UPDATE report_cursors SET after_xact = 0, after_id = 0, updated_at = now()"
        " WHERE name = 'report_summary'"
    )


def downgrade() -> None:
    # A read model: the summaries folded with more sources are refolded by the older code's
    # `contact-desk reports-rebuild`; nothing to undo here.
    pass
