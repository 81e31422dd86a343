"""Report periods and dimensions. Pure: no database, no clock."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from app.core.clock import BUSINESS_TZ
from app.core.errors import InvalidInput

MAX_REPORT_DAYS = 1_100
"""About three years: a wider range is refused rather than left to run into a timeout."""


class Period(StrEnum):
    """The bucket size of a time series (``date_trunc`` units; weeks start on Monday)."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"


class GroupBy(StrEnum):
    BRANCH = "branch"
    TEAM = "team"
    PRODUCT_LINE = "product_line"
    CAUSE = "cause"
    CHANNEL = "channel"


class StatisticsBy(StrEnum):
    """The dimensions of the complaint statistics (the regulator's cross-table)."""

    CAUSE = "cause"
    PRODUCT_LINE = "product_line"
    CHANNEL = "channel"
    BRANCH = "branch"


def check_range(first: dt.date, last: dt.date) -> None:
    if last < first:
        raise InvalidInput("'to' must not be before 'from'.", field="to")
    if (last - first).days + 1 > MAX_REPORT_DAYS:
        raise InvalidInput(f"A report may cover at most {MAX_REPORT_DAYS} days.", field="to")


def instants(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[00:00 of ``first``, 24:00 of ``last``) in business time, for a range of dates given
    with both ends included."""
    start = dt.datetime.combine(first, dt.time(0), tzinfo=BUSINESS_TZ)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tzinfo=BUSINESS_TZ)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def full_months(first: dt.date, last: dt.date) -> tuple[dt.date, dt.date] | None:
    """The whole months inside ``first .. last`` (both included): the first day of the first
    one and the first day after the last one; ``None`` if the range holds no whole month."""
    start = first if first.day == 1 else _next_month(first)
    after = last + dt.timedelta(days=1)
    end = after if after.day == 1 else after.replace(day=1)
    return (start, end) if start < end else None


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


DayRange = tuple[dt.date, dt.date]
"""First and last day, both included."""


@dataclass(frozen=True, slots=True)
class MonthCover:
    """How to count the tickets of a range of days from monthly counts and the tickets.

    ``months`` (first day of the first month, first day after the last) are read from the
    monthly counts; the tickets of the ``add`` days are counted on top, those of the
    ``subtract`` days (inside ``months``) taken off."""

    months: tuple[dt.date, dt.date] | None
    add: list[DayRange] = field(default_factory=list)
    subtract: list[DayRange] = field(default_factory=list)


def _days(ranges: list[DayRange]) -> int:
    return sum((last - first).days + 1 for first, last in ranges)


def month_cover(first: dt.date, last: dt.date) -> MonthCover:
    """The cheapest way to count ``first .. last`` (both included): whole months from the
    monthly counts; a month the range covers in part either by the days it covers, or as the
    whole month less its other days, whichever means reading the tickets of fewer days (so at
    most about half a month of tickets at each end)."""
    inner = full_months(first, last)
    month_starts: list[dt.date] = list(inner) if inner is not None else []
    add: list[DayRange] = []
    subtract: list[DayRange] = []
    partial = {first.replace(day=1), last.replace(day=1)} - set(_starts(inner))
    for start in sorted(partial):
        end = _next_month(start) - dt.timedelta(days=1)
        covered = (max(first, start), min(last, end))
        others = [
            (day_first, day_last)
            for day_first, day_last in ((start, covered[0] - dt.timedelta(days=1)),
                                        (covered[1] + dt.timedelta(days=1), end))
            if day_first <= day_last
        ]  # fmt: skip
        if _days(others) < _days([covered]):
            month_starts += [start, _next_month(start)]
            subtract += others
        else:
            add.append(covered)
    if not month_starts:
        return MonthCover(months=None, add=add)
    return MonthCover(months=(min(month_starts), max(month_starts)), add=add, subtract=subtract)


def _starts(months: tuple[dt.date, dt.date] | None) -> list[dt.date]:
    """The first day of every month in ``[first, end)``."""
    found: list[dt.date] = []
    if months is None:
        return found
    day, end = months
    while day < end:
        found.append(day)
        day = _next_month(day)
    return found


def rate(part: int, whole: int) -> float | None:
    """``part / whole`` rounded to four places, or ``None`` when there is nothing to divide."""
    return round(part / whole, 4) if whole else None
