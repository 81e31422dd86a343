"""Pure due-date maths: worked examples and Hypothesis properties on the real CN calendar."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.calendar.arithmetic import WorkingCalendar
from app.calendar.official_data import load_official_cn
from app.calendar.view import CalendarView
from app.clocks.due import Terms, compute_due, outcome_is_late, paused_span, warn_at
from app.clocks.states import Unit
from tests.clocks.helpers import CN_VIEW, local

D = dt.date
DAY_UNITS = st.sampled_from([Unit.WORKING_DAYS, Unit.CALENDAR_DAYS])
ALL_UNITS = st.sampled_from(list(Unit))
_FIRST = dt.datetime(2004, 1, 1, tzinfo=dt.UTC)
_SECONDS = int((dt.datetime(2026, 10, 31, tzinfo=dt.UTC) - _FIRST).total_seconds())
INSTANTS = st.integers(min_value=0, max_value=_SECONDS).map(
    lambda s: _FIRST + dt.timedelta(seconds=s)
)
AMOUNTS = st.integers(min_value=0, max_value=90)
PAUSES = st.integers(min_value=0, max_value=60)


def terms(
    unit: Unit, amount: int, started_at: dt.datetime, paused: int = 0, roll: bool = True
) -> Terms:
    return Terms(
        unit=unit,
        amount=amount,
        roll_forward=roll,
        started_at=started_at,
        start_date=CN_VIEW.local_date(started_at),
        paused_units=paused,
    )


def test_working_days_example_and_local_midnight() -> None:
    due = compute_due(CN_VIEW, terms(Unit.WORKING_DAYS, 5, local(2025, 9, 30, 23, 59)))
    assert due.due_date == D(2025, 10, 14)
    assert due.due_at == dt.datetime(2025, 10, 14, 16, 0, tzinfo=dt.UTC)
    assert due.provisional is False


def test_start_date_is_the_beijing_date() -> None:
    # 17:30 UTC on Sep 30 is 01:30 on Oct 1 in Beijing: counting starts after Oct 1.
    started = dt.datetime(2025, 9, 30, 17, 30, tzinfo=dt.UTC)
    due = compute_due(CN_VIEW, terms(Unit.WORKING_DAYS, 1, started))
    assert due.due_date == D(2025, 10, 9)


def test_calendar_days_roll_forward_over_a_holiday() -> None:
    started = local(2026, 9, 22)
    assert compute_due(CN_VIEW, terms(Unit.CALENDAR_DAYS, 15, started)).due_date == D(2026, 10, 8)
    fixed = compute_due(CN_VIEW, terms(Unit.CALENDAR_DAYS, 15, started, roll=False))
    assert fixed.due_date == D(2026, 10, 7)


def test_hours_ignore_the_calendar() -> None:
    started = local(2025, 10, 1, 9, 15)  # a holiday
    due = compute_due(CN_VIEW, terms(Unit.HOURS, 4, started, paused=2))
    assert due.due_at == started + dt.timedelta(hours=6)
    assert due.provisional is False


def test_into_2027_is_provisional() -> None:
    due = compute_due(CN_VIEW, terms(Unit.WORKING_DAYS, 10, local(2026, 12, 20)))
    assert due.due_date == D(2027, 1, 1)
    assert due.provisional is True


def test_paused_span_across_national_day() -> None:
    paused, resumed = local(2025, 9, 26), local(2025, 10, 10)
    # Working days after Fri Sep 26 up to Fri Oct 10: Sep 28 (make-up), 29, 30, Oct 9, 10.
    assert paused_span(CN_VIEW, Unit.WORKING_DAYS, paused, resumed) == 5
    assert paused_span(CN_VIEW, Unit.CALENDAR_DAYS, paused, resumed) == 14
    assert paused_span(CN_VIEW, Unit.HOURS, paused, resumed) == 14 * 24
    assert paused_span(CN_VIEW, Unit.HOURS, paused, paused + dt.timedelta(minutes=61)) == 2
    assert paused_span(CN_VIEW, Unit.WORKING_DAYS, paused, paused) == 0
    assert paused_span(CN_VIEW, Unit.WORKING_DAYS, resumed, paused) == 0


def test_warning_is_lead_working_days_before_due() -> None:
    warning = warn_at(CN_VIEW, Unit.WORKING_DAYS, D(2025, 10, 14), 2)
    # Two working days before Tue Oct 14: Mon Oct 13, Sat Oct 11 (make-up); warn at its 24:00.
    assert warning == dt.datetime(2025, 10, 11, 16, 0, tzinfo=dt.UTC)
    assert warn_at(CN_VIEW, Unit.WORKING_DAYS, D(2025, 10, 14), 0) is None
    assert warn_at(CN_VIEW, Unit.HOURS, D(2025, 10, 14), 2) is None


def test_late_when_past_due_or_already_breached() -> None:
    due_at = local(2025, 10, 14)
    assert outcome_is_late(now=due_at, due_at=due_at, breached=False) is False
    assert outcome_is_late(now=due_at + dt.timedelta(seconds=1), due_at=due_at, breached=False)
    assert outcome_is_late(now=due_at, due_at=due_at, breached=True)


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CN_VIEW.local_date(dt.datetime(2025, 1, 1))  # noqa: DTZ001 - the point of the test


@settings(max_examples=300, deadline=None)
@given(unit=ALL_UNITS, amount=AMOUNTS, started=INSTANTS, paused=PAUSES)
def test_a_pause_never_makes_a_clock_due_earlier(
    unit: Unit, amount: int, started: dt.datetime, paused: int
) -> None:
    plain = compute_due(CN_VIEW, terms(unit, amount, started))
    longer = compute_due(CN_VIEW, terms(unit, amount, started, paused=paused))
    assert longer.due_at >= plain.due_at
    assert longer.due_date >= plain.due_date


@settings(max_examples=300, deadline=None)
@given(unit=ALL_UNITS, a=AMOUNTS, b=AMOUNTS, started=INSTANTS, roll=st.booleans())
def test_due_is_monotonic_in_amount(
    unit: Unit, a: int, b: int, started: dt.datetime, roll: bool
) -> None:
    lo, hi = sorted((a, b))
    first = compute_due(CN_VIEW, terms(unit, lo, started, roll=roll))
    second = compute_due(CN_VIEW, terms(unit, hi, started, roll=roll))
    assert first.due_at <= second.due_at


@settings(max_examples=300, deadline=None)
@given(amount=AMOUNTS, paused=PAUSES, started=INSTANTS)
def test_pausing_equals_a_longer_limit(amount: int, paused: int, started: dt.datetime) -> None:
    for unit in Unit:
        with_pause = compute_due(CN_VIEW, terms(unit, amount, started, paused=paused))
        longer = compute_due(CN_VIEW, terms(unit, amount + paused, started))
        assert with_pause == longer


@settings(max_examples=300, deadline=None)
@given(amount=st.integers(min_value=1, max_value=90), started=INSTANTS)
def test_working_day_due_is_the_nth_working_day(amount: int, started: dt.datetime) -> None:
    due = compute_due(CN_VIEW, terms(Unit.WORKING_DAYS, amount, started))
    start_date = CN_VIEW.local_date(started)
    assert CN_VIEW.days.is_working_day(due.due_date)
    assert CN_VIEW.days.count_working_days(start_date + dt.timedelta(days=1), due.due_date) == (
        amount
    )
    assert due.due_at == CN_VIEW.end_of_day(due.due_date)
    assert due.due_at > started


@settings(max_examples=300, deadline=None)
@given(unit=DAY_UNITS, amount=st.integers(min_value=1, max_value=90), started=INSTANTS)
def test_due_day_is_a_working_day_after_the_start(
    unit: Unit, amount: int, started: dt.datetime
) -> None:
    due = compute_due(CN_VIEW, terms(unit, amount, started))
    assert due.due_date > CN_VIEW.local_date(started)
    assert CN_VIEW.days.is_working_day(due.due_date)
    # 24:00 Beijing time is 16:00 UTC.
    assert (due.due_at.hour, due.due_at.minute) == (16, 0)


@settings(max_examples=300, deadline=None)
@given(unit=ALL_UNITS, paused_at=INSTANTS, hours=st.integers(min_value=0, max_value=24 * 40))
def test_paused_span_is_monotonic_in_the_resume_instant(
    unit: Unit, paused_at: dt.datetime, hours: int
) -> None:
    resumed = paused_at + dt.timedelta(hours=hours)
    later = resumed + dt.timedelta(hours=7)
    span = paused_span(CN_VIEW, unit, paused_at, resumed)
    assert 0 <= span <= paused_span(CN_VIEW, unit, paused_at, later)


@settings(max_examples=300, deadline=None)
@given(
    amount=st.integers(min_value=2, max_value=60),
    lead=st.integers(min_value=1, max_value=5),
    started=INSTANTS,
)
def test_warning_comes_before_the_deadline(amount: int, lead: int, started: dt.datetime) -> None:
    due = compute_due(CN_VIEW, terms(Unit.WORKING_DAYS, amount, started))
    warning = warn_at(CN_VIEW, Unit.WORKING_DAYS, due.due_date, lead)
    assert warning is not None
    assert warning < due.due_at
    warn_day = CN_VIEW.local_date(warning - dt.timedelta(seconds=1))
    assert CN_VIEW.days.count_working_days(warn_day + dt.timedelta(days=1), due.due_date) == lead


@settings(max_examples=200, deadline=None)
@given(unit=DAY_UNITS, amount=AMOUNTS, started=INSTANTS)
def test_not_provisional_inside_the_loaded_years(
    unit: Unit, amount: int, started: dt.datetime
) -> None:
    due = compute_due(CN_VIEW, terms(unit, amount, started))
    assert due.provisional is (due.due_date.year >= 2027)


GAPPY = CalendarView(
    code="GAP",
    version=1,
    time_zone=CN_VIEW.time_zone,
    days=WorkingCalendar(
        [d for d in load_official_cn().days if d.date.year != 2021],
        [y for y in range(2004, 2027) if y != 2021],
    ),
)


@settings(max_examples=400, deadline=None)
@given(
    start=st.dates(D(2000, 1, 1), D(2030, 12, 31)),
    days=st.integers(min_value=-3, max_value=800),
    view=st.sampled_from([CN_VIEW, GAPPY]),
)
def test_provisional_shortcut_agrees_with_the_search(
    start: dt.date, days: int, view: CalendarView
) -> None:
    due = start + dt.timedelta(days=days)
    expected = view.days.is_provisional(start + dt.timedelta(days=1), due)
    assert view.is_provisional(start, due) is expected
