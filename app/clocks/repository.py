"""Queries on clocks, their events and the rule sets."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.clocks.models import Clock, ClockDefinition, ClockEvent, RuleSet
from app.clocks.states import Unit

# --- clocks ----------------------------------------------------------------------------------


async def add_clock(session: AsyncSession, clock: Clock) -> Clock:
    session.add(clock)
    await session.flush()
    return clock


async def clock_calendar_code(session: AsyncSession, clock_id: uuid.UUID) -> str | None:
    """The clock's calendar (it never changes), read without a lock."""
    code: str | None = await session.scalar(select(Clock.calendar_code).where(Clock.id == clock_id))
    return code


async def lock_clock(session: AsyncSession, clock_id: uuid.UUID) -> Clock | None:
    """The clock, locked FOR UPDATE until the transaction ends, with its current values."""
    query = (
        select(Clock)
        .where(Clock.id == clock_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(query)).one_or_none()


async def get_clock(session: AsyncSession, clock_id: uuid.UUID) -> Clock | None:
    return await session.get(Clock, clock_id)


async def clocks_for_subject(
    session: AsyncSession, subject_kind: str, subject_id: uuid.UUID
) -> list[Clock]:
    query = (
        select(Clock)
        .where(Clock.subject_kind == subject_kind, Clock.subject_id == subject_id)
        # By name among clocks started together (ids are random): a stable order to show.
        .order_by(Clock.started_at, Clock.name, Clock.id)
    )
    return list((await session.scalars(query)).all())


async def lock_open_clocks_touching(
    session: AsyncSession, calendar_codes: Collection[str], first: dt.date, last: dt.date
) -> list[Clock]:
    """Open day-unit clocks whose counted days (start_date + 1 .. due_date) meet first..last,
    locked in id order (so two loads never deadlock on them)."""
    query = (
        select(Clock)
        .where(
            Clock.calendar_code.in_(calendar_codes),
            Clock.stopped_at.is_(None),
            Clock.unit != Unit.HOURS.value,
            Clock.start_date < last,
            Clock.due_date >= first,
        )
        .order_by(Clock.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list((await session.scalars(query)).all())


async def add_events(session: AsyncSession, events: Sequence[ClockEvent]) -> None:
    session.add_all(events)
    await session.flush()


async def events_of(session: AsyncSession, clock_id: uuid.UUID) -> list[ClockEvent]:
    query = select(ClockEvent).where(ClockEvent.clock_id == clock_id).order_by(ClockEvent.id)
    return list((await session.scalars(query)).all())


async def breached_between(
    session: AsyncSession, first: dt.datetime, last: dt.datetime, *, limit: int
) -> list[Clock]:
    """Clocks breached in ``first <= breached_at < last``, earliest first (index scan)."""
    query = (
        select(Clock)
        .where(Clock.breached_at.is_not(None), Clock.breached_at >= first, Clock.breached_at < last)
        .order_by(Clock.breached_at, Clock.id)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def at_risk(
    session: AsyncSession, now: dt.datetime, within: dt.timedelta, *, limit: int
) -> list[Clock]:
    """Running, unbreached clocks due in ``now .. now + within``, most urgent first.

    The predicate is the partial index's (ix_clocks_due_at_running), so this is an index scan.
    """
    query = (
        select(Clock)
        .where(
            Clock.stopped_at.is_(None),
            Clock.breached_at.is_(None),
            Clock.paused_since.is_(None),
            Clock.due_at >= now,
            Clock.due_at < now + within,
        )
        .order_by(Clock.due_at, Clock.id)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


# --- rule sets -------------------------------------------------------------------------------


async def get_definition(session: AsyncSession, version: int, name: str) -> ClockDefinition | None:
    return await session.get(ClockDefinition, (version, name))


async def definitions_for(
    session: AsyncSession, keys: Collection[tuple[int, str]]
) -> dict[tuple[int, str], ClockDefinition]:
    if not keys:
        return {}
    query = select(ClockDefinition).where(
        tuple_(ClockDefinition.rule_set_version, ClockDefinition.name).in_(list(keys))
    )
    return {(d.rule_set_version, d.name): d for d in (await session.scalars(query)).all()}


async def get_rule_set(session: AsyncSession, version: int) -> RuleSet | None:
    return await session.get(RuleSet, version)


async def definitions_of(session: AsyncSession, version: int) -> list[ClockDefinition]:
    query = (
        select(ClockDefinition)
        .where(ClockDefinition.rule_set_version == version)
        .order_by(ClockDefinition.name)
    )
    return list((await session.scalars(query)).all())


async def list_rule_sets(session: AsyncSession, *, limit: int, after: int | None) -> list[RuleSet]:
    query = select(RuleSet).order_by(RuleSet.version).limit(limit)
    if after is not None:
        query = query.where(RuleSet.version > after)
    return list((await session.scalars(query)).all())


async def rule_set_in_force(session: AsyncSession, on_date: dt.date) -> RuleSet | None:
    """The version with the latest ``effective_from`` on or before ``on_date`` (the highest
    version among equals)."""
    query = (
        select(RuleSet)
        .where(RuleSet.effective_from <= on_date)
        .order_by(RuleSet.effective_from.desc(), RuleSet.version.desc())
        .limit(1)
    )
    return (await session.scalars(query)).one_or_none()


async def insert_rule_set(
    session: AsyncSession,
    *,
    version: int,
    name: str,
    effective_from: dt.date,
    created_by: str,
    definitions: Sequence[dict[str, Any]],
) -> RuleSet | None:
    """Insert a new version and its definitions; ``None`` if the version exists (the primary
    key decides, so two concurrent creations of one version cannot both succeed)."""
    inserted = await session.scalar(
        insert(RuleSet)
        .values(version=version, name=name, effective_from=effective_from, created_by=created_by)
        .on_conflict_do_nothing(index_elements=[RuleSet.version])
        .returning(RuleSet.version)
    )
    if inserted is None:
        return None
    await session.execute(
        insert(ClockDefinition), [{"rule_set_version": version, **d} for d in definitions]
    )
    return await session.get_one(RuleSet, version)
