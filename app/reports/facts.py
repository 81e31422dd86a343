"""Deadline outcomes as rows: the SQL shared by the summary's folding and the reports.

A *settlement* is a change-feed event that decides a clock's outcome for the on-time rate:

- ``clock.breached``: the clock passed its due time while running → settled, late;
- ``clock.stopped`` of a clock never breached → settled, ``met`` or late (``met_late``: stopped
  after its due time before the sweeper saw it);
- ``clock.stopped`` of a clock breached earlier → not settled again (it counted at its breach),
  but still the end of handling when it is the source's handling clock.

Cancelled clocks are not settlements. Each settlement belongs to the business date (Asia/Shanghai)
of its event. All of it is SQL over indexed rows: no ticket is looked at in Python.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
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
from app.feed import repository as feed
from app.feed.repository import Position
from app.reports.models import SLA_CURSOR, ReportCursor
from app.reports.sources import TicketSource

TZ = BUSINESS_TZ.key
SETTLEMENT_TYPES = ("clock.breached", "clock.stopped")

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


def working_days_between(calendar_code: Any, after_day: Any, through_day: Any) -> Any:
    """Working days after ``after_day`` up to and including ``through_day`` on the calendar
    (SQL function of migration 0008: weekday arithmetic plus the calendar's exceptions)."""
    return func.working_days_between(calendar_code, after_day, through_day, type_=Integer)


def _settlements(events: Select[Any]) -> FromClause:
    rows = events.subquery("events")
    return select(
        cast(rows.c.payload["clock"]["id"].astext, UUID(as_uuid=True)).label("clock_id"),
        rows.c.occurred_at.label("at"),
        (rows.c.type == "clock.breached").label("breach"),
    ).subquery("settlements")


def settlements_between(after: Position, through: Position) -> FromClause:
    """Settlements in the feed from ``after`` (excluded) to ``through`` (included)."""
    return _settlements(
        feed.events_of_types(SETTLEMENT_TYPES, after=(after.xact_id, after.id), through=through)
    )


def settlements_not_folded() -> FromClause:
    """Settlements after the summary's cursor, the cursor read in the same statement (so the
    same snapshot): together with the summary, each settlement is counted exactly once."""

    def cursor(column: Any) -> Any:
        value = select(column).where(ReportCursor.name == SLA_CURSOR).scalar_subquery()
        return func.coalesce(value, 0)

    return _settlements(
        feed.events_of_types(
            SETTLEMENT_TYPES, after=(cursor(ReportCursor.after_xact), cursor(ReportCursor.after_id))
        )
    )


def facts(settlements: FromClause, source: TicketSource) -> Select[Any]:
    """One row per settlement of ``source``'s clocks, with the ticket's dimensions."""
    tickets = source.dimensions().subquery(f"{source.kind}_tickets")
    breach = settlements.c.breach
    day = local_date(settlements.c.at)
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
        settlements.join(Clock, Clock.id == settlements.c.clock_id).join(
            tickets, and_(Clock.subject_kind == source.kind, tickets.c.id == Clock.subject_id)
        )
    )


def all_facts(settlements: FromClause, sources: list[TicketSource]) -> FromClause:
    """The facts of every source as one selectable (``union all``)."""
    parts = [facts(settlements, source) for source in sources]
    if len(parts) == 1:
        return parts[0].subquery("facts")
    return union_all(*parts).subquery("facts")


def dimension_value(rows: FromClause, dimension: str) -> Any:
    """The text value a row has for ``dimension`` ('' for none and for ``total``)."""
    column = DIMENSION_COLUMNS[dimension]
    if column is None:
        return literal("", String)
    return func.coalesce(cast(rows.c[column], String), "")
