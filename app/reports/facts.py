"""Report facts as rows: the SQL shared by the summaries' folding and the reports.

A *settlement* is a change-feed event that decides a clock's outcome for the on-time rate:

- ``clock.breached``: the clock passed its due time while running → settled, late;
- ``clock.stopped`` of a clock never breached → settled, ``met`` or late (``met_late``: stopped
  after its due time before the sweeper saw it);
- ``clock.stopped`` of a clock breached earlier → not settled again (it counted at its breach),
  but still the end of handling when it is the source's handling clock.

Cancelled clocks are not settlements. Each settlement belongs to the business date (Asia/Shanghai)
of its event. A *case* of a rate source (an inquiry answered, a callback ended) is the feed
event that decided it; it is a fact like a settlement, under the rate's name instead of a clock's
(``settled`` = 1, ``met`` = success), on the business date the source gives. A *receipt* is a
ticket's creation event; it counts in the month the ticket was received, under its values of
now (a reclassification moves it: :func:`receipts`). All of it is SQL over
indexed rows: no ticket is looked at in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    TIMESTAMP,
    Date,
    FromClause,
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    not_,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import UUID

from app.clocks.models import Clock
from app.core.clock import BUSINESS_TZ
from app.events import service as ticket_events
from app.feed import repository as feed
from app.feed.repository import Position
from app.reports.models import SUMMARY_CURSOR, ReportCursor
from app.reports.sources import RATE_SOURCES, RateSource, TicketSource

TZ = BUSINESS_TZ.key
SETTLEMENT_TYPES = ("clock.breached", "clock.stopped")
RECEIPT_DIMENSIONS = ("branch_id", "cause", "product_line", "channel")
"""The columns the monthly counts of tickets received are keyed by, besides the month."""

DIMENSION_COLUMNS: dict[str, str | None] = {
    "total": None,
    "branch": "branch_id",
    "team": "team_id",
    "product_line": "product_line",
    "cause": "cause",
    "channel": "channel",
}


def local_date(instant: Any) -> Any:
    """The business date of a ``timestamptz`` expression."""
    return cast(func.timezone(TZ, instant), Date)


def month_of(day: Any) -> Any:
    """The first day of a date's month."""
    return cast(func.date_trunc("month", cast(day, TIMESTAMP)), Date)


def bucket(period: Any, day: Any) -> Any:
    """The first day of the report bucket (day, week from Monday, month, quarter) of a date."""
    return cast(func.date_trunc(str(period), cast(day, TIMESTAMP)), Date)


def working_days_between(calendar_code: Any, after_day: Any, through_day: Any) -> Any:
    """Working days after ``after_day`` up to and including ``through_day`` on the calendar
    (SQL function of migration 0008: weekday arithmetic plus the calendar's exceptions)."""
    return func.working_days_between(calendar_code, after_day, through_day, type_=Integer)


@dataclass(frozen=True, slots=True)
class Unfolded:
    """The events after the summaries' cursor, the cursor read in the same statement (so the
    same snapshot) as the summaries: together they count each event exactly once.

    ``hint`` is the cursor's transaction id as read just before the statement. The cursor never
    moves back (a rebuild replaces the summaries in one transaction), so the hint excludes
    nothing the statement needs; it is there for the planner, which cannot estimate a bound read
    in the statement and would otherwise plan for a large share of the feed (and scan the
    tickets) rather than the few events not folded yet."""

    hint: int = 0


Window = tuple[Position, Position] | Unfolded
"""A stretch of the feed ``(after, through]``, or what the summaries have not folded yet."""


def _events(types: tuple[str, ...], window: Window) -> FromClause:
    if isinstance(window, Unfolded):

        def cursor(column: Any) -> Any:
            value = select(column).where(ReportCursor.name == SUMMARY_CURSOR).scalar_subquery()
            return func.coalesce(value, 0)

        position = (cursor(ReportCursor.after_xact), cursor(ReportCursor.after_id))
        query = feed.events_of_types(types, after=position, from_xact=window.hint)
    else:
        after, through = window
        query = feed.events_of_types(types, after=(after.xact_id, after.id), through=through)
    return query.subquery("events")


def settlements(window: Window) -> FromClause:
    events = _events(SETTLEMENT_TYPES, window)
    return select(
        cast(events.c.payload["clock"]["id"].astext, UUID(as_uuid=True)).label("clock_id"),
        events.c.occurred_at.label("at"),
        (events.c.type == "clock.breached").label("breach"),
    ).subquery("settlements")


