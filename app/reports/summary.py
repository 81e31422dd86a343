"""Keeping the report summaries, and reading rates and counts from them.

Folding moves the events of a stretch of the change feed into the summaries and the cursor
past them, in one transaction: the cursor row is locked (``SKIP LOCKED``: one folder at a time,
others skip the round), the stretch ends at a settled position (every transaction up to it has
ended, so nothing can still appear inside it), and the upserts touch rows in key order, so
folders on several instances never deadlock. A report reads the summaries and the events not
folded yet in one statement, so it is exact whether the folding runs or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    String,
    and_,
    cast,
    delete,
    func,
    literal,
    or_,
    select,
    text,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import UUID, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.access.principal import Principal
from app.access.scope import readable_by
from app.db.errors import is_database_unavailable
from app.feed import repository as feed
from app.feed.repository import START, Position
from app.reports import facts
from app.reports.models import (
    ALL_BRANCHES,
    DIMENSIONS,
    SUMMARY_CURSOR,
    ReportCursor,
    SlaSummary,
    TicketMonth,
)
from app.reports.periods import Period, full_months, instants, month_cover
from app.reports.sources import TicketSource, ticket_sources

logger = logging.getLogger(__name__)

FOLD_BATCH = 20_000
_SLA_KEYS = ("grain", "dimension", "scope", "starts_on", "subject_kind", "clock_name", "value")
_SLA_COUNTS = ("settled", "met", "handled", "handling_working_days")
_MONTH_KEYS = ("subject_kind", "month", "branch_id", "cause", "product_line", "channel")


def _sla_fold(window: tuple[Position, Position], sources: list[TicketSource]) -> Any:
    rows = select(facts.all_facts(window, sources)).cte("facts")
    parts = [
        select(
            literal(grain, String).label("grain"),
            literal(dimension, String).label("dimension"),
            scope.label("scope"),
            (rows.c.day if grain == "day" else facts.month_of(rows.c.day)).label("starts_on"),
            rows.c.subject_kind,
            rows.c.clock_name,
            facts.dimension_value(rows, dimension).label("value"),
            *(rows.c[name] for name in _SLA_COUNTS),
        )
        for grain in ("day", "month")
        for dimension in DIMENSIONS
        for scope in (rows.c.branch_id, literal(ALL_BRANCHES, UUID(as_uuid=True)))
    ]
    expanded = union_all(*parts).subquery("expanded")
    keys = [expanded.c[name] for name in _SLA_KEYS]
    totals = (
        select(*keys, *(func.sum(expanded.c[name]).label(name) for name in _SLA_COUNTS))
        .group_by(*keys)
        .order_by(*keys)  # one lock order for every folder: no deadlocks between them
    )
    statement = insert(SlaSummary).from_select([*_SLA_KEYS, *_SLA_COUNTS], totals)
    return statement.on_conflict_do_update(
        index_elements=list(_SLA_KEYS),
        set_={name: getattr(SlaSummary, name) + statement.excluded[name] for name in _SLA_COUNTS},
    )


def _month_fold(window: tuple[Position, Position], source: TicketSource) -> Any:
    rows = facts.receipts(window, source)
    keys = [
        literal(source.kind, String).label("subject_kind"),
        facts.month_of(facts.local_date(rows.c.received_at)).label("month"),
        rows.c.branch_id,
        *(func.coalesce(rows.c[name], "").label(name) for name in _MONTH_KEYS[3:]),
    ]
    received = func.sum(rows.c.n)
    totals = (
        select(*keys, received.label("received"))
        .group_by(*keys)
        .having(received != 0)  # a reclassification back and forth within the window
        .order_by(*keys)
    )
    statement = insert(TicketMonth).from_select([*_MONTH_KEYS, "received"], totals)
    return statement.on_conflict_do_update(
        index_elements=list(_MONTH_KEYS),
        set_={"received": TicketMonth.received + statement.excluded.received},
    )


async def _lock_cursor(session: AsyncSession, *, wait: bool) -> Position | None:
    await session.execute(
        insert(ReportCursor)
        .values(name=SUMMARY_CURSOR, after_xact=0, after_id=0)
        .on_conflict_do_nothing()
    )
    query = select(ReportCursor.after_xact, ReportCursor.after_id).where(
        ReportCursor.name == SUMMARY_CURSOR
    )
    query = query.with_for_update() if wait else query.with_for_update(skip_locked=True)
    row = (await session.execute(query)).one_or_none()
    return Position(int(row.after_xact), int(row.after_id)) if row is not None else None


async def _move_cursor(session: AsyncSession, position: Position) -> None:
    await session.execute(
        update(ReportCursor)
        .where(ReportCursor.name == SUMMARY_CURSOR)
        .values(after_xact=position.xact_id, after_id=position.id, updated_at=func.now())
    )


async def _fold_stretch(
    session: AsyncSession, after: Position, *, batch: int
) -> tuple[Position, int] | None:
    stretch = await feed.settled_position(session, after, limit=batch)
    if stretch is None:
        return None
    through, passed = stretch
    sources = ticket_sources()
    if sources:
        await session.execute(_sla_fold((after, through), sources))
        for source in sources:
            await session.execute(_month_fold((after, through), source))
    return through, passed


async def fold(session: AsyncSession, *, batch: int = FOLD_BATCH) -> int:
    """Fold up to ``batch`` feed events into the summaries in the caller's transaction; returns
    how many events were passed (0: nothing new, or another folder holds the cursor)."""
    after = await _lock_cursor(session, wait=False)
    if after is None:
        return 0
    # Enough memory to group a batch's rows without spilling them to disk.
    await session.execute(text("SET LOCAL work_mem = '64MB'"))
    folded = await _fold_stretch(session, after, batch=batch)
    if folded is None:
        return 0
    await _move_cursor(session, folded[0])
    return folded[1]


async def fold_all(session_factory: async_sessionmaker[AsyncSession], *, batch: int) -> int:
    """Fold until the summaries have caught up with the settled feed; a transaction a batch."""
    total = 0
    while True:
        async with session_factory() as session:
            passed = await fold(session, batch=batch)
            await session.commit()
        total += passed
        if passed < batch:
            return total


async def rebuild(session: AsyncSession, *, batch: int = FOLD_BATCH) -> int:
    """Empty the summaries and fold the whole feed again, in the caller's transaction (after a
    new ticket source is registered, or to repair them); returns the events folded.

    One transaction, so readers see the old summaries until it commits and the cursor never
    moves back. It waits for a fold in progress; folds skip their rounds meanwhile. Being long,
    it also holds the feed's horizon back (webhooks pause) until it commits."""
    await _lock_cursor(session, wait=True)
    await session.execute(text("SET LOCAL work_mem = '64MB'"))
    await session.execute(delete(SlaSummary))
    await session.execute(delete(TicketMonth))
    position, total = START, 0
    while (folded := await _fold_stretch(session, position, batch=batch)) is not None:
        position, passed = folded
        total += passed
    await _move_cursor(session, position)
    return total


