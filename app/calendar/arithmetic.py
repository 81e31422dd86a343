"""Working-day arithmetic over an official calendar (Civil Code arts. 200-204).

Pure and deterministic: no clock, no database, no I/O. A :class:`WorkingCalendar` is the weekend
rule (Saturday and Sunday rest, Monday to Friday working) overridden by explicit per-date
exceptions taken from the published State Council schedule (days off, weekend make-up working
days). Years without published data follow the weekend rule, and any result that depends on such
a year is *provisional* (see :meth:`WorkingCalendar.is_provisional`).

Counting rules: the start day is never counted. ``N`` working days from ``start`` is the N-th
working day strictly after ``start``; ``N`` calendar days is ``start + N``, rolled forward to the
next working day if that is a rest day.

Every query is a binary search over a precomputed array of working-day ordinals, so the cost of
a call does not depend on how far the deadline reaches.
"""

from __future__ import annotations

import datetime as dt
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from types import MappingProxyType

__all__ = [
    "SPAN_END",
    "SPAN_START",
    "CalendarDay",
    "DayKind",
    "WorkingCalendar",
    "is_weekend",
]

SPAN_START = dt.date(1990, 1, 1)
"""First date the calendar can answer for."""
SPAN_END = dt.date(2200, 12, 31)
"""Last date the calendar can answer for; far beyond any deadline the service computes."""

_SPAN_START_ORD = SPAN_START.toordinal()
_SPAN_END_ORD = SPAN_END.toordinal()


class DayKind(StrEnum):
    """Why a date departs from (or is labelled beyond) the plain weekend rule."""

    HOLIDAY = "holiday"
    MAKEUP_WORKDAY = "makeup_workday"


@dataclass(frozen=True, slots=True)
class CalendarDay:
    """One date's status: working or rest, and why (``kind``/``name`` are None for plain days)."""

    date: dt.date
    working: bool
    kind: DayKind | None
    name: str | None


def is_weekend(day: dt.date) -> bool:
    """True for Saturday and Sunday."""
    return day.weekday() >= 5


def _ordinal_is_weekday(ordinal: int) -> bool:
    # date.fromordinal(1) is a Monday, so (ordinal - 1) % 7 is the weekday (Monday == 0).
    return (ordinal - 1) % 7 < 5


class WorkingCalendar:
    """An immutable working-day calendar: explicit per-date exceptions over the weekend rule.

    ``exceptions`` holds the dates whose status or label differs from a plain day: rest weekdays
    (holidays), working weekend days (make-up days) and, for labelling only, weekend days inside
    a holiday period. ``official_years`` are the years whose schedule is published and loaded;
    exceptions may only fall in those years. Every date argument and result must lie within
    :data:`SPAN_START` .. :data:`SPAN_END`, otherwise :class:`ValueError` is raised.
    """

    __slots__ = ("_exceptions", "_non_official_years", "_official_years", "_working")

    _exceptions: Mapping[dt.date, CalendarDay]
    _official_years: frozenset[int]
    _non_official_years: tuple[int, ...]
    _working: array[int]

    def __init__(
        self,
        exceptions: Mapping[dt.date, CalendarDay] | Iterable[CalendarDay],
        official_years: Iterable[int],
    ) -> None:
        """Build the calendar; raises ValueError on inconsistent or out-of-span input."""
        years = frozenset(official_years)
        by_date: dict[dt.date, CalendarDay] = {}
        if isinstance(exceptions, Mapping):
            for key, day in exceptions.items():
                if key != day.date:
                    raise ValueError(f"exception keyed {key} describes {day.date}")
                by_date[key] = day
        else:
            for day in exceptions:
                if day.date in by_date:
                    raise ValueError(f"duplicate calendar exception for {day.date}")
                by_date[day.date] = day
        for day in by_date.values():
            _check_exception(day, years)

        working = _apply_exceptions(by_date)

        object.__setattr__(self, "_exceptions", MappingProxyType(dict(sorted(by_date.items()))))
        object.__setattr__(self, "_official_years", years)
        object.__setattr__(
            self,
            "_non_official_years",
            tuple(y for y in range(SPAN_START.year, SPAN_END.year + 1) if y not in years),
        )
        object.__setattr__(self, "_working", working)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __repr__(self) -> str:
        years = sorted(self._official_years)
        span = f"{years[0]}..{years[-1]}" if years else "none"
        return (
            f"<WorkingCalendar official_years={span} ({len(years)}) "
            f"exceptions={len(self._exceptions)}>"
        )

    @property
    def official_years(self) -> frozenset[int]:
        """Years whose official schedule is loaded; other years follow the weekend rule."""
        return self._official_years

    @property
    def exceptions(self) -> Mapping[dt.date, CalendarDay]:
        """The explicit per-date entries, read-only, in date order."""
        return self._exceptions

    def is_working_day(self, day: dt.date) -> bool:
        """True if ``day`` is a working day (including weekend make-up days)."""
        _check_in_span(day)
        entry = self._exceptions.get(day)
        return entry.working if entry is not None else not is_weekend(day)

    def describe(self, day: dt.date) -> CalendarDay:
        """The status of ``day``, with its kind and name; plain days have kind and name None."""
        _check_in_span(day)
        entry = self._exceptions.get(day)
        if entry is not None:
            return entry
        return CalendarDay(date=day, working=not is_weekend(day), kind=None, name=None)

    def add_working_days(self, start: dt.date, amount: int) -> dt.date:
        """The ``amount``-th working day after ``start`` (``start`` itself is not counted).

        ``amount`` must be >= 0; 0 returns ``start`` unchanged (whatever its status).
        """
        if amount < 0:
            raise ValueError(f"amount must be >= 0, got {amount}")
        start_ord = _ordinal(start)
        if amount == 0:
            return start
        # Working days strictly after start begin at index bisect_right(start).
        index = bisect_right(self._working, start_ord) + amount - 1
        return self._day_at(index, start, amount)

    def subtract_working_days(self, day: dt.date, amount: int) -> dt.date:
        """The ``amount``-th working day before ``day`` (``day`` itself is not counted).

        The inverse walk of :meth:`add_working_days`, used for warnings ("N working days before
        the due date"). ``amount`` must be >= 0; 0 returns ``day`` unchanged.
        """
        if amount < 0:
            raise ValueError(f"amount must be >= 0, got {amount}")
        day_ord = _ordinal(day)
        if amount == 0:
            return day
        # Working days strictly before ``day`` end at index bisect_left(day) - 1.
        index = bisect_left(self._working, day_ord) - amount
        if index < 0:
            raise ValueError(f"{day} - {amount} working day(s) is before {SPAN_START}")
        return dt.date.fromordinal(self._working[index])

    def add_calendar_days(
        self, start: dt.date, amount: int, *, roll_forward: bool = True
    ) -> dt.date:
        """``start + amount`` days; with ``roll_forward``, a rest day moves to the next working day.

        ``amount`` must be >= 0.
        """
        if amount < 0:
            raise ValueError(f"amount must be >= 0, got {amount}")
        target = _ordinal(start) + amount
        if target > _SPAN_END_ORD:
            raise ValueError(f"{start} + {amount} days is beyond the calendar span ({SPAN_END})")
        if not roll_forward:
            return dt.date.fromordinal(target)
        index = bisect_left(self._working, target)
        return self._day_at(index, start, amount)

    def count_working_days(self, first: dt.date, last: dt.date) -> int:
        """The number of working days ``d`` with ``first <= d <= last`` (0 if ``last < first``)."""
        first_ord, last_ord = _ordinal(first), _ordinal(last)
        if last_ord < first_ord:
            return 0
        return bisect_right(self._working, last_ord) - bisect_left(self._working, first_ord)

    def next_working_day(self, day: dt.date) -> dt.date:
        """The first working day strictly after ``day``."""
        return self._day_at(bisect_right(self._working, _ordinal(day)), day, 1)

    def working_day_on_or_after(self, day: dt.date) -> dt.date:
        """``day`` if it is a working day, else the next working day."""
        return self._day_at(bisect_left(self._working, _ordinal(day)), day, 0)

    def is_provisional(self, first: dt.date, last: dt.date) -> bool:
        """True if any year in ``first.year .. last.year`` has no official data.

        A due date computed from ``start`` depends on the days ``start + 1 .. due``; callers ask
        ``is_provisional(start + 1 day, due)``. An empty range (``last < first``) is not
        provisional.
        """
        _check_in_span(first)
        _check_in_span(last)
        if last < first:
            return False
        i = bisect_left(self._non_official_years, first.year)
        return i < len(self._non_official_years) and self._non_official_years[i] <= last.year

    def _day_at(self, index: int, start: dt.date, amount: int) -> dt.date:
        if index >= len(self._working):
            raise ValueError(
                f"{start} + {amount} day(s) is beyond the calendar span ({SPAN_START}..{SPAN_END})"
            )
        return dt.date.fromordinal(self._working[index])


