"""Deterministic builders for clock tests."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

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
