"""Reading the outbox in an order that no late commit can break."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal, literal_column, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.feed.models import OutboxEvent

# The oldest transaction still running when the statement's snapshot was taken. Every
# transaction with a smaller id has ended, so its rows are visible now or never will be. A
# scalar subquery: evaluated once per statement, and usable as an index bound.
HORIZON = select(
    literal_column("(pg_snapshot_xmin(pg_current_snapshot())::text)::bigint")
).scalar_subquery()


@dataclass(frozen=True, order=True, slots=True)
class Position:
    """A place in the feed: the (transaction id, row id) of the last event read."""

    xact_id: int
    id: int


START = Position(0, 0)


def after(position: Position) -> ColumnElement[bool]:
    """Events strictly after ``position`` in feed order."""
    return tuple_(OutboxEvent.xact_id, OutboxEvent.id) > tuple_(
        literal(position.xact_id), literal(position.id)
    )


def through(position: Position) -> ColumnElement[bool]:
    """Events at or before ``position`` in feed order."""
    return tuple_(OutboxEvent.xact_id, OutboxEvent.id) <= tuple_(
        literal(position.xact_id), literal(position.id)
    )


def settled() -> ColumnElement[bool]:
    """Events whose transaction ended before this statement began (committed ones are visible
    now; aborted ones never will be). An event of a transaction still running is held back, and
    so is everything after it, until it ends."""
    return OutboxEvent.xact_id < HORIZON


async def read_after(session: AsyncSession, position: Position, *, limit: int) -> list[OutboxEvent]:
    """Up to ``limit`` settled events after ``position``, in feed order (an index range scan)."""
    query = (
        select(OutboxEvent)
        .where(after(position), settled())
        .order_by(OutboxEvent.xact_id, OutboxEvent.id)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def horizon_position(session: AsyncSession) -> Position:
    """The position before every event whose transaction may still be running: a reader
    starting here misses nothing that commits from now on."""
    xmin = int(await session.scalar(select(HORIZON)) or 1)
    return Position(xmin - 1, 2**63 - 1)


def events_of_types(
    types: tuple[str, ...],
    *,
    after: tuple[Any, Any],
    through: Position | None = None,
    from_xact: int = 0,
) -> Select[Any]:
    """A selectable of the events of ``types`` after the position ``after`` (two values or SQL
    expressions, e.g. a cursor read in the same statement) and up to ``through``: for read
    models built from the feed (the report summaries). ``from_xact`` must not exclude anything
    after ``after``; it is a bound the planner can estimate."""
    query = select(
        OutboxEvent.id,
        OutboxEvent.type,
        OutboxEvent.ticket_id,
        OutboxEvent.occurred_at,
        OutboxEvent.payload,
    ).where(
        OutboxEvent.type.in_(types),
        tuple_(OutboxEvent.xact_id, OutboxEvent.id) > tuple_(*after),
        OutboxEvent.xact_id >= after[0],
        # A lower bound known in advance (``after`` may be read in the statement itself).
        OutboxEvent.xact_id >= from_xact,
    )
    if through is not None:
        query = query.where(
            tuple_(OutboxEvent.xact_id, OutboxEvent.id)
            <= tuple_(literal(through.xact_id), literal(through.id)),
            # The same bound on the leading column alone: the planner estimates a range of
            # row comparisons poorly and would scan the table instead of the index.
            OutboxEvent.xact_id <= through.xact_id,
        )
    return query


async def settled_position(
    session: AsyncSession, after_position: Position, *, limit: int
) -> tuple[Position, int] | None:
    """The position of the ``limit``-th settled event after ``after_position`` (or of the last
    one, if fewer), and how many events that spans; ``None`` if there is none."""
    window = (
        select(OutboxEvent.xact_id, OutboxEvent.id)
        .where(after(after_position), settled())
        .order_by(OutboxEvent.xact_id, OutboxEvent.id)
        .limit(limit)
        .subquery()
    )
    row = (
        await session.execute(
            select(window.c.xact_id, window.c.id, func.count().over().label("n"))
            .order_by(window.c.xact_id.desc(), window.c.id.desc())
            .limit(1)
        )
    ).one_or_none()
    if row is None:
        return None
    return Position(int(row.xact_id), int(row.id)), int(row.n)
