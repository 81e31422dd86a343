"""What the supervisor reports read about complaints: the complaint feature's side of
``app.reports`` (registered in ``app.reports.sources``).

The reports never read the complaint tables by name; they join this selectable, so the complaint
feature decides what a complaint's reporting dimensions are.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from app.complaints import deadlines
from app.complaints.models import Complaint
from app.complaints.states import Action

KIND = "complaint"

RECLASSIFIED_ACTION = Action.RECLASSIFY.value
"""The timeline event that moves a complaint to another cause or product line; its data's
``classification`` holds ``before`` and ``after``, each the :func:`classification`."""
CLASSIFIED_FIELDS = {"cause": "cause_code", "product_line": "product_line"}
"""The report dimensions a reclassification may change → the complaint's fields."""

HANDLING_CLOCK = deadlines.C7
"""The clock whose stop ends handling: received → decision notified (C7, 15/30/60 days).
Its on-time rate is the regulator's 投诉件办理及时率."""


def classification(complaint: Complaint) -> dict[str, str]:
    """The complaint's values of the dimensions a reclassification may change, by report
    dimension name."""
    return {dimension: getattr(complaint, field) for dimension, field in CLASSIFIED_FIELDS.items()}


def dimensions() -> Select[Any]:
    """One row per complaint, with the columns every ticket source provides (see
    ``app.reports.sources.TicketSource``)."""
    return select(
        Complaint.id.label("id"),
        Complaint.number.label("number"),
        Complaint.status.label("status"),
        Complaint.branch_id.label("branch_id"),
        Complaint.team_id.label("team_id"),
        Complaint.assignee_id.label("assignee_id"),
        Complaint.product_line.label("product_line"),
        Complaint.cause_code.label("cause"),
        Complaint.channel.label("channel"),
        Complaint.received_at.label("received_at"),
    )
