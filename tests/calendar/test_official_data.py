"""The committed official CN calendar (app/calendar/data/cn_official_2004_2026.json)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from app.calendar.arithmetic import CalendarDay, DayKind, WorkingCalendar
from app.calendar.official_data import CN_OFFICIAL_PATH, cn_calendar, load_official_cn

D = dt.date

# From the State Council notices for 2024, 2025 and 2026 (DOMAIN.md section 2.1 for 2025/2026).
MAKEUP_WORKDAYS = {
    2024: [
        D(2024, 2, 4),
        D(2024, 2, 18),
        D(2024, 4, 7),
        D(2024, 4, 28),
        D(2024, 5, 11),
        D(2024, 9, 14),
        D(2024, 9, 29),
        D(2024, 10, 12),
    ],
    2025: [D(2025, 1, 26), D(2025, 2, 8), D(2025, 4, 27), D(2025, 9, 28), D(2025, 10, 11)],
    2026: [
        D(2026, 1, 4),
        D(2026, 2, 14),
        D(2026, 2, 28),
        D(2026, 5, 9),
        D(2026, 9, 20),
        D(2026, 10, 10),
    ],
}


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    result: dict[str, Any] = json.loads(CN_OFFICIAL_PATH.read_text(encoding="utf-8"))
    return result


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return cn_calendar()


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def test_header_and_years(raw: dict[str, Any]) -> None:
    assert raw["calendar"] == "CN"
    assert raw["time_zone"] == "Asia/Shanghai"
    assert raw["generated_by"] == "scripts/generate_cn_calendar.py"
    assert "holidays" in raw["source"]
    assert "chinesecalendar" in raw["source"]
    assert list(raw["years"]) == [str(y) for y in range(2004, 2027)]
    assert raw["notes"]
    assert any("2005-12-31" in note for note in raw["notes"])
    for year, data in raw["years"].items():
        assert year in data["source"]
        assert "State Council" in data["source"]


def test_entries_are_sorted_unique_and_consistent(raw: dict[str, Any]) -> None:
    all_dates: list[str] = []
    for year, data in raw["years"].items():
        dates = [item["date"] for item in data["days"]]
        assert dates == sorted(dates)
        all_dates.extend(dates)
        for item in data["days"]:
            day = D.fromisoformat(item["date"])
            assert day.year == int(year)
            assert set(item) <= {"date", "working", "kind", "name", "weekend"}
            assert item["name"]
            weekend = day.weekday() >= 5
            if item["kind"] == "makeup_workday":
                # A make-up day is by definition a weekend day that is worked.
                assert weekend, item
                assert item["working"] is True, item
                assert item["name"].startswith("Make-up working day ("), item
                assert "weekend" not in item, item
            else:
                assert item["kind"] == "holiday", item
                assert item["working"] is False, item
                assert item.get("weekend", False) is weekend, item
    assert len(all_dates) == len(set(all_dates))


def test_loader_matches_file(raw: dict[str, Any]) -> None:
    data = load_official_cn()
    assert data.calendar == "CN"
    assert data.years == frozenset(range(2004, 2027))
    assert len(data.days) == sum(len(y["days"]) for y in raw["years"].values())
    assert data.sources[2025] == raw["years"]["2025"]["source"]
    assert all(isinstance(d, CalendarDay) for d in data.days)


def test_loader_rejects_inconsistent_weekend_flag(tmp_path: Any, raw: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(raw))
    broken["years"]["2025"]["days"][0]["weekend"] = True  # 2025-01-01 is a Wednesday
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken), encoding="utf-8")
    with pytest.raises(ValueError, match="weekend"):
        load_official_cn(path)


@pytest.mark.parametrize("year", sorted(MAKEUP_WORKDAYS))
def test_makeup_workdays_are_exactly_the_published_ones(
    cal: WorkingCalendar, raw: dict[str, Any], year: int
) -> None:
    for day in MAKEUP_WORKDAYS[year]:
        assert day.weekday() >= 5
        assert cal.is_working_day(day), day
        assert cal.describe(day).kind is DayKind.MAKEUP_WORKDAY
    listed = [
        D.fromisoformat(item["date"])
        for item in raw["years"][str(year)]["days"]
        if item["kind"] == "makeup_workday"
    ]
    assert listed == MAKEUP_WORKDAYS[year]


@pytest.mark.parametrize(("year", "statutory_days"), [(2024, 11), (2025, 13), (2026, 13)])
def test_weekday_rest_days_balance_makeups(
    cal: WorkingCalendar, year: int, statutory_days: int
) -> None:
    # A statutory holiday falling on a weekend is given back on a weekday, and every bridging
    # weekday off is paid for by a worked weekend day; what is left is the statutory holiday
    # count (11 days; 13 from 2025 under the 2024 revision of the national holiday rules).
    days = _days(D(year, 1, 1), D(year, 12, 31))
    weekday_rest = sum(1 for d in days if d.weekday() < 5 and not cal.is_working_day(d))
    weekend_work = sum(1 for d in days if d.weekday() >= 5 and cal.is_working_day(d))
    assert weekday_rest - weekend_work == statutory_days


def test_2005_12_31_was_a_working_day(cal: WorkingCalendar) -> None:
    # chinesecalendar gets this one wrong; the generator resolved it in favour of `holidays`.
    day = cal.describe(D(2005, 12, 31))
    assert day.working
    assert day.kind is DayKind.MAKEUP_WORKDAY
    assert day.name == "Make-up working day (New Year's Day)"
    assert not cal.is_working_day(D(2006, 1, 3))


# Oct 1-7 was off every year except 2008 (Sep 29 - Oct 5 off; Mon Oct 6 and Tue Oct 7 worked)
# and 2023 (Sep 29 - Oct 6 off, with Mid-autumn; Sat Oct 7 and Sun Oct 8 worked).
NATIONAL_DAY_EXCEPTIONS = {2008: [D(2008, 10, 6), D(2008, 10, 7)], 2023: [D(2023, 10, 7)]}


@pytest.mark.parametrize("year", range(2004, 2027))
def test_national_day_week_is_off(cal: WorkingCalendar, year: int) -> None:
    worked = NATIONAL_DAY_EXCEPTIONS.get(year, [])
    for day in _days(D(year, 10, 1), D(year, 10, 7)):
        assert cal.is_working_day(day) == (day in worked), day


def test_2025_national_day_and_2026_spring_festival(cal: WorkingCalendar) -> None:
    assert [cal.is_working_day(D(2025, 10, d)) for d in range(1, 12)] == [
        *([False] * 8),
        True,  # Thu Oct 9
        True,  # Fri Oct 10
        True,  # Sat Oct 11, make-up day
    ]
    assert cal.is_working_day(D(2025, 9, 28))
    assert all(not cal.is_working_day(d) for d in _days(D(2026, 2, 15), D(2026, 2, 23)))
    assert cal.describe(D(2026, 2, 17)).name == "Spring Festival"
    weekend_label = cal.describe(D(2025, 10, 4))
    assert (weekend_label.kind, weekend_label.name) == (DayKind.HOLIDAY, "National Day")
    plain = cal.describe(D(2025, 10, 15))
    assert plain == CalendarDay(D(2025, 10, 15), True, None, None)
    assert cal.describe(D(2025, 10, 19)) == CalendarDay(D(2025, 10, 19), False, None, None)


@pytest.mark.parametrize(
    ("start", "rule", "amount", "due"),
    [
        (D(2025, 9, 30), "working", 5, D(2025, 10, 14)),
        (D(2026, 9, 30), "working", 10, D(2026, 10, 20)),
        (D(2026, 2, 12), "working", 5, D(2026, 2, 26)),
        (D(2026, 9, 22), "calendar", 15, D(2026, 10, 8)),
        # More around the long holidays, checked by hand against the notices.
        (D(2025, 1, 24), "working", 1, D(2025, 1, 26)),  # Sun make-up day
        (D(2025, 1, 26), "working", 1, D(2025, 1, 27)),
        (D(2025, 1, 27), "working", 1, D(2025, 2, 5)),  # Jan 28 - Feb 4 off
        (D(2024, 9, 27), "working", 1, D(2024, 9, 29)),  # Sun make-up day
        (D(2024, 9, 30), "working", 1, D(2024, 10, 8)),
        (D(2025, 9, 30), "calendar", 1, D(2025, 10, 9)),
        (D(2026, 9, 30), "calendar", 10, D(2026, 10, 10)),  # Sat make-up day, no roll
        (D(2026, 1, 1), "working", 1, D(2026, 1, 4)),  # Sun make-up day
        (D(2005, 12, 30), "working", 1, D(2005, 12, 31)),
    ],
)
def test_worked_examples(
    cal: WorkingCalendar, start: dt.date, rule: str, amount: int, due: dt.date
) -> None:
    if rule == "working":
        assert cal.add_working_days(start, amount) == due
        assert cal.count_working_days(start + dt.timedelta(days=1), due) == amount
    else:
        assert cal.add_calendar_days(start, amount) == due
    assert not cal.is_provisional(start + dt.timedelta(days=1), due)


def test_calendar_days_without_roll_forward(cal: WorkingCalendar) -> None:
    assert cal.add_calendar_days(D(2026, 9, 22), 15, roll_forward=False) == D(2026, 10, 7)
