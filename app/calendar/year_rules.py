"""What a loadable year must look like. Pure: each refusal names the offending date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from app.calendar.arithmetic import SPAN_END, SPAN_START, is_weekend
from app.calendar.schemas import NamedDate, YearLoad
from app.core.errors import InvalidInput


class InvalidCalendarDate(InvalidInput):
    code = "invalid_calendar_date"
    title = "A date of the calendar year is not valid."

    def __init__(self, day: dt.date, detail: str, field: str) -> None:
        super().__init__(f"{day.isoformat()}: {detail}", date=day.isoformat(), field=field)


def check_year_load(year: int, data: YearLoad) -> None:
    """Raise :class:`InvalidInput` for the first rule the schedule breaks."""
    if not SPAN_START.year <= year <= SPAN_END.year:
        raise InvalidInput(
            f"year must be between {SPAN_START.year} and {SPAN_END.year}.", field="year"
        )
    _check_dates(year, data.days_off, "days_off")
    _check_dates(year, data.makeup_workdays, "makeup_workdays")
    off = {d.date for d in data.days_off}
    for item in data.makeup_workdays:
        if item.date in off:
            raise InvalidCalendarDate(
                item.date,
                "listed both as a day off and as a make-up working day.",
                "makeup_workdays",
            )
        if not is_weekend(item.date):
            raise InvalidCalendarDate(
                item.date,
                "a make-up working day must be a Saturday or Sunday (weekdays already work).",
                "makeup_workdays",
            )
    _check_holidays_are_not_noise(data.days_off)


def _check_dates(year: int, items: Iterable[NamedDate], field: str) -> None:
    seen: set[dt.date] = set()
    for item in items:
        if item.date.year != year:
            raise InvalidCalendarDate(item.date, f"not in {year}.", field)
        if item.date in seen:
            raise InvalidCalendarDate(item.date, "listed twice.", field)
        seen.add(item.date)


def _check_holidays_are_not_noise(days_off: list[NamedDate]) -> None:
    """A real schedule always takes some weekday off; weekends alone change nothing and are most
    likely a paste error (e.g. the wrong column of the notice)."""
    if not days_off:
        raise InvalidInput("days_off must list the year's holidays.", field="days_off")
    if all(is_weekend(item.date) for item in days_off):
        first = min(item.date for item in days_off)
        raise InvalidCalendarDate(
            first,
            "every day off listed is a Saturday or Sunday; a holiday list must contain at least"
            " one weekday.",
            "days_off",
        )
