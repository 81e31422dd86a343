"""Working-day arithmetic: properties on the real CN data and on random calendars, plus an
exhaustive comparison with a naive day-by-day reference over 2004-2026."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.calendar.arithmetic import (
    SPAN_END,
    SPAN_START,
    CalendarDay,
    DayKind,
    WorkingCalendar,
)
from app.calendar.official_data import CN_OFFICIAL_PATH, cn_calendar, load_official_cn

D = dt.date
ONE = dt.timedelta(days=1)


# --- naive reference, independent of WorkingCalendar -------------------------------------------


def _raw_cn_status() -> dict[dt.date, bool]:
    """Working flag per listed date, read straight from the JSON (not via the loader)."""
    raw = json.loads(CN_OFFICIAL_PATH.read_text(encoding="utf-8"))
    return {
        D.fromisoformat(item["date"]): bool(item["working"])
        for year in raw["years"].values()
        for item in year["days"]
    }


def naive_is_working(status: Mapping[dt.date, bool], day: dt.date) -> bool:
    if day in status:
        return status[day]
    return day.weekday() < 5


def naive_add_working_days(status: Mapping[dt.date, bool], start: dt.date, amount: int) -> dt.date:
    day = start
    left = amount
    while left > 0:
        day += ONE
        if naive_is_working(status, day):
            left -= 1
    return day


def naive_add_calendar_days(
    status: Mapping[dt.date, bool], start: dt.date, amount: int, roll_forward: bool = True
) -> dt.date:
    day = start + dt.timedelta(days=amount)
    while roll_forward and not naive_is_working(status, day):
        day += ONE
    return day


def naive_count(status: Mapping[dt.date, bool], first: dt.date, last: dt.date) -> int:
    count = 0
    day = first
    while day <= last:
        count += naive_is_working(status, day)
        day += ONE
    return count


# --- calendars -------------------------------------------------------------------------------

CN = cn_calendar()
CN_STATUS = _raw_cn_status()

RANDOM_YEARS = range(2019, 2025)
official_years_st = st.sets(st.sampled_from(list(RANDOM_YEARS)), min_size=1)


@st.composite
def random_calendars(draw: st.DrawFn) -> tuple[WorkingCalendar, dict[dt.date, bool]]:
    """A calendar with random exceptions inside random official years, and its status map."""
    years = draw(official_years_st)
    dates = st.dates(D(min(years), 1, 1), D(max(years), 12, 31)).filter(lambda d: d.year in years)
    # Long runs of rest days (a whole month off) stress the "skip over" logic.
    flags = draw(st.dictionaries(dates, st.booleans(), max_size=120))
    if draw(st.booleans()):
        year = min(years)
        month = draw(st.integers(1, 12))
        first = D(year, month, 1)
        for i in range(31):
            day = first + dt.timedelta(days=i)
            if day.month == month:
                flags[day] = False
    days = []
    for day, working in flags.items():
        weekend = day.weekday() >= 5
        if working and weekend:
            days.append(CalendarDay(day, True, DayKind.MAKEUP_WORKDAY, "Make-up"))
        elif not working:
            days.append(CalendarDay(day, False, DayKind.HOLIDAY, "Holiday"))
        else:
            days.append(CalendarDay(day, True, None, None))  # a no-op entry must change nothing
    return WorkingCalendar(days, years), flags


cn_starts = st.dates(D(2003, 6, 1), D(2027, 12, 31))
random_starts = st.dates(D(2018, 6, 1), D(2025, 12, 31))
amounts = st.integers(min_value=1, max_value=80)


def _check_add_working_days(cal: WorkingCalendar, start: dt.date, amount: int) -> None:
    due = cal.add_working_days(start, amount)
    assert due > start
    assert cal.is_working_day(due)
    assert cal.count_working_days(start + ONE, due) == amount
    # Minimal: one day earlier there were only amount - 1 working days.
    assert cal.count_working_days(start + ONE, due - ONE) == amount - 1
    assert cal.add_working_days(start, amount + 1) > due
    assert cal.add_working_days(start + ONE, amount) >= due
    assert cal.add_working_days(start, amount - 1) < due


def _check_add_calendar_days(cal: WorkingCalendar, start: dt.date, amount: int) -> None:
    plain = start + dt.timedelta(days=amount)
    assert cal.add_calendar_days(start, amount, roll_forward=False) == plain
    due = cal.add_calendar_days(start, amount)
    assert due >= plain
    assert cal.is_working_day(due)
    assert cal.count_working_days(plain, due - ONE) == 0
    assert cal.add_calendar_days(start + ONE, amount) >= due
    assert cal.add_calendar_days(start, amount + 1) >= due


def _check_next_working_day(cal: WorkingCalendar, day: dt.date) -> None:
    nxt = cal.next_working_day(day)
    assert nxt > day
    assert cal.is_working_day(nxt)
    assert cal.count_working_days(day + ONE, nxt - ONE) == 0
    assert nxt == cal.add_working_days(day, 1)
    on_or_after = cal.working_day_on_or_after(day)
    assert on_or_after == (day if cal.is_working_day(day) else nxt)


# --- properties on the real data ------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(start=cn_starts, amount=amounts)
def test_cn_add_working_days_properties(start: dt.date, amount: int) -> None:
    _check_add_working_days(CN, start, amount)


@settings(max_examples=300, deadline=None)
@given(start=cn_starts, amount=st.integers(min_value=0, max_value=90))
def test_cn_add_calendar_days_properties(start: dt.date, amount: int) -> None:
    _check_add_calendar_days(CN, start, amount)


@settings(max_examples=300, deadline=None)
@given(day=cn_starts)
def test_cn_next_working_day_properties(day: dt.date) -> None:
    _check_next_working_day(CN, day)


@settings(max_examples=200, deadline=None)
@given(first=cn_starts, last=cn_starts)
def test_cn_count_matches_naive(first: dt.date, last: dt.date) -> None:
    if (last - first).days > 800:
        last = first + dt.timedelta(days=800)
    assert CN.count_working_days(first, last) == naive_count(CN_STATUS, first, last)


@settings(max_examples=200, deadline=None)
@given(start1=cn_starts, start2=cn_starts, amount=amounts)
def test_cn_monotonic_in_start(start1: dt.date, start2: dt.date, amount: int) -> None:
    lo, hi = sorted((start1, start2))
    assert CN.add_working_days(lo, amount) <= CN.add_working_days(hi, amount)
    assert CN.add_calendar_days(lo, amount) <= CN.add_calendar_days(hi, amount)


@settings(max_examples=200, deadline=None)
@given(start=cn_starts, n1=amounts, n2=amounts)
def test_cn_monotonic_in_amount(start: dt.date, n1: int, n2: int) -> None:
    lo, hi = sorted((n1, n2))
    assert CN.add_working_days(start, lo) <= CN.add_working_days(start, hi)
    assert CN.add_calendar_days(start, lo) <= CN.add_calendar_days(start, hi)


# --- properties on random calendars ---------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(data=random_calendars(), start=random_starts, amount=amounts)
def test_random_add_working_days(
    data: tuple[WorkingCalendar, dict[dt.date, bool]], start: dt.date, amount: int
) -> None:
    cal, status = data
    _check_add_working_days(cal, start, amount)
    assert cal.add_working_days(start, amount) == naive_add_working_days(status, start, amount)


@settings(max_examples=150, deadline=None)
@given(
    data=random_calendars(),
    start=random_starts,
    amount=st.integers(0, 90),
    roll=st.booleans(),
)
def test_random_add_calendar_days(
    data: tuple[WorkingCalendar, dict[dt.date, bool]], start: dt.date, amount: int, roll: bool
) -> None:
    cal, status = data
    _check_add_calendar_days(cal, start, amount)
    expected = naive_add_calendar_days(status, start, amount, roll)
    assert cal.add_calendar_days(start, amount, roll_forward=roll) == expected


@settings(max_examples=150, deadline=None)
@given(data=random_calendars(), day=random_starts, last=random_starts)
def test_random_next_day_count_and_describe(
    data: tuple[WorkingCalendar, dict[dt.date, bool]], day: dt.date, last: dt.date
) -> None:
    cal, status = data
    _check_next_working_day(cal, day)
    assert cal.is_working_day(day) == naive_is_working(status, day)
    described = cal.describe(day)
    assert described.date == day
    assert described.working == naive_is_working(status, day)
    assert (described.kind is None) == (day not in status or (status[day] and day.weekday() < 5))
    assert cal.count_working_days(day, last) == naive_count(status, day, last)


@settings(max_examples=150, deadline=None)
@given(data=random_calendars(), first=random_starts, last=random_starts)
def test_random_is_provisional(
    data: tuple[WorkingCalendar, dict[dt.date, bool]], first: dt.date, last: dt.date
) -> None:
    cal, _ = data
    # An empty range (last < first) depends on no year at all.
    expected = last >= first and any(
        y not in cal.official_years for y in range(first.year, last.year + 1)
    )
    assert cal.is_provisional(first, last) == expected


# --- exhaustive agreement with the naive reference on the real data --------------------------

NAIVE_CASES: list[tuple[str, int, Callable[[dt.date, int], dt.date]]] = [
    *[("working", n, lambda s, n: naive_add_working_days(CN_STATUS, s, n)) for n in (1, 5, 10, 15)],
    *[("calendar", n, lambda s, n: naive_add_calendar_days(CN_STATUS, s, n)) for n in (15, 30, 60)],
]


@pytest.mark.parametrize(("rule", "amount", "naive"), NAIVE_CASES)
def test_every_start_2004_2026_matches_naive(
    rule: str, amount: int, naive: Callable[[dt.date, int], dt.date]
) -> None:
    compute = CN.add_working_days if rule == "working" else CN.add_calendar_days
    day = D(2004, 1, 1)
    mismatches = []
    while day <= D(2026, 12, 31):
        expected = naive(day, amount)
        got = compute(day, amount)
        if got != expected:
            mismatches.append((day, got, expected))
        day += ONE
    assert not mismatches, mismatches[:10]


# --- provisional results -------------------------------------------------------------------


def test_deadline_into_unloaded_year_is_provisional() -> None:
    start = D(2026, 12, 20)
    due = CN.add_working_days(start, 10)
    # 2027-01-01 is a Friday: with no 2027 data it counts as a working day (weekend rule).
    assert due == D(2027, 1, 1)
    assert CN.is_provisional(start + ONE, due)
    assert CN.is_provisional(start + ONE, CN.add_calendar_days(start, 15))
    assert not CN.is_provisional(start + ONE, CN.add_working_days(start, 5))


def test_same_deadline_not_provisional_when_all_years_official() -> None:
    data = load_official_cn()
    cal = WorkingCalendar(data.days, data.years | {2027})
    start = D(2026, 12, 20)
    due = cal.add_working_days(start, 10)
    assert due == D(2027, 1, 1)
    assert not cal.is_provisional(start + ONE, due)


def test_gap_year_inside_range_is_provisional() -> None:
    cal = WorkingCalendar([], [2020, 2022])
    assert cal.is_provisional(D(2020, 6, 1), D(2022, 6, 1))
    assert not cal.is_provisional(D(2020, 6, 1), D(2020, 12, 31))
    assert not cal.is_provisional(D(2022, 1, 1), D(2022, 12, 31))
    assert cal.is_provisional(D(2023, 1, 1), D(2023, 1, 1))
    assert not cal.is_provisional(D(2022, 1, 2), D(2022, 1, 1))  # empty range


def test_plain_weekend_rule_without_data() -> None:
    cal = WorkingCalendar({}, [])
    assert cal.add_working_days(D(2030, 1, 4), 1) == D(2030, 1, 7)  # Fri -> Mon
    assert cal.add_working_days(D(2030, 1, 5), 5) == D(2030, 1, 11)  # Sat -> Fri
    assert cal.add_calendar_days(D(2030, 1, 1), 4) == D(2030, 1, 7)  # Sat -> Mon
    assert cal.count_working_days(D(2030, 1, 1), D(2030, 12, 31)) == 261
    assert cal.is_provisional(D(2030, 1, 1), D(2030, 1, 2))


# --- edges and validation ------------------------------------------------------------------


def test_zero_amount_returns_start() -> None:
    assert CN.add_working_days(D(2025, 10, 1), 0) == D(2025, 10, 1)
    assert CN.add_calendar_days(D(2025, 10, 1), 0, roll_forward=False) == D(2025, 10, 1)
    assert CN.add_calendar_days(D(2025, 10, 1), 0) == D(2025, 10, 9)


def test_count_empty_and_single_day() -> None:
    assert CN.count_working_days(D(2025, 10, 9), D(2025, 10, 8)) == 0
    assert CN.count_working_days(D(2025, 10, 11), D(2025, 10, 11)) == 1
    assert CN.count_working_days(D(2025, 10, 4), D(2025, 10, 4)) == 0


def test_long_range_is_fast() -> None:
    # O(log n): a century of counting costs the same as a week.
    t0 = time.perf_counter()
    for _ in range(2000):
        CN.count_working_days(SPAN_START, SPAN_END)
        CN.add_working_days(SPAN_START, 50_000)
    assert time.perf_counter() - t0 < 0.5


def test_construction_is_fast() -> None:
    data = load_official_cn()
    best = min(_timed(lambda: WorkingCalendar(data.days, data.years)) for _ in range(3))
    assert best < 0.25


def _timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def test_span_limits() -> None:
    with pytest.raises(ValueError, match="outside the calendar span"):
        CN.is_working_day(SPAN_START - ONE)
    with pytest.raises(ValueError, match="outside the calendar span"):
        CN.add_working_days(SPAN_END + ONE, 1)
    with pytest.raises(ValueError, match="beyond the calendar span"):
        CN.add_working_days(D(2200, 12, 1), 60)
    with pytest.raises(ValueError, match="beyond the calendar span"):
        CN.add_calendar_days(D(2200, 12, 1), 60)
    with pytest.raises(ValueError, match="beyond the calendar span"):
        CN.next_working_day(SPAN_END)
    assert CN.add_working_days(SPAN_START, 1) == D(1990, 1, 2)


def test_rejects_negative_amounts_and_datetimes() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        CN.add_working_days(D(2025, 1, 1), -1)
    with pytest.raises(ValueError, match=">= 0"):
        CN.add_calendar_days(D(2025, 1, 1), -1)
    with pytest.raises(TypeError, match="datetime"):
        CN.add_working_days(dt.datetime(2025, 1, 1, tzinfo=dt.UTC), 1)
    with pytest.raises(TypeError, match="datetime"):
        CN.is_working_day(dt.datetime(2025, 1, 1, tzinfo=dt.UTC))


@pytest.mark.parametrize(
    ("exceptions", "years", "message"),
    [
        ([CalendarDay(D(2025, 1, 1), False, DayKind.HOLIDAY, "x")], [2024], "not an official"),
        ([CalendarDay(D(2025, 1, 1), True, DayKind.HOLIDAY, "x")], [2025], "holiday cannot"),
        ([CalendarDay(D(2025, 1, 4), False, DayKind.MAKEUP_WORKDAY, "x")], [2025], "make-up"),
        ([CalendarDay(D(2025, 1, 1), False, None, "x")], [2025], "needs a kind"),
        (
            [CalendarDay(D(2025, 1, 1), False, None, None)] * 2,
            [2025],
            "duplicate",
        ),
        ({D(2025, 1, 2): CalendarDay(D(2025, 1, 1), False, None, None)}, [2025], "keyed"),
        ([CalendarDay(D(1980, 1, 1), False, None, None)], [1980], "outside"),
    ],
)
def test_constructor_validation(
    exceptions: list[CalendarDay] | dict[dt.date, CalendarDay], years: list[int], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        WorkingCalendar(exceptions, years)


def test_mapping_and_iterable_inputs_agree_and_calendar_is_immutable() -> None:
    data = load_official_cn()
    from_mapping = WorkingCalendar({d.date: d for d in data.days}, data.years)
    assert from_mapping.exceptions == CN.exceptions
    assert from_mapping.add_working_days(D(2025, 9, 30), 5) == D(2025, 10, 14)
    assert CN.official_years == frozenset(range(2004, 2027))
    with pytest.raises(AttributeError):
        CN.official_years = frozenset()  # type: ignore[misc]
    with pytest.raises(AttributeError):
        CN._working = None  # type: ignore[assignment]
    with pytest.raises(TypeError):
        CN.exceptions[D(2030, 1, 1)] = CalendarDay(D(2030, 1, 1), True, None, None)  # type: ignore[index]


def naive_subtract_working_days(
    status: Mapping[dt.date, bool], day: dt.date, amount: int
) -> dt.date:
    left = amount
    while left > 0:
        day -= ONE
        if naive_is_working(status, day):
            left -= 1
    return day


@settings(max_examples=300, deadline=None)
@given(day=cn_starts, amount=amounts)
def test_cn_subtract_working_days_matches_naive(day: dt.date, amount: int) -> None:
    assert CN.subtract_working_days(day, amount) == naive_subtract_working_days(
        CN_STATUS, day, amount
    )


@settings(max_examples=300, deadline=None)
@given(start=cn_starts, amount=st.integers(min_value=1, max_value=60))
def test_subtract_undoes_add_working_days(start: dt.date, amount: int) -> None:
    due = CN.add_working_days(start, amount)
    back = CN.subtract_working_days(due, amount)
    # Walking back lands on start, or on the last working day before it when start is a rest day.
    assert back <= start
    assert CN.count_working_days(back + ONE, start) == 0


def test_subtract_working_days_examples_and_limits() -> None:
    # 2025-10-14 minus 3 working days: Oct 13, Oct 11 (make-up Saturday), Oct 10.
    assert CN.subtract_working_days(D(2025, 10, 14), 3) == D(2025, 10, 10)
    # Across National Day 2025 (Oct 1-8 off): Sep 30, Sep 29, then the make-up Sunday Sep 28.
    assert CN.subtract_working_days(D(2025, 10, 9), 3) == D(2025, 9, 28)
    assert CN.subtract_working_days(D(2025, 10, 4), 0) == D(2025, 10, 4)
    with pytest.raises(ValueError, match="before"):
        CN.subtract_working_days(SPAN_START, 1)
    with pytest.raises(ValueError, match=">= 0"):
        CN.subtract_working_days(D(2025, 10, 4), -1)