def facts(settled: FromClause, source: TicketSource) -> Select[Any]:
    """One row per settlement of ``source``'s clocks, with the ticket's dimensions."""
    tickets = source.dimensions().subquery(f"{source.kind}_tickets")
    breach = settled.c.breach
    day = local_date(settled.c.at)
    handled = (
        and_(not_(breach), Clock.name == source.handling_clock)
        if source.handling_clock is not None
        else false()
    )
    handling_days = working_days_between(
        Clock.calendar_code, local_date(tickets.c.received_at), day
    )
    return select(
        day.label("day"),
        literal(source.kind, String).label("subject_kind"),
        Clock.name.label("clock_name"),
        tickets.c.branch_id,
        tickets.c.team_id,
        tickets.c.product_line,
        tickets.c.cause,
        tickets.c.channel,
        case((breach, 1), (Clock.breached_at.is_(None), 1), else_=0).label("settled"),
        case((and_(not_(breach), Clock.outcome == "met"), 1), else_=0).label("met"),
        case((handled, 1), else_=0).label("handled"),
        case((handled, handling_days), else_=0).label("handling_working_days"),
    ).select_from(
        settled.join(Clock, Clock.id == settled.c.clock_id).join(
            tickets, and_(Clock.subject_kind == source.kind, tickets.c.id == Clock.subject_id)
        )
    )


def rate_facts(window: Window, name: str, source: RateSource) -> Select[Any]:
    """One row per case of a rate source decided in the window, shaped like :func:`facts`."""
    events = _events(source.events, window)
    cases = source.rows().subquery(f"{source.kind}_cases")
    zero = literal(0, Integer)
    return select(
        local_date(cases.c.at).label("day"),
        literal(source.kind, String).label("subject_kind"),
        literal(name, String).label("clock_name"),
        cases.c.branch_id,
        cases.c.team_id,
        cases.c.product_line,
        cases.c.cause,
        cases.c.channel,
        literal(1, Integer).label("settled"),
        case((cases.c.success, 1), else_=0).label("met"),
        zero.label("handled"),
        zero.label("handling_working_days"),
    ).select_from(
        events.join(
            cases,
            and_(
                cases.c.id == events.c.ticket_id,
                events.c.payload["to_status"].astext.in_(source.decided),
            ),
        )
    )


def all_facts(window: Window, sources: list[TicketSource]) -> FromClause:
    """The settlement facts of every source and the cases of every rate source as one
    selectable (``union all``)."""
    parts = [facts(settlements(window), source) for source in sources]
    parts += [rate_facts(window, name, source) for name, source in RATE_SOURCES.items()]
    return union_all(*parts).subquery("facts")


def receipts(window: Window, source: TicketSource) -> FromClause:
    """The receipts of ``source`` in the window as signed rows, with the dimensions they count
    under: +1 for each ticket created, and for each reclassification −1 under the values before
    and +1 under the values after (see :class:`~app.reports.sources.Reclassification`). Summed,
    a ticket counts once, under its values of now, however the feed was cut into windows."""
    tickets = source.dimensions().subquery(f"{source.kind}_received")
    created = _events((f"{source.kind}.{source.created_action}",), window)
    moved = source.reclassification
    if moved is None:
        return _signed(created, tickets, {}, 1).subquery("receipts")
    first = ticket_events.first_data(source.kind, tickets.c.id, moved.action)
    at_creation = {
        name: func.coalesce(first["classification"]["before"][name].astext, tickets.c[name])
        for name in moved.dimensions
    }
    parts = [_signed(created, tickets, at_creation, 1)]
    changes = _events((f"{source.kind}.{moved.action}",), window)
    for side, sign in (("before", -1), ("after", 1)):
        shape = changes.c.payload["data"]["classification"][side]
        parts.append(
            _signed(changes, tickets, {name: shape[name].astext for name in moved.dimensions}, sign)
        )
    return union_all(*parts).subquery("receipts")


def _signed(
    happened: FromClause, tickets: FromClause, values: dict[str, Any], sign: int
) -> Select[Any]:
    """One row per event of ``happened``: its ticket's receipt dimensions (``values`` in place
    of the ticket's own where given) and ``n`` = ``sign``."""
    return select(
        tickets.c.received_at,
        *(values.get(name, tickets.c[name]).label(name) for name in RECEIPT_DIMENSIONS),
        literal(sign, Integer).label("n"),
    ).select_from(happened.join(tickets, tickets.c.id == happened.c.ticket_id))


def dimension_value(rows: FromClause, dimension: str) -> Any:
    """The text value a row has for ``dimension`` ('' for none and for ``total``)."""
    column = DIMENSION_COLUMNS[dimension]
    if column is None:
        return literal("", String)
    return func.coalesce(cast(rows.c[column], String), "")