@cache
def _weekday_ordinals() -> array[int]:
    """Ordinals of every Monday-Friday in the span: the calendar before any exception."""
    return array(
        "i", (o for o in range(_SPAN_START_ORD, _SPAN_END_ORD + 1) if _ordinal_is_weekday(o))
    )


def _apply_exceptions(days: Mapping[dt.date, CalendarDay]) -> array[int]:
    """The sorted ordinals of all working days: the weekday array with the exceptions applied.

    Copies runs of the shared weekday array between exceptions (slices are C-level copies), so
    building a calendar costs one pass of memcpy plus a binary search per exception rather than
    a Python-level pass over every day of the span.
    """
    base = _weekday_ordinals()
    result: array[int] = array("i")
    pos = 0
    for day in sorted(days):
        ordinal = day.toordinal()
        working = days[day].working
        if working == _ordinal_is_weekday(ordinal):
            continue  # a label only (e.g. a weekend day inside a holiday period)
        index = bisect_left(base, ordinal, pos)
        result.extend(base[pos:index])
        if working:
            result.append(ordinal)  # a weekend make-up day joins the working days
            pos = index
        else:
            pos = index + 1  # a weekday off leaves them; base[index] == ordinal
    result.extend(base[pos:])
    return result


def _ordinal(day: dt.date) -> int:
    # A datetime is a date subclass: it would silently miss the date-keyed exceptions, and which
    # local date an instant falls on is the caller's decision (Asia/Shanghai), not ours.
    if isinstance(day, dt.datetime):
        raise TypeError(f"expected a datetime.date, got a datetime ({day!r})")
    ordinal = day.toordinal()
    if not _SPAN_START_ORD <= ordinal <= _SPAN_END_ORD:
        raise ValueError(f"{day} is outside the calendar span ({SPAN_START}..{SPAN_END})")
    return ordinal


def _check_in_span(day: dt.date) -> None:
    _ordinal(day)


def _check_exception(day: CalendarDay, official_years: frozenset[int]) -> None:
    _check_in_span(day.date)
    if day.date.year not in official_years:
        raise ValueError(f"exception {day.date} lies in {day.date.year}, not an official year")
    if day.kind is DayKind.HOLIDAY and day.working:
        raise ValueError(f"{day.date}: a holiday cannot be a working day")
    if day.kind is DayKind.MAKEUP_WORKDAY and not day.working:
        raise ValueError(f"{day.date}: a make-up working day must be a working day")
    if day.kind is None and day.name is not None:
        raise ValueError(f"{day.date}: a named exception needs a kind")