async def _cursor_hint(session: AsyncSession) -> facts.Unfolded:
    query = select(ReportCursor.after_xact).where(ReportCursor.name == SUMMARY_CURSOR)
    return facts.Unfolded(hint=int(await session.scalar(query) or 0))


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
                logger.info("report summaries folded", extra={"events": passed})
        except Exception as exc:
            if is_database_unavailable(exc):
                logger.warning("report folding skipped: database unavailable")
            else:
                logger.exception("report folding failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


# --- reading -------------------------------------------------------------------------------


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


def _stored_outcomes(
    dimension: str, scope: uuid.UUID, first: dt.date, last: dt.date, period: Period
) -> Any:
    """Summary rows for the range: whole months from the month grain when the buckets are
    months or quarters, every other day from the day grain."""
    columns = (
        SlaSummary.starts_on.label("day"),
        SlaSummary.value,
        SlaSummary.subject_kind,
        SlaSummary.clock_name,
        *(getattr(SlaSummary, name) for name in _SLA_COUNTS),
    )
    kept = and_(SlaSummary.dimension == dimension, SlaSummary.scope == scope)
    months = full_months(first, last) if period in {Period.MONTH, Period.QUARTER} else None
    days = and_(SlaSummary.grain == "day", SlaSummary.starts_on.between(first, last))
    if months is None:
        return select(*columns).where(kept, days)
    month_first, month_end = months
    by_month = and_(
        SlaSummary.grain == "month",
        SlaSummary.starts_on >= month_first,
        SlaSummary.starts_on < month_end,
    )
    other_days = and_(
        days, or_(SlaSummary.starts_on < month_first, SlaSummary.starts_on >= month_end)
    )
    return select(*columns).where(kept, or_(by_month, other_days))


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
    parts: list[Any] = [_stored_outcomes(dimension, scope, first, last, period)]
    sources = ticket_sources()
    if sources:
        pending = facts.all_facts(await _cursor_hint(session), sources)
        recent = select(
            pending.c.day,
            facts.dimension_value(pending, dimension).label("value"),
            pending.c.subject_kind,
            pending.c.clock_name,
            *(pending.c[name] for name in _SLA_COUNTS),
        ).where(pending.c.day >= first, pending.c.day <= last)
        if scope != ALL_BRANCHES:
            recent = recent.where(pending.c.branch_id == scope)
        parts.append(recent)
    rows = union_all(*parts).subquery("outcomes")
    keys = [facts.bucket(period, rows.c.day).label("bucket"), rows.c.value]
    keys += [rows.c.subject_kind, rows.c.clock_name]
    # Sums as bigint (not numeric), so rows arrive as plain ints in the dataclass's field order.
    sums = (cast(func.sum(rows.c[name]), BigInteger).label(name) for name in _SLA_COUNTS)
    query = select(*keys, *sums).group_by(*keys).order_by(*keys)
    # Core execution: thousands of plain rows, no ORM entities to build.
    result = await (await session.connection()).execute(query)
    return [RateRow(*row) for row in result.tuples().all()]


async def ticket_counts(
    session: AsyncSession,
    source: TicketSource,
    principal: Principal,
    *,
    first: dt.date,
    last: dt.date,
    by: Sequence[str],
) -> list[tuple[Any, ...]]:
    """Tickets received from ``first`` to ``last`` (business dates, both included), counted per
    combination of ``by``, per dimension of ``by`` alone and overall (grouping sets).

    Whole months come from the monthly summary plus the receipts not folded yet. A month the
    range covers only in part is counted on the tickets of the days it covers, or as the whole
    month less the tickets of its other days, whichever reads fewer tickets
    (``periods.month_cover``); combinations that come to nothing are left out.

    Each row: the values of ``by`` as text (the branch's id too), the count, then the
    ``grouping()`` bitmask of ``by`` (the first dimension is the highest bit; a set bit: the
    row sums over that dimension)."""
    tickets = source.dimensions().subquery("tickets")

    def counted(rows: Any, amount: Any, *conditions: Any) -> Any:
        values = [
            (rows.c.branch_id if name == "branch" else func.nullif(rows.c[name], "")).label(name)
            for name in by
        ]
        return select(*values, amount.label("n")).where(
            readable_by(principal, rows.c.branch_id), *conditions
        )

    def received(rows: Any, days: tuple[dt.date, dt.date], amount: Any) -> Any:
        start, end = instants(*days)
        return counted(rows, amount, rows.c.received_at >= start, rows.c.received_at < end)

    cover = month_cover(first, last)
    parts = [received(tickets, days, literal(1)) for days in cover.add]
    parts += [received(tickets, days, literal(-1)) for days in cover.subtract]
    if cover.months is not None:
        month_first, month_end = cover.months
        pending = facts.receipts(await _cursor_hint(session), source)
        parts += [
            counted(
                TicketMonth.__table__,
                TicketMonth.received,
                TicketMonth.subject_kind == source.kind,
                TicketMonth.month >= month_first,
                TicketMonth.month < month_end,
            ),
            received(pending, (month_first, month_end - dt.timedelta(days=1)), pending.c.n),
        ]
    rows = union_all(*parts).subquery("received")
    keys = [rows.c[name] for name in by]
    total = func.sum(rows.c.n)
    cells = select(*keys, total.label("n")).group_by(*keys).having(total != 0).cte("cells")
    cell_keys = [cells.c[name] for name in by]
    singles = [tuple_(key) for key in cell_keys] if len(cell_keys) > 1 else []
    query = select(
        *(cast(key, String) if key.name == "branch" else key for key in cell_keys),
        cast(func.sum(cells.c.n), BigInteger).label("n"),
        func.grouping(*cell_keys).label("grouping"),
    ).group_by(func.grouping_sets(tuple_(*cell_keys), *singles, tuple_()))
    return list((await (await session.connection()).execute(query)).tuples().all())
