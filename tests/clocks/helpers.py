"""Deterministic builders for clock tests."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.calendar.official_data import cn_calendar
from app.calendar.view import CalendarView
from app.clocks import service
from app.clocks.models import Clock, ClockEvent
from app.clocks.service import Subject
from app.clocks.states import SubjectKind

SHANGHAI = ZoneInfo("Asia/Shanghai")
ACTOR = "user:test-agent"
CN_VIEW = CalendarView(code="CN", version=1, time_zone=SHANGHAI, days=cn_calendar())


def local(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    """A Beijing wall-clock time as an aware instant."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def subject(kind: SubjectKind = SubjectKind.COMPLAINT) -> Subject:
    return Subject(kind=kind, id=uuid.uuid4())


async def start_clock(
    session: AsyncSession,
    definition: str = "C2_supplement_or_confirm",
    *,
    started_at: dt.datetime | None = None,
    kind: SubjectKind = SubjectKind.COMPLAINT,
    now: dt.datetime | None = None,
    due_date: dt.date | None = None,
) -> Clock:
    started_at = started_at or local(2025, 9, 30)
    return await service.start(
        session,
        subject=subject(kind),
        definition=definition,
        started_at=started_at,
        rule_set_version=1,
        now=now or started_at,
        actor=ACTOR,
        due_date=due_date,
    )


async def event_kinds(session: AsyncSession, clock_id: uuid.UUID) -> list[str]:
    return [event.kind for event in await service.events_of(session, clock_id)]


async def count_events(session: AsyncSession, kind: str) -> int:
    query = select(func.count()).select_from(ClockEvent).where(ClockEvent.kind == kind)
    return int(await session.scalar(query) or 0)


INSERT_OVERDUE = text(
    """
    INSERT INTO clocks (id, subject_kind, subject_id, name, rule_set_version, unit, amount,
                        roll_forward, calendar_code, started_at, start_date, due_date, due_at,
                        provisional)
    SELECT gen_random_uuid(), 'complaint', gen_random_uuid(), 'C7_handling_decision', 1,
           'calendar_days', 15, true, 'CN', p.due_at - interval '15 days',
           (p.due_at - interval '15 days')::date, p.due_at::date,
           p.due_at - g * interval '1 second', false
    FROM (SELECT CAST(:due_at AS timestamptz) AS due_at) AS p,
         generate_series(1, CAST(:n AS integer)) AS g
    """
)


async def insert_overdue(
    factory: async_sessionmaker[AsyncSession], n: int, due_at: dt.datetime
) -> None:
    async with factory() as session:
        await session.execute(INSERT_OVERDUE, {"n": n, "due_at": due_at})
        await session.commit()


async def breached_per_clock(factory: async_sessionmaker[AsyncSession]) -> list[int]:
    async with factory() as session:
        rows = await session.execute(
            text("SELECT count(*) FROM clock_events WHERE kind = 'breached' GROUP BY clock_id")
        )
        return [row[0] for row in rows]
