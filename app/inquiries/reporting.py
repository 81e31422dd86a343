"""What the supervisor reports read about inquiries: the inquiry feature's side of
``app.reports`` (registered in ``app.reports.sources``).

An inquiry has no team, assignee or cause: those columns are typed nulls, so the reports'
``union all`` over every ticket kind lines up.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, String, cast, null, select
from sqlalchemy.dialects.postgresql import UUID

from app.inquiries.models import Inquiry
from app.inquiries.states import Action, Status

KIND = "inquiry"
ANSWER_EVENTS = (f"{KIND}.register", f"{KIND}.{Action.ANSWER.value}")
"""The feed events that may answer an inquiry: registered answered, or answered later."""
ANSWERED = (Status.ANSWERED.value,)


def dimensions() -> Select[Any]:
    """One row per inquiry, with the columns every ticket source provides (see
    ``app.reports.sources.TicketSource``)."""
    return select(
        Inquiry.id.label("id"),
        Inquiry.number.label("number"),
        Inquiry.status.label("status"),
        Inquiry.branch_id.label("branch_id"),
        cast(null(), UUID(as_uuid=True)).label("team_id"),
        cast(null(), UUID(as_uuid=True)).label("assignee_id"),
        Inquiry.product_line.label("product_line"),
        cast(null(), String).label("cause"),
        Inquiry.channel.label("channel"),
        Inquiry.received_at.label("received_at"),
    )


def first_contact_resolution() -> Select[Any]:
    """One row per answered inquiry, at its answer (first-contact resolution rate, see
    ``app.reports.sources.RateSource``): success when it was answered in the contact that
    raised it. Inquiries converted to complaints before any answer are not counted; one
    answered and converted afterwards still is."""
    return select(
        Inquiry.id.label("id"),
        Inquiry.answered_at.label("at"),
        Inquiry.branch_id.label("branch_id"),
        cast(null(), UUID(as_uuid=True)).label("team_id"),
        Inquiry.product_line.label("product_line"),
        cast(null(), String).label("cause"),
        Inquiry.channel.label("channel"),
        Inquiry.first_contact_resolution.label("success"),
    ).where(Inquiry.answered_at.is_not(None))
