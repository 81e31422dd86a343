"""What the supervisor reports read about callbacks: the callback feature's side of
``app.reports`` (registered in ``app.reports.sources``).

A callback is a ticket kind for the clocks it runs (an IVR call-back request's 4 hours, a
problem found's 5-working-day follow-up) and the source of the callback success rate
(回访成功率). It has no product line, cause or channel: typed nulls, so the reports'
``union all`` over every kind lines up.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, String, cast, null, select

from app.callbacks.models import Callback
from app.callbacks.states import Action, Outcome, State

KIND = "callback"
CREATED_ACTION = "schedule"
"""A callback's first timeline event (``callback.schedule`` in the change feed)."""

ENDED = (State.COMPLETED.value, State.UNREACHABLE.value)
"""A callback that ended with or without reaching the customer; cancelled ones were moot."""
END_EVENTS = (f"{KIND}.{Action.ATTEMPT.value}",)
"""Only an attempt ends a callback in one of ``ENDED`` (states.TRANSITIONS)."""


def dimensions() -> Select[Any]:
    """One row per callback, "received" when it was scheduled (see
    ``app.reports.sources.TicketSource``)."""
    return select(
        Callback.id.label("id"),
        Callback.number.label("number"),
        Callback.state.label("status"),
        Callback.branch_id.label("branch_id"),
        Callback.team_id.label("team_id"),
        Callback.assignee_id.label("assignee_id"),
        cast(null(), String).label("product_line"),
        cast(null(), String).label("cause"),
        cast(null(), String).label("channel"),
        Callback.created_at.label("received_at"),
    )


def success() -> Select[Any]:
    """One row per ended callback, at its end (callback success rate, see
    ``app.reports.sources.RateSource``): success when the customer was reached and the record
    kept. A refusal ends a callback ``completed`` but is contact, not success (as in
    ``GET /v1/callbacks/success-rate``); ``unreachable`` is a failure; cancelled callbacks are
    not counted."""
    return select(
        Callback.id.label("id"),
        Callback.closed_at.label("at"),
        Callback.branch_id.label("branch_id"),
        Callback.team_id.label("team_id"),
        cast(null(), String).label("product_line"),
        cast(null(), String).label("cause"),
        cast(null(), String).label("channel"),
        (Callback.outcome == Outcome.REACHED.value).label("success"),
    ).where(Callback.state.in_(ENDED))
