"""Supervisor views and reports: breaches, clocks at risk, service indicators, complaint
statistics. Every figure is computed by SQL (``repository``, ``summary``); this module shapes it."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Sequence
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
from app.reports import repository, summary
from app.reports.models import ALL_BRANCHES
from app.reports.periods import GroupBy, Period, StatisticsBy, check_range, instants, rate
from app.reports.repository import TicketFilter
from app.reports.schemas import (
    AtRiskRow,
    BreachRow,
    ClockRate,
    ClockRef,
    ComplaintRates,
    ComplaintStatistics,
    Denominators,
    IndicatorRow,
    ServiceIndicators,
    StatisticsCell,
    Subtotal,
    TicketRef,
)
from app.reports.sources import (
    NOT_YET_RECORDED,
    RATE_SOURCES,
    TICKET_SOURCES,
    ticket_sources,
)

DEFAULT_CALENDAR = "CN"
COMPLAINT = "complaint"

DEFINITIONS = {
    "on_time_rate": "met / settled, per ticket kind and clock name. A clock is settled on the "
    "business date (Asia/Shanghai) its outcome became known: the day it was breached (it passed "
    "its due time while running), or, if it never was, the day it was stopped — met, or late "
    "when stopped after its due time before the breach was recorded. A breached clock counts "
    "once, as late, in the period of its breach, whatever happens to it later. Cancelled "
    "clocks that never breached (withdrawn, merged, transferred tickets) are left out.",
    "complaint_handling_on_time_rate": "投诉件办理及时率: on_time_rate of C7_handling_decision, "
    "the 15/30/60-day decision limit (paused periods excluded, extensions honoured).",
    "average_handling_working_days": "Over complaints whose decision was notified in the "
    "bucket (C7 stopped by a counting decision notice): the working days after the receipt "
    "date up to and including the notice date, on the clock's statutory calendar.",
    "first_contact_resolution_rate": "Inquiries answered in the first contact / inquiries "
    "answered, by answer date.",
    "callback_success_rate": "Callbacks completed (customer reached, record kept) / callbacks "
    "ended (completed or unreachable), by end date.",
}


# --- breaches and at-risk ------------------------------------------------------------------


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


# --- service indicators --------------------------------------------------------------------


def _scope(principal: Principal) -> uuid.UUID | None:
    if principal.sees_all_branches:
        return ALL_BRANCHES
    return principal.branch_id


async def _group_labels(
    session: AsyncSession, group_by: GroupBy | None, values: set[str]
) -> dict[str, str]:
    if group_by not in {GroupBy.BRANCH, GroupBy.TEAM}:
        return {}
    ids = {uuid.UUID(value) for value in values if value}
    found = await repository.labels(
        session,
        branch_ids=ids if group_by is GroupBy.BRANCH else set(),
        team_ids=ids if group_by is GroupBy.TEAM else set(),
    )
    return {str(key): code for key, code in found.items()}


def _indicator_row(
    key: tuple[dt.date, str],
    rows: list[summary.RateRow],
    extra: dict[str, dict[tuple[dt.date, str], tuple[int, int]]],
    group_by: GroupBy | None,
    labels: dict[str, str],
) -> IndicatorRow:
    handling_clock = TICKET_SOURCES[COMPLAINT].handling_clock
    complaints = [r for r in rows if r.subject_kind == COMPLAINT]
    c7 = [r for r in complaints if r.clock_name == handling_clock]
    handled = sum(r.handled for r in complaints)
    handling_days = sum(r.handling_working_days for r in complaints)
    bucket, value = key
    extras = {name: rate(*figures.get(key, (0, 0))) for name, figures in extra.items()}
    return IndicatorRow(
        period_start=bucket,
        group=(value or None) if group_by is not None else None,
        group_label=labels.get(value),
        clocks=[
            ClockRate(
                ticket_kind=r.subject_kind,
                clock_name=r.clock_name,
                settled=r.settled,
                met=r.met,
                late=r.settled - r.met,
                on_time_rate=rate(r.met, r.settled),
            )
            for r in rows
            if r.settled > 0
        ],
        complaint_handling_on_time_rate=rate(sum(r.met for r in c7), sum(r.settled for r in c7)),
        decisions_notified=handled,
        average_handling_working_days=round(handling_days / handled, 2) if handled else None,
        first_contact_resolution_rate=extras.get("first_contact_resolution_rate"),
        callback_success_rate=extras.get("callback_success_rate"),
    )


async def service_indicators(
    session: AsyncSession,
    principal: Principal,
    *,
    first: dt.date,
    last: dt.date,
    period: Period,
    group_by: GroupBy | None,
) -> ServiceIndicators:
    """On-time rates per clock, handling time, and the indicators of other features, per period
    bucket and group, for the branches the principal sees."""
    check_range(first, last)
    dimension = group_by.value if group_by is not None else "total"
    scope = _scope(principal)
    rows: list[summary.RateRow] = []
    extra: dict[str, dict[tuple[dt.date, str], tuple[int, int]]] = {}
    notes = {name: note for name, note in NOT_YET_RECORDED.items() if RATE_SOURCES[name] is None}
    if scope is not None:
        rows = await summary.rates(
            session, dimension=dimension, scope=scope, first=first, last=last, period=period
        )
        start, end = instants(first, last)
        for name, source in RATE_SOURCES.items():
            if source is not None:
                extra[name] = await repository.success_rates(
                    session,
                    source,
                    principal,
                    start=start,
                    end=end,
                    period=period,
                    dimension=dimension,
                )
    grouped: dict[tuple[dt.date, str], list[summary.RateRow]] = defaultdict(list)
    for row in rows:
        grouped[(row.bucket, row.value)].append(row)
    keys = set(grouped) | {key for figures in extra.values() for key in figures}
    labels = await _group_labels(session, group_by, {value for _, value in keys})
    return ServiceIndicators(
        from_=first,
        to=last,
        period=period,
        group_by=group_by,
        rows=[
            _indicator_row(key, grouped.get(key, []), extra, group_by, labels)
            for key in sorted(keys)
        ],
        definitions=DEFINITIONS,
        notes=notes,
    )


# --- complaint statistics ------------------------------------------------------------------


def _per(count: int, denominator: float | None) -> float | None:
    return round(count / denominator, 4) if denominator else None


async def complaint_statistics(
    session: AsyncSession,
    principal: Principal,
    *,
    first: dt.date,
    last: dt.date,
    by: Sequence[StatisticsBy],
    denominators: Denominators,
) -> ComplaintStatistics:
    """Complaints received in the period by cause × product line × channel × branch (or the
    dimensions asked for), with subtotals and the regulator's per-unit rates of the total."""
    check_range(first, last)
    dims = list(dict.fromkeys(by)) or list(StatisticsBy)
    rows = await summary.ticket_counts(
        session,
        TICKET_SOURCES[COMPLAINT],
        principal,
        first=first,
        last=last,
        by=[d.value for d in dims],
    )
    names = [d.value for d in dims]
    width = len(names)
    branch_at = names.index("branch") if "branch" in names else None
    branch_ids = {row[branch_at] for row in rows if branch_at is not None and row[branch_at]}
    labels = await repository.labels(session, branch_ids=branch_ids, team_ids=set())
    total = 0
    cells: list[StatisticsCell] = []
    subtotals: dict[str, list[Subtotal]] = defaultdict(list)
    for row in rows:
        values, count, flags = row[:width], int(row[width]), row[width + 1 :]
        kept = [i for i, summed in enumerate(flags) if not summed]
        if not kept:
            total = count
        if len(kept) == width:
            cells.append(_cell(dict(zip(names, values, strict=True)), count, labels))
        if len(kept) == 1:
            (i,) = kept
            subtotals[names[i]].append(
                Subtotal(
                    value=str(values[i]) if values[i] is not None else None,
                    label=labels.get(values[i]) if i == branch_at else None,
                    count=count,
                )
            )
    for items in subtotals.values():
        items.sort(key=lambda item: (-item.count, item.value or ""))
    cells.sort(key=lambda cell: -cell.count)
    return ComplaintStatistics(
        from_=first,
        to=last,
        by=dims,
        total=total,
        denominators=denominators,
        rates=ComplaintRates(
            per_100m_yuan_premium=_per(total, denominators.premium_100m_yuan),
            per_10k_policies=_per(total, denominators.policies_10k),
            per_10k_persons=_per(total, denominators.persons_10k),
        ),
        cells=cells,
        subtotals=dict(subtotals),
    )


