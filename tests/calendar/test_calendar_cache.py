"""The service builds a calendar once per version and notices changes made elsewhere."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.calendar import service
from app.calendar.repository import CalendarStamp
from app.calendar.schemas import YearLoad
from app.calendar.service import CalendarChange
from app.calendar.view import CalendarView
from tests.calendar.test_year_load import YEAR_2027


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    seen: list[int] = []
    real = service._build_view

    async def counting(session: AsyncSession, stamp: CalendarStamp) -> CalendarView:
        seen.append(stamp.version)
        return await real(session, stamp)

    monkeypatch.setattr(service, "_build_view", counting)
    monkeypatch.setattr(service, "_views", {})
    return seen


async def no_clocks(
    session: AsyncSession, change: CalendarChange, *, now: dt.datetime, actor: str
) -> int:
    return 0


async def test_built_once_then_rebuilt_after_a_load(
    session: AsyncSession, builds: list[int]
) -> None:
    first = await service.get_view(session, "CN")
    assert await service.get_view(session, "CN") is first
    assert len(builds) == 1
    await service.load_year(
        session,
        "CN",
        2027,
        YearLoad.model_validate(YEAR_2027),
        now=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        actor="user:admin",
        expected_version=None,
        on_change=no_clocks,
    )
    second = await service.get_view(session, "CN")
    assert second is not first
    assert second.version == first.version + 1
    assert 2027 in second.days.official_years
    assert await service.get_view(session, "CN") is second
    assert len(builds) == 2


async def test_a_change_made_by_another_process_is_noticed(
    session: AsyncSession, builds: list[int]
) -> None:
    before = await service.get_view(session, "CN")
    assert before.days.is_working_day(dt.date(2026, 6, 1))
    # What another instance's year correction leaves behind: new rows and a new version.
    await session.execute(
        text(
            "INSERT INTO calendar_days (calendar_code, date, working, kind, name) "
            "VALUES ('CN', '2026-06-01', false, 'holiday', 'test holiday')"
        )
    )
    await session.execute(text("UPDATE calendars SET version = version + 1 WHERE code = 'CN'"))
    after = await service.get_view(session, "CN")
    assert not after.days.is_working_day(dt.date(2026, 6, 1))
    assert len(builds) == 2


async def test_a_rolled_back_load_does_not_poison_the_cache(
    session: AsyncSession, builds: list[int]
) -> None:
    """Two loads can produce the same version number when the first rolls back; the cache also
    keys on the writing transaction, so the discarded calendar is never served."""
    nested = await session.begin_nested()
    await session.execute(
        text(
            "INSERT INTO calendar_days (calendar_code, date, working, kind, name) "
            "VALUES ('CN', '2026-06-01', false, 'holiday', 'discarded')"
        )
    )
    await session.execute(text("UPDATE calendars SET version = version + 1 WHERE code = 'CN'"))
    discarded = await service.get_view(session, "CN")
    assert not discarded.days.is_working_day(dt.date(2026, 6, 1))
    await nested.rollback()
    await session.execute(text("UPDATE calendars SET version = version + 1 WHERE code = 'CN'"))
    current = await service.get_view(session, "CN")
    assert current.version == discarded.version
    assert current.days.is_working_day(dt.date(2026, 6, 1))
