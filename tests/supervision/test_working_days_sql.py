"""``working_days_between`` in SQL agrees with the calendar arithmetic the clocks use."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.calendar import service as calendar_service
from app.reports.facts import working_days_between

DAYS = st.dates(min_value=dt.date(2004, 1, 1), max_value=dt.date(2027, 12, 31))


async def test_the_worked_examples(session: AsyncSession) -> None:
    cases = [
        (dt.date(2025, 9, 30), dt.date(2025, 10, 14), 5),  # Oct 9, 10, 11 (Sat, make-up), 13, 14
        (dt.date(2026, 9, 30), dt.date(2026, 10, 20), 10),
        (dt.date(2026, 2, 12), dt.date(2026, 2, 26), 5),
        (dt.date(2026, 3, 6), dt.date(2026, 3, 8), 0),  # a weekend
        (dt.date(2026, 3, 9), dt.date(2026, 3, 2), 0),  # backwards
    ]
    for after, through, expected in cases:
        query = select(working_days_between("CN", after, through))
        assert await session.scalar(query) == expected, (after, through)


async def test_a_regional_calendar_adds_its_days_off(session: AsyncSession) -> None:
    await session.execute(
        text("INSERT INTO calendars (code, name, parent_code) VALUES ('CN-TEST', 'test', 'CN')")
    )
    await session.execute(
        text(
            "INSERT INTO calendar_days (calendar_code, date, working, kind, name)"
            " VALUES ('CN-TEST', '2026-03-04', false, 'holiday', 'local')"
        )
    )
    after, through = dt.date(2026, 3, 1), dt.date(2026, 3, 31)
    national = await session.scalar(select(working_days_between("CN", after, through)))
    regional = await session.scalar(select(working_days_between("CN-TEST", after, through)))
    assert (national, regional) == (22, 21)


async def test_agrees_with_the_python_calendar_on_random_ranges(session: AsyncSession) -> None:
    view = await calendar_service.get_view(session, "CN")
    pairs: list[tuple[dt.date, dt.date]] = []

    @settings(max_examples=300, suppress_health_check=list(HealthCheck), deadline=None)
    @given(DAYS, st.integers(min_value=0, max_value=400))
    def collect(after: dt.date, span: int) -> None:
        pairs.append((after, after + dt.timedelta(days=span)))

    collect()
    values = ", ".join(f"('{a}'::date, '{b}'::date)" for a, b in pairs)
    rows = await session.execute(
        text(f"SELECT a, b, working_days_between('CN', a, b) FROM (VALUES {values}) AS t(a, b)")  # noqa: S608 - dates generated above
    )
    for after, through, counted in rows:
        expected = view.days.count_working_days(after + dt.timedelta(days=1), through)
        assert counted == expected, (after, through)