def _cell(values: dict[str, Any], count: int, labels: dict[uuid.UUID, str]) -> StatisticsCell:
    branch = values.pop("branch", None)
    return StatisticsCell(
        **values,
        branch_id=branch,
        branch_code=labels.get(branch) if branch is not None else None,
        count=count,
    )


# --- CSV shapes (masked: codes and ids only, no names, phones or ID numbers) ----------------

BREACH_COLUMNS = (
    "ticket_kind",
    "ticket_number",
    "ticket_id",
    "ticket_status",
    "branch_code",
    "team_id",
    "assignee_id",
    "product_line",
    "cause",
    "channel",
    "clock_name",
    "clock_state",
    "outcome",
    "due_date",
    "due_at",
    "breached_at",
    "late_by",
    "late_unit",
)
AT_RISK_COLUMNS = (
    "ticket_kind",
    "ticket_number",
    "ticket_id",
    "ticket_status",
    "branch_code",
    "team_id",
    "assignee_id",
    "product_line",
    "cause",
    "channel",
    "clock_name",
    "due_date",
    "due_at",
    "overdue",
    "hours_left",
    "working_days_left",
)


def _common(item: BreachRow | AtRiskRow) -> list[Any]:
    return [
        item.ticket.kind,
        item.ticket.number,
        item.ticket.id,
        item.ticket.status,
        item.branch_code,
        item.team_id,
        item.assignee_id,
        item.product_line,
        item.cause,
        item.channel,
        item.clock.name,
    ]


def breach_csv_row(item: BreachRow) -> list[Any]:
    return [
        *_common(item),
        item.clock.state,
        item.clock.outcome,
        item.due_date,
        item.due_at,
        item.breached_at,
        item.late_by,
        item.late_unit,
    ]


def at_risk_csv_row(item: AtRiskRow) -> list[Any]:
    return [
        *_common(item),
        item.due_date,
        item.due_at,
        item.overdue,
        item.hours_left,
        item.working_days_left,
    ]


def statistics_csv(statistics: ComplaintStatistics) -> tuple[list[str], list[list[Any]]]:
    dims = [d.value for d in statistics.by]
    header = [*dims, *(["branch_code"] if "branch" in dims else []), "count"]
    rows = []
    for cell in statistics.cells:
        values = [cell.branch_id if d == "branch" else getattr(cell, d) for d in dims]
        code = [cell.branch_code] if "branch" in dims else []
        rows.append([*values, *code, cell.count])
    rows.append(["total", *([""] * (len(header) - 2)), statistics.total])
    return header, rows
