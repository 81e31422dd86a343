"""Report periods and dimensions. Pure: no database, no clock."""

from __future__ import annotations

import datetime as dt
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


def rate(part: int, whole: int) -> float | None:
    """``part / whole`` rounded to four places, or ``None`` when there is nothing to divide."""
    return round(part / whole, 4) if whole else None
