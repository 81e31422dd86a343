"""Queries on calendars, their days and their loaded years."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.calendar.models import Calendar, CalendarDayRow, CalendarYear


@dataclass(frozen=True, slots=True)
class CalendarStamp:
    """What identifies one state of a calendar's rows: its version and the transaction that wrote
    it (``xmin``). The version alone is not enough: a rolled-back load reuses its number."""

    code: str
    version: int
    xmin: str
    time_zone: str


_STAMP = text("SELECT code, version, xmin::text AS xmin, time_zone FROM calendars WHERE code = :c")

# The calendar and its ancestors, nearest first.
_ANCESTORS = text(
    """
    WITH RECURSIVE chain(code, parent_code, depth) AS (
        SELECT code, parent_code, 0 FROM calendars WHERE code = :c
        UNION ALL
        SELECT p.code, p.parent_code, chain.depth + 1
        FROM calendars p JOIN chain ON p.code = chain.parent_code
        WHERE chain.depth < 16
    )
    SELECT code FROM chain ORDER BY depth
    """
)

# The calendar and every calendar that inherits from it.
_DESCENDANTS = text(
    """
    WITH RECURSIVE tree(code, depth) AS (
        SELECT code, 0 FROM calendars WHERE code = :c
        UNION ALL
        SELECT child.code, tree.depth + 1
        FROM calendars child JOIN tree ON child.parent_code = tree.code
        WHERE tree.depth < 16
    )
    SELECT code FROM tree
    """
)


async def calendar_stamp(
    session: AsyncSession, code: str, *, share_lock: bool = False
) -> CalendarStamp | None:
    """The calendar's current stamp; ``share_lock`` holds a FOR SHARE lock on the row until
    the transaction ends, so a concurrent year load waits for it (and it for the load)."""
    query = _STAMP.text + (" FOR SHARE" if share_lock else "")
    row = (await session.execute(text(query), {"c": code})).one_or_none()
    if row is None:
        return None
    return CalendarStamp(code=row.code, version=row.version, xmin=row.xmin, time_zone=row.time_zone)


async def get_calendar(session: AsyncSession, code: str) -> Calendar | None:
    return await session.get(Calendar, code)


async def ancestor_codes(session: AsyncSession, code: str) -> list[str]:
    """``code`` and its ancestors, nearest first (empty if the calendar does not exist)."""
    return list((await session.scalars(_ANCESTORS, {"c": code})).all())


async def days_of(session: AsyncSession, codes: Sequence[str]) -> list[CalendarDayRow]:
    query = select(CalendarDayRow).where(CalendarDayRow.calendar_code.in_(codes))
    return list((await session.scalars(query)).all())


async def loaded_years(session: AsyncSession, code: str) -> list[int]:
    query = (
        select(CalendarYear.year)
        .where(CalendarYear.calendar_code == code)
        .order_by(CalendarYear.year)
    )
    return list((await session.scalars(query)).all())


async def bump_versions(session: AsyncSession, code: str) -> dict[str, int]:
    """Increment the version of ``code`` and of every calendar inheriting from it.

    Their effective days change together, and the row locks this takes serialise concurrent
    loads and make clock operations (which FOR SHARE the row) wait for this transaction.
    """
    codes = list((await session.scalars(_DESCENDANTS, {"c": code})).all())
    rows = await session.execute(
        update(Calendar)
        .where(Calendar.code.in_(codes))
        .values(version=Calendar.version + 1, updated_at=func.now())
        .returning(Calendar.code, Calendar.version)
    )
    return {row.code: row.version for row in rows}


async def get_year(
    session: AsyncSession, code: str, year: int, *, for_update: bool = False
) -> CalendarYear | None:
    query = select(CalendarYear).where(
        CalendarYear.calendar_code == code, CalendarYear.year == year
    )
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query.execution_options(populate_existing=True))).one_or_none()


async def days_in_year(session: AsyncSession, code: str, year: int) -> list[CalendarDayRow]:
    query = (
        select(CalendarDayRow)
        .where(
            CalendarDayRow.calendar_code == code,
            CalendarDayRow.date >= dt.date(year, 1, 1),
            CalendarDayRow.date <= dt.date(year, 12, 31),
        )
        .order_by(CalendarDayRow.date)
    )
    return list((await session.scalars(query)).all())


async def replace_year_days(
    session: AsyncSession, code: str, year: int, days: Sequence[dict[str, object]]
) -> None:
    """Replace every listed day of ``year`` (a correction may remove days as well as add)."""
    await session.execute(
        delete(CalendarDayRow).where(
            CalendarDayRow.calendar_code == code,
            CalendarDayRow.date >= dt.date(year, 1, 1),
            CalendarDayRow.date <= dt.date(year, 12, 31),
        )
    )
    if days:
        await session.execute(insert(CalendarDayRow), [{"calendar_code": code, **d} for d in days])


async def upsert_year(
    session: AsyncSession,
    code: str,
    year: int,
    *,
    source: str,
    loaded_at: dt.datetime,
    loaded_by: str,
) -> CalendarYear:
    """Record the year as loaded: version 1 the first time, +1 on each correction."""
    statement = insert(CalendarYear).values(
        calendar_code=code,
        year=year,
        status="official",
        source=source,
        loaded_at=loaded_at,
        loaded_by=loaded_by,
    )
    statement = statement.on_conflict_do_update(
        index_elements=[CalendarYear.calendar_code, CalendarYear.year],
        set_={
            "source": statement.excluded.source,
            "loaded_at": statement.excluded.loaded_at,
            "loaded_by": statement.excluded.loaded_by,
            "version": CalendarYear.version + 1,
        },
    )
    await session.execute(statement)
    loaded = await get_year(session, code, year)
    assert loaded is not None
    return loaded
