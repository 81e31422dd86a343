"""Where the reports get their tickets from: one source per ticket kind, registered here.

Extension points for the features that are not merged yet:

- **Ticket sources** (breaches, at-risk, on-time rates, handling time). A feature whose tickets
  run clocks adds ``app/<feature>/reporting.py`` with a ``dimensions()`` selectable (the columns
  of :class:`TicketSource`; ``null()`` for those it lacks, e.g. an inquiry has no team or cause)
  and one line in ``TICKET_SOURCES``. Then ``contact-desk reports-rebuild`` folds its past clock
  outcomes into the daily summary.
- **Rate sources** (first-contact resolution of inquiries, callback success rate): a
  :class:`RateSource` in ``RATE_SOURCES``. Until one is registered the indicator is ``null``,
  with the note below in the response.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select

from app.complaints import reporting as complaint_reporting


@dataclass(frozen=True, slots=True)
class TicketSource:
    """A ticket kind as the reports see it.

    ``dimensions()`` selects one row per ticket with exactly these labels: ``id`` (uuid),
    ``number``, ``status``, ``branch_id`` (uuid), ``team_id``, ``assignee_id`` (uuid or null),
    ``product_line``, ``cause``, ``channel`` (text or null), ``received_at`` (timestamptz).
    Clocks are matched to it by ``clocks.subject_kind = kind AND clocks.subject_id = id``.
    """

    kind: str
    dimensions: Callable[[], Select[Any]]
    handling_clock: str | None = None
    """The clock whose stop ends handling (for the average handling time), if the kind has one."""
    created_action: str = "register"
    """The ticket event that creates a ticket (``<kind>.<action>`` in the change feed): what the
    monthly counts of tickets received are folded from."""


@dataclass(frozen=True, slots=True)
class RateSource:
    """A success rate computed from one feature's rows.

    ``rows()`` selects one row per counted case with the labels ``at`` (timestamptz: when the
    case was decided, which puts it in a period), ``branch_id``, ``team_id``, ``product_line``,
    ``cause``, ``channel`` (null where the kind has none) and ``success`` (boolean). E.g. first
    contact resolution: answered inquiries, ``success = first_contact_resolution``; callback
    success: callbacks that ended, ``success = status = 'completed'``.
    """

    rows: Callable[[], Select[Any]]


TICKET_SOURCES: dict[str, TicketSource] = {
    complaint_reporting.KIND: TicketSource(
        kind=complaint_reporting.KIND,
        dimensions=complaint_reporting.dimensions,
        handling_clock=complaint_reporting.HANDLING_CLOCK,
    ),
    # "inquiry": TicketSource("inquiry", inquiry_reporting.dimensions),
    # "claim_report": TicketSource("claim_report", claim_reporting.dimensions),
    # "callback": TicketSource("callback", callback_reporting.dimensions),
}

FIRST_CONTACT_RESOLUTION = "first_contact_resolution_rate"
CALLBACK_SUCCESS = "callback_success_rate"

RATE_SOURCES: dict[str, RateSource | None] = {
    FIRST_CONTACT_RESOLUTION: None,  # inquiries (issue 6): RateSource(inquiry_reporting.fcr)
    CALLBACK_SUCCESS: None,  # callbacks (issue 7): RateSource(callback_reporting.success)
}

NOT_YET_RECORDED = {
    FIRST_CONTACT_RESOLUTION: "null: inquiries are not recorded by this service yet (intake, "
    "issue 6); the figure appears once the inquiry source is registered.",
    CALLBACK_SUCCESS: "null: callbacks are not recorded by this service yet (issue 7); the "
    "figure appears once the callback source is registered.",
}


def ticket_sources(kind: str | None = None) -> list[TicketSource]:
    """Every registered source, or the one for ``kind`` (none if that kind is not registered)."""
    if kind is None:
        return list(TICKET_SOURCES.values())
    source = TICKET_SOURCES.get(kind)
    return [source] if source is not None else []
