"""Supervisor views: clocks breached in a period and clocks at risk, one page at a time.

Every figure is computed by SQL (``repository``); this module shapes it. The reports are in
``indicators`` (service indicators) and ``statistics`` (complaint statistics).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.principal import Principal
from app.api.pagination import decode_cursor
from app.calendar import service as calendar_service
from app.calendar.schemas import DayUnit
from app.clocks.states import ClockState, Unit, state_of
from app.core.errors import InvalidCursor, InvalidInput
from app.reports import repository
from app.reports.repository import TicketFilter
from app.reports.schemas import AtRiskRow, BreachRow, ClockRef, TicketRef
from app.reports.sources import ticket_sources

DEFAULT_CALENDAR = "CN"


def _key(cursor: str | None) -> tuple[dt.datetime, uuid.UUID] | None:
    if not cursor:
        return None
    key = decode_cursor(cursor)
    try:
        instant, clock_id = dt.datetime.fromisoformat(str(key[0])), uuid.UUID(str(key[1]))
    except (IndexError, ValueError) as exc:
        raise InvalidCursor() from exc
    if instant.tzinfo is None:
        raise InvalidCursor()
    return instant, clock_id


def _ticket(row: Row[Any]) -> TicketRef:
    return TicketRef(
        kind=row.ticket_kind, id=row.ticket_id, number=row.ticket_number, status=row.ticket_status
    )


def _clock(row: Row[Any]) -> ClockRef:
    state: ClockState = state_of(
        paused=row.paused_since is not None, stopped=row.stopped_at is not None
    )
    return ClockRef(
        id=row.clock_id,
        name=row.clock_name,
        unit=Unit(row.unit),
        amount=row.amount,
        state=state,
        outcome=row.outcome,
    )


def _assignment(row: Row[Any]) -> dict[str, Any]:
    return {
        "branch_id": row.branch_id,
        "branch_code": row.branch_code,
        "team_id": row.team_id,
        "assignee_id": row.assignee_id,
        "product_line": row.product_line,
        "cause": row.cause,
        "channel": row.channel,
    }


@dataclass(frozen=True, slots=True)
class Listing:
    rows: list[Row[Any]]
    next_key: list[str] | None


async def breaches(
    session: AsyncSession,
    principal: Principal,
    *,
    ticket_kind: str | None,
    flt: TicketFilter,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    cursor: str | None,
    limit: int,
) -> Listing:
    """Clocks breached in ``start <= breached_at < end``, earliest first, one page."""
    if end <= start:
        raise InvalidInput("'to' must be after 'from'.", field="to")
    rows = await repository.breaches(
        session,
        ticket_sources(ticket_kind),
        principal,
        flt,
        start=start,
        end=end,
        now=now,
        after=_key(cursor),
        limit=limit + 1,
    )
    if len(rows) <= limit:
        return Listing(rows, None)
    last = rows[limit - 1]
    return Listing(rows[:limit], [last.breached_at.isoformat(), str(last.clock_id)])


def breach_row(row: Row[Any]) -> BreachRow:
    return BreachRow(
        ticket=_ticket(row),
        clock=_clock(row),
        due_date=row.due_date,
        due_at=row.due_at,
        provisional=row.provisional,
        breached_at=row.breached_at,
        late_by=int(row.late_by),
        late_unit=Unit(row.unit),
        **_assignment(row),
    )


async def window_end(
    session: AsyncSession,
    *,
    within: int,
    unit: Literal["working_days", "hours"],
    now: dt.datetime,
) -> dt.datetime:
    """The end of the at-risk window: 24:00 of the ``within``-th working day after today
    (0: today), or ``within`` hours from now."""
    if unit == "hours":
        return now + dt.timedelta(hours=within)
    view = await calendar_service.get_view(session, DEFAULT_CALENDAR)
    due = await calendar_service.due_date(
        session,
        DEFAULT_CALENDAR,
        start=view.local_date(now),
        amount=within,
        unit=DayUnit.WORKING_DAYS,
        roll_forward=False,
    )
    return due.due_at


async def at_risk(
    session: AsyncSession,
    principal: Principal,
    *,
    ticket_kind: str | None,
    flt: TicketFilter,
    within: int,
    unit: Literal["working_days", "hours"],
    now: dt.datetime,
    cursor: str | None,
    limit: int,
) -> Listing:
    """Running clocks due within the window, most urgent first (overdue ones lead)."""
    due_before = await window_end(session, within=within, unit=unit, now=now)
    after = _key(cursor)
    rows = await repository.at_risk(
        session,
        ticket_sources(ticket_kind),
        principal,
        flt,
        due_before=due_before,
        now=now,
        after=after,
        limit=limit + 1,
    )
    if len(rows) <= limit:
        return Listing(rows, None)
    last = rows[limit - 1]
    return Listing(rows[:limit], [last.due_at.isoformat(), str(last.clock_id)])


def at_risk_row(row: Row[Any], now: dt.datetime) -> AtRiskRow:
    return AtRiskRow(
        ticket=_ticket(row),
        clock=_clock(row),
        due_date=row.due_date,
        due_at=row.due_at,
        provisional=row.provisional,
        overdue=row.due_at < now,
        hours_left=round(float(row.hours_left), 2),
        working_days_left=row.working_days_left,
        **_assignment(row),
    )
