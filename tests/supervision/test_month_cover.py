"""How a range of days is counted from monthly counts and the tickets (pure)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from app.reports.periods import DayRange, month_cover

DAYS = st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2027, 12, 31))


def _each_day(ranges: list[DayRange]) -> list[dt.date]:
    found = []
    for first, last in ranges:
        found += [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    return found


def _month_days(months: tuple[dt.date, dt.date] | None) -> list[dt.date]:
    if months is None:
        return []
    start, end = months
    return _each_day([(start, end - dt.timedelta(days=1))])


@given(DAYS, st.integers(min_value=0, max_value=400))
def test_months_plus_added_less_subtracted_days_are_exactly_the_range(
    first: dt.date, length: int
) -> None:
    last = first + dt.timedelta(days=length)
    cover = month_cover(first, last)
    months = _month_days(cover.months)
    if cover.months is not None:
        assert cover.months[0].day == 1
        assert cover.months[1].day == 1
    added, subtracted = _each_day(cover.add), _each_day(cover.subtract)
    assert not set(added) & set(months)
    assert set(subtracted) <= set(months)
    assert len(set(added)) == len(added)
    assert len(set(subtracted)) == len(subtracted)
    wanted = set(_each_day([(first, last)]))
    assert (set(months) | set(added)) - set(subtracted) == wanted
    # Never more than half a month of tickets read at either end.
    assert len(added) + len(subtracted) <= 31


def test_a_month_less_two_days_reads_the_two_days() -> None:
    cover = month_cover(dt.date(2026, 3, 2), dt.date(2026, 3, 30))
    assert cover.months == (dt.date(2026, 3, 1), dt.date(2026, 4, 1))
    assert cover.add == []
    assert cover.subtract == [
        (dt.date(2026, 3, 1), dt.date(2026, 3, 1)),
        (dt.date(2026, 3, 31), dt.date(2026, 3, 31)),
    ]
    few_days = month_cover(dt.date(2026, 2, 20), dt.date(2026, 3, 10))
    assert few_days.months is None
    assert few_days.add == [
        (dt.date(2026, 2, 20), dt.date(2026, 2, 28)),
        (dt.date(2026, 3, 1), dt.date(2026, 3, 10)),
    ]
