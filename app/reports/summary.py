"""Keeping the daily summary of deadline outcomes, and reading on-time rates from it.

Folding moves the settlements of a stretch of the change feed into ``report_sla_daily`` and the
cursor past them, in one transaction: the cursor row is locked (``SKIP LOCKED``: one folder at a
time, others skip the round), the stretch ends at a settled position (every transaction up to it
has ended, so nothing can still appear inside it), and the upsert touches rows in key order, so
folders on several instances never deadlock. A report reads the summary and the settlements not
folded yet in one statement, so it is exact whether the folding is running or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    TIMESTAMP,
    Date,
    String,
    cast,
    delete,
    func,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import UUID, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.errors import is_database_unavailable
from app.feed import repository as feed
from app.feed.repository import START, Position
from app.reports import facts
from app.reports.models import ALL_BRANCHES, DIMENSIONS, SLA_CURSOR, ReportCursor, SlaDaily
from app.reports.periods import Period
from app.reports.sources import TicketSource, ticket_sources

logger = logging.getLogger(__name__)

FOLD_BATCH = 20_000
_KEYS = ("dimension", "scope", "day", "subject_kind", "clock_name", "value")
_COUNTS = ("settled", "met", "handled", "handling_working_days")


def _fold_statement(after: Position, through: Position, sources: list[TicketSource]) -> Any:
    rows = facts.all_facts(facts.settlements_between(after, through), sources)
    facts_cte = select(rows).cte("facts")
    parts = [
        select(
            literal(dimension, String).label("dimension"),
            scope.label("scope"),
            facts_cte.c.day,
            facts_cte.c.subject_kind,
            facts_cte.c.clock_name,
            facts.dimension_value(facts_cte, dimension).label("value"),
            *(facts_cte.c[name] for name in _COUNTS),
        )
        for dimension in DIMENSIONS
        for scope in (facts_cte.c.branch_id, literal(ALL_BRANCHES, UUID(as_uuid=True)))
    ]
    expanded = union_all(*parts).subquery("expanded")
    keys = [expanded.c[name] for name in _KEYS]
    totals = (
        select(*keys, *(func.sum(expanded.c[name]).label(name) for name in _COUNTS))
        .group_by(*keys)
        .order_by(*keys)  # one lock order for every folder: no deadlocks between them
    )
    statement = insert(SlaDaily).from_select([*_KEYS, *_COUNTS], totals)
    return statement.on_conflict_do_update(
        index_elements=list(_KEYS),
        set_={name: getattr(SlaDaily, name) + statement.excluded[name] for name in _COUNTS},
    )


async def _lock_cursor(session: AsyncSession, *, wait: bool) -> Position | None:
    await session.execute(
        insert(ReportCursor)
        .values(name=SLA_CURSOR, after_xact=0, after_id=0)
        .on_conflict_do_nothing()
    )
    query = select(ReportCursor.after_xact, ReportCursor.after_id).where(
        ReportCursor.name == SLA_CURSOR
    )
    query = query.with_for_update() if wait else query.with_for_update(skip_locked=True)
    row = (await session.execute(query)).one_or_none()
    return Position(int(row.after_xact), int(row.after_id)) if row is not None else None


async def _move_cursor(session: AsyncSession, position: Position) -> None:
    await session.execute(
        update(ReportCursor)
        .where(ReportCursor.name == SLA_CURSOR)
        .values(after_xact=position.xact_id, after_id=position.id, updated_at=func.now())
    )


async def fold(session: AsyncSession, *, batch: int = FOLD_BATCH) -> int:
    """Fold up to ``batch`` feed events into the summary in the caller's transaction; returns
    how many events were passed (0: nothing new, or another folder holds the cursor)."""
    after = await _lock_cursor(session, wait=False)
    if after is None:
        return 0
    stretch = await feed.settled_position(session, after, limit=batch)
    if stretch is None:
        return 0
    through, passed = stretch
    sources = ticket_sources()
    if sources:
        await session.execute(_fold_statement(after, through, sources))
    await _move_cursor(session, through)
    return passed


async def fold_all(session_factory: async_sessionmaker[AsyncSession], *, batch: int) -> int:
    """Fold until the summary has caught up with the settled feed; one transaction per batch."""
    total = 0
    while True:
        async with session_factory() as session:
            passed = await fold(session, batch=batch)
            await session.commit()
        total += passed
        if passed < batch:
            return total


async def reset(session: AsyncSession) -> None:
    """Empty the summary and rewind its cursor: the next folds rebuild it from the whole feed
    (after a new ticket source is registered, or to repair it). Reports stay exact meanwhile."""
    await _lock_cursor(session, wait=True)
    await session.execute(delete(SlaDaily))
    await _move_cursor(session, START)


async def run_periodically(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    interval: float,
    batch: int = FOLD_BATCH,
    stop: asyncio.Event | None = None,
) -> None:
    """Fold every ``interval`` seconds until ``stop`` is set; failures are logged and retried."""
    stop = stop or asyncio.Event()
    while not stop.is_set():
        try:
            passed = await fold_all(session_factory, batch=batch)
            if passed:
                logger.info("report summary folded", extra={"events": passed})
        except Exception as exc:
            if is_database_unavailable(exc):
                logger.warning("report folding skipped: database unavailable")
            else:
                logger.exception("report folding failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


@dataclass(frozen=True, slots=True)
class RateRow:
    bucket: dt.date
    value: str
    subject_kind: str
    clock_name: str
    settled: int
    met: int
    handled: int
    handling_working_days: int


async def rates(
    session: AsyncSession,
    *,
    dimension: str,
    scope: uuid.UUID,
    first: dt.date,
    last: dt.date,
    period: Period,
) -> list[RateRow]:
    """Outcome counts per period bucket, dimension value, ticket kind and clock name: the
    summary plus the settlements not folded yet, in one statement (one snapshot)."""
    sources = ticket_sources()
    stored = select(
        SlaDaily.day,
        SlaDaily.value,
        SlaDaily.subject_kind,
        SlaDaily.clock_name,
        *(getattr(SlaDaily, name) for name in _COUNTS),
    ).where(
        SlaDaily.dimension == dimension,
        SlaDaily.scope == scope,
        SlaDaily.day >= first,
        SlaDaily.day <= last,
    )
    parts: list[Any] = [stored]
    if sources:
        pending = facts.all_facts(facts.settlements_not_folded(), sources)
        recent = select(
            pending.c.day,
            facts.dimension_value(pending, dimension).label("value"),
            pending.c.subject_kind,
            pending.c.clock_name,
            *(pending.c[name] for name in _COUNTS),
        ).where(pending.c.day >= first, pending.c.day <= last)
        if scope != ALL_BRANCHES:
            recent = recent.where(pending.c.branch_id == scope)
        parts.append(recent)
    rows = union_all(*parts).subquery("outcomes")
    bucket = cast(func.date_trunc(period.value, cast(rows.c.day, TIMESTAMP)), Date)
    keys = [bucket.label("bucket"), rows.c.value, rows.c.subject_kind, rows.c.clock_name]
    query = (
        select(*keys, *(func.sum(rows.c[name]).label(name) for name in _COUNTS))
        .group_by(*keys)
        .order_by(*keys)
    )
    result = await session.execute(query)
    return [
        RateRow(
            bucket=row.bucket,
            value=row.value,
            subject_kind=row.subject_kind,
            clock_name=row.clock_name,
            settled=int(row.settled or 0),
            met=int(row.met or 0),
            handled=int(row.handled or 0),
            handling_working_days=int(row.handling_working_days or 0),
        )
        for row in result
    ]
