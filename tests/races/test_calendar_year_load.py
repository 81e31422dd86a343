"""A clock started while a year is being loaded is never left with the old calendar's due date.

Real, committing sessions on separate connections: the year load holds the calendar row, the
clock start waits for it (FOR SHARE), then computes on the new calendar.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.calendar import service as calendar_service
from app.calendar.schemas import YearLoad
from app.clocks.models import Clock
from app.clocks.recompute import recompute_for_calendar_change
from tests.calendar.test_year_load import YEAR_2027
from tests.clocks.helpers import local, start_clock
from tests.conftest import truncate_test_data


@pytest.fixture
async def committed(engine: AsyncEngine) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    from app.db.session import make_session_factory

    yield make_session_factory(engine)
    await truncate_test_data(engine)
    async with engine.begin() as connection:
        await connection.execute(text("DELETE FROM calendar_days WHERE date >= '2027-01-01'"))
        await connection.execute(text("DELETE FROM calendar_years WHERE year >= 2027"))
        await connection.execute(text("UPDATE calendars SET version = 1 WHERE code = 'CN'"))


async def waiting_on_a_lock(session: AsyncSession, pid: int) -> bool:
    state = await session.scalar(
        text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
    )
    return state == "Lock"


async def test_clock_started_during_a_year_load_uses_the_new_calendar(
    committed: async_sessionmaker[AsyncSession],
) -> None:
    async with committed() as loader, committed() as starter, committed() as observer:
        await calendar_service.load_year(
            loader,
            "CN",
            2027,
            YearLoad.model_validate(YEAR_2027),
            now=local(2026, 11, 20),
            actor="user:admin",
            expected_version=None,
            on_change=recompute_for_calendar_change,
        )
        starter_pid = await starter.scalar(text("SELECT pg_backend_pid()"))
        assert isinstance(starter_pid, int)

        async def start_and_commit() -> Clock:
            clock = await start_clock(
                starter, "C3_acceptance_notice", started_at=local(2026, 12, 20)
            )
            await starter.commit()
            return clock

        started = asyncio.create_task(start_and_commit())
        # Without the lock the start would finish now, on the old calendar; with it, it waits.
        for _ in range(10_000):  # a guard against hanging, not a timing assertion
            if started.done() or await waiting_on_a_lock(observer, starter_pid):
                break
            await asyncio.sleep(0.01)
        await loader.commit()
        clock = await started

    # On the loaded 2027 (Jan 1-3 off) the tenth working day is Jan 4, and it is not provisional.
    assert clock.due_date == dt.date(2027, 1, 4)
    assert clock.provisional is False
