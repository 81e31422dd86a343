"""A calendar as the service uses it: working days, the time zone its dates live in, its version.

Pure: built from database rows by the service, then used without I/O.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from zoneinfo import ZoneInfo

from app.calendar.arithmetic import WorkingCalendar

ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class CalendarView:
    code: str
    version: int
    time_zone: ZoneInfo
    days: WorkingCalendar
    # The run of consecutive official years ending at the latest one: a count inside it is
    # known not to be provisional without a search (most counts are).
    _settled: tuple[int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        years = self.days.official_years
        last = max(years, default=0)
        first = last
        while first - 1 in years:
            first -= 1
        object.__setattr__(self, "_settled", (first, last))

    def local_date(self, instant: dt.datetime) -> dt.date:
        """The date ``instant`` falls on in the calendar's time zone."""
        if instant.tzinfo is None:
            raise ValueError("instants must be timezone-aware")
        return instant.astimezone(self.time_zone).date()

    def end_of_day(self, day: dt.date) -> dt.datetime:
        """24:00 local on ``day`` (= 00:00 local the next day), as a UTC instant.

        A deadline "on" a date ends at midnight local time (Civil Code art. 203), so this is the
        instant after which a clock due on ``day`` is late.
        """
        return _end_of_day(day, self.time_zone)

    def is_provisional(self, start_date: dt.date, due_date: dt.date) -> bool:
        """True if the count from ``start_date`` (not counted) to ``due_date`` uses an unloaded
        year."""
        first, last = self._settled
        if first <= start_date.year and due_date.year <= last:
            return False
        return self.days.is_provisional(start_date + ONE_DAY, due_date)


# Zone conversion is most of the cost of a due-date computation, and deadlines fall on a few
# thousand distinct dates, so the conversion is memoised (it is a pure function of its inputs).
@lru_cache(maxsize=65_536)
def _end_of_day(day: dt.date, time_zone: ZoneInfo) -> dt.datetime:
    midnight = dt.datetime.combine(day + ONE_DAY, dt.time(0), tzinfo=time_zone)
    return midnight.astimezone(dt.UTC)
