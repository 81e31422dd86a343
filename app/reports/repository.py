"""The supervisors' queries: breaches, clocks at risk, complaint statistics, other rates.

Each is one statement over indexed rows, joined to the ticket sources; branch scoping goes
through ``readable_by`` like every other read.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Float,
    Integer,
    Row,
    Select,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    select,
    tuple_,
    type_coerce,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.models import Team
from app.access.principal import Principal
from app.access.scope import readable_by
from app.clocks.models import Clock
from app.org.models import Branch
from app.reports.facts import local_date, working_days_between
from app.reports.sources import TicketSource


@dataclass(frozen=True, slots=True)
class TicketFilter:
    clock_name: str | None = None
    branch_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    product_line: str | None = None
    cause: str | None = None


def _clock_rows(
    source: TicketSource, principal: Principal, flt: TicketFilter, *extra: Any
) -> Select[Any]:
    """The clocks of ``source``'s tickets that the principal may see, with the ticket's columns."""
    tickets = source.dimensions().subquery(f"{source.kind}_tickets")
    equal = {
        Clock.name: flt.clock_name,
        tickets.c.branch_id: flt.branch_id,
        tickets.c.team_id: flt.team_id,
        tickets.c.assignee_id: flt.assignee_id,
        tickets.c.product_line: flt.product_line,
        tickets.c.cause: flt.cause,
    }
    return (
        select(
            literal(source.kind, String).label("ticket_kind"),
            tickets.c.id.label("ticket_id"),
            tickets.c.number.label("ticket_number"),
            tickets.c.status.label("ticket_status"),
            tickets.c.branch_id,
            tickets.c.team_id,
            tickets.c.assignee_id,
            tickets.c.product_line,
            tickets.c.cause,
            tickets.c.channel,
            Clock.id.label("clock_id"),
            Clock.name.label("clock_name"),
            Clock.unit,
            Clock.amount,
            Clock.calendar_code,
            Clock.due_date,
            Clock.due_at,
            Clock.provisional,
            Clock.breached_at,
            Clock.stopped_at,
            Clock.outcome,
            Clock.paused_since,
        )
        .select_from(
            Clock.__table__.join(
                tickets, and_(Clock.subject_kind == source.kind, tickets.c.id == Clock.subject_id)
            )
        )
        .where(
            readable_by(principal, tickets.c.branch_id),
            *(column == value for column, value in equal.items() if value is not None),
            *extra,
        )
    )


def _with_branch_code(rows: Any) -> Select[Any]:
    return select(rows, Branch.code.label("branch_code")).select_from(
        rows.outerjoin(Branch, Branch.id == rows.c.branch_id)
    )


def _late_by(rows: Any, now: dt.datetime) -> Any:
    """How late, in the clock's own unit, up to its stop (or now, while it still runs)."""
    end = func.coalesce(rows.c.stopped_at, now)
    hours = func.ceil(func.extract("epoch", end - rows.c.due_at) / 3600)
    days = type_coerce(local_date(end) - rows.c.due_date, Integer)
    working = working_days_between(rows.c.calendar_code, rows.c.due_date, local_date(end))
    return case(
        (rows.c.unit == "hours", cast(hours, Integer)),
        (rows.c.unit == "calendar_days", days),
        else_=working,
    )


def _first_page(
    sources: Sequence[TicketSource],
    principal: Principal,
    flt: TicketFilter,
    key: Any,
    conditions: tuple[Any, ...],
    after: tuple[dt.datetime, uuid.UUID] | None,
    limit: int,
) -> Any:
    """The first ``limit`` visible clocks of every source in ``(key, id)`` order after the
    keyset position, as one subquery.

    Each source's part is ordered and limited on its own: that is a plan which walks the
    clocks' index in order, joins each clock to its ticket and stops at the ``limit``-th
    visible one (a branch's first page over a month of breaches reads about ``limit`` × the
    number of branches clocks). Ordered only outside the ``union all``, PostgreSQL cannot stop
    early: it joins every clock in the period to its ticket (or every ticket of the branch to
    the clocks) and sorts (bench/RESULTS.md)."""
    parts = []
    for source in sources:
        part = _clock_rows(source, principal, flt, *conditions)
        if after is not None:
            part = part.where(tuple_(key, Clock.id) > tuple_(literal(after[0]), literal(after[1])))
        parts.append(part.order_by(key, Clock.id).limit(limit))
    return (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("clock_rows")


async def breaches(
    session: AsyncSession,
    sources: Sequence[TicketSource],
    principal: Principal,
    flt: TicketFilter,
    *,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    after: tuple[dt.datetime, uuid.UUID] | None,
    limit: int,
) -> list[Row[Any]]:
    """Clocks breached in ``start <= breached_at < end``, earliest first; a breach stays after
    its ticket is closed (``breached_at`` is never erased). ``ix_clocks_breached_at``."""
    if not sources:
        return []
    period = (Clock.breached_at >= start, Clock.breached_at < end)
    rows = _first_page(sources, principal, flt, Clock.breached_at, period, after, limit)
    query = (
        _with_branch_code(rows)
        .add_columns(_late_by(rows, now).label("late_by"))
        .order_by(rows.c.breached_at, rows.c.clock_id)
        .limit(limit)
    )
    return list((await session.execute(query)).all())


async def at_risk(
    session: AsyncSession,
    sources: Sequence[TicketSource],
    principal: Principal,
    flt: TicketFilter,
    *,
    due_before: dt.datetime,
    now: dt.datetime,
    after: tuple[dt.datetime, uuid.UUID] | None,
    limit: int,
) -> list[Row[Any]]:
    """Running clocks (not stopped, paused or breached) due by ``due_before``, most urgent
    first; the partial index ``ix_clocks_due_at_running`` has exactly this predicate."""
    if not sources:
        return []
    running = (
        Clock.stopped_at.is_(None),
        Clock.breached_at.is_(None),
        Clock.paused_since.is_(None),
        Clock.due_at <= due_before,
    )
    rows = _first_page(sources, principal, flt, Clock.due_at, running, after, limit)
    hours_left = func.extract("epoch", rows.c.due_at - now) / 3600
    working_days_left = case(
        (rows.c.unit == "hours", None),
        else_=working_days_between(rows.c.calendar_code, local_date(literal(now)), rows.c.due_date),
    )
    query = (
        _with_branch_code(rows)
        .add_columns(
            cast(hours_left, Float).label("hours_left"),
            working_days_left.label("working_days_left"),
        )
        .order_by(rows.c.due_at, rows.c.clock_id)
        .limit(limit)
    )
    return list((await session.execute(query)).all())


async def labels(
    session: AsyncSession, *, branch_ids: set[uuid.UUID], team_ids: set[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """Branch and team codes by id, for readable report rows."""
    found: dict[uuid.UUID, str] = {}
    if branch_ids:
        rows = await session.execute(
            select(Branch.id, Branch.code).where(Branch.id.in_(branch_ids))
        )
        found.update({row.id: row.code for row in rows})
    if team_ids:
        teams = select(Team.id, Team.code).where(Team.id.in_(team_ids))
        found.update({row.id: row.code for row in await session.execute(teams)})
    return found
