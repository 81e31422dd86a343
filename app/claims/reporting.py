"""What the supervisor reports read about claim reports: the claims feature's side of
``app.reports`` (registered in ``app.reports.sources``).

Their clocks are the Insurance Law limits (decision, refusal notice, payment, advance payment),
so breaches, clocks at risk and on-time rates include them. A claim report has no team,
assignee or cause: typed nulls, so the reports' ``union all`` over every kind lines up.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, String, cast, null, select
from sqlalchemy.dialects.postgresql import UUID

from app.claims.models import ClaimReport

KIND = "claim_report"


def dimensions() -> Select[Any]:
    """One row per claim report, received when it was reported (see
    ``app.reports.sources.TicketSource``)."""
    return select(
        ClaimReport.id.label("id"),
        ClaimReport.number.label("number"),
        ClaimReport.status.label("status"),
        ClaimReport.branch_id.label("branch_id"),
        cast(null(), UUID(as_uuid=True)).label("team_id"),
        cast(null(), UUID(as_uuid=True)).label("assignee_id"),
        ClaimReport.product_line.label("product_line"),
        cast(null(), String).label("cause"),
        ClaimReport.channel.label("channel"),
        ClaimReport.reported_at.label("received_at"),
    )
