"""Where the reports get their tickets from: one source per ticket kind, registered here.

Every ticket kind is registered: complaints, inquiries, claim reports and callbacks. To add one:

- **Ticket sources** (breaches, at-risk, on-time rates, handling time). A feature whose tickets
  run clocks adds ``app/<feature>/reporting.py`` with a ``dimensions()`` selectable (the columns
  of :class:`TicketSource`; typed nulls — ``cast(null(), UUID)`` — for those it lacks, e.g. an
  inquiry has no team or cause, so the ``union all`` over the kinds lines up) and one line in
  ``TICKET_SOURCES``. Then ``contact-desk reports-rebuild`` folds its past clock outcomes and
  receipts into the summaries; from then on the periodic folding keeps them in step.
- **Rate sources** (first-contact resolution of inquiries, callback success rate): a
  :class:`RateSource` in ``RATE_SOURCES``. Their cases are folded into the same summary as the
  clocks' outcomes (under the rate's name), from the feed events that decide them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select

from app.callbacks import reporting as callback_reporting
from app.claims import reporting as claim_reporting
from app.complaints import reporting as complaint_reporting
from app.inquiries import reporting as inquiry_reporting


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
    reclassification: Reclassification | None = None
    """How the kind's tickets move to other values of counted dimensions, if they can."""


@dataclass(frozen=True, slots=True)
class Reclassification:
    """A ticket event that changes dimensions the monthly counts are keyed by.

    Its data's ``classification`` holds ``before`` and ``after``: objects of every one of
    ``dimensions`` (report dimension names, e.g. ``cause``) → the value. The counts fold it as
    −1 under ``before`` and +1 under ``after``; a ticket's creation counts under the ``before``
    of its first such event (its values at creation), or its current values if it has none.
    So a ticket counts once, under its classification of now, whenever the folding runs."""

    action: str
    dimensions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RateSource:
    """A success rate over one feature's cases, folded into the summaries like the clocks.

    ``rows()`` selects one row per counted case with the labels ``id`` (the ticket's uuid),
    ``at`` (timestamptz: when the case was decided, which puts it in a period), ``branch_id``,
    ``team_id``, ``product_line``, ``cause``, ``channel`` (null where the kind has none) and
    ``success`` (boolean). A case is folded when the change feed has one of ``events`` of the
    ticket whose ``to_status`` is in ``decided`` (the event that decided it, exactly once per
    case). E.g. first-contact resolution: answered inquiries, success =
    ``first_contact_resolution``; callback success: callbacks that ended, success = reached.
    """

    kind: str
    rows: Callable[[], Select[Any]]
    events: tuple[str, ...]
    decided: tuple[str, ...]


TICKET_SOURCES: dict[str, TicketSource] = {
    complaint_reporting.KIND: TicketSource(
        kind=complaint_reporting.KIND,
        dimensions=complaint_reporting.dimensions,
        handling_clock=complaint_reporting.HANDLING_CLOCK,
        reclassification=Reclassification(
            action=complaint_reporting.RECLASSIFIED_ACTION,
            dimensions=tuple(complaint_reporting.CLASSIFIED_FIELDS),
        ),
    ),
    inquiry_reporting.KIND: TicketSource(
        kind=inquiry_reporting.KIND, dimensions=inquiry_reporting.dimensions
    ),
    claim_reporting.KIND: TicketSource(
        kind=claim_reporting.KIND, dimensions=claim_reporting.dimensions
    ),
    callback_reporting.KIND: TicketSource(
        kind=callback_reporting.KIND,
        dimensions=callback_reporting.dimensions,
        created_action=callback_reporting.CREATED_ACTION,
    ),
}

FIRST_CONTACT_RESOLUTION = "first_contact_resolution_rate"
CALLBACK_SUCCESS = "callback_success_rate"

RATE_SOURCES: dict[str, RateSource] = {
    FIRST_CONTACT_RESOLUTION: RateSource(
        kind=inquiry_reporting.KIND,
        rows=inquiry_reporting.first_contact_resolution,
        events=inquiry_reporting.ANSWER_EVENTS,
        decided=inquiry_reporting.ANSWERED,
    ),
    CALLBACK_SUCCESS: RateSource(
        kind=callback_reporting.KIND,
        rows=callback_reporting.success,
        events=callback_reporting.END_EVENTS,
        decided=callback_reporting.ENDED,
    ),
}


def ticket_sources(kind: str | None = None) -> list[TicketSource]:
    """Every registered source, or the one for ``kind`` (none if that kind is not registered)."""
    if kind is None:
        return list(TICKET_SOURCES.values())
    source = TICKET_SOURCES.get(kind)
    return [source] if source is not None else []
