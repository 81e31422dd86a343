"""Calendar rules: building a calendar from its rows (cached per version), counting on it, and
loading or correcting a year.

Loading a year changes due dates: the caller passes the handler that recomputes the clocks (the
clocks feature depends on the calendar, not the other way round), and it runs in the same
transaction, so the new days and the moved deadlines commit together or not at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.calendar import repository
from app.calendar.arithmetic import CalendarDay, DayKind, WorkingCalendar
from app.calendar.models import Calendar, CalendarDayRow, CalendarYear
from app.calendar.repository import CalendarStamp
from app.calendar.schemas import MAX_AMOUNT, MAX_DAYS_RANGE, DayUnit, YearLoad
from app.calendar.view import ONE_DAY, CalendarView
from app.calendar.year_rules import check_year_load
from app.core.errors import InvalidInput, NotFound, StaleVersion
from app.db.batch import Guard

__all__ = [
    "CalendarChange",
    "CalendarChangeHandler",
    "DueDate",
    "YearDetail",
    "count_working_days",
    "due_date",
    "get_calendar",
    "get_view",
    "get_year",
    "list_days",
    "load_year",
]


@dataclass(frozen=True, slots=True)
class CalendarChange:
    """A year of a calendar was loaded or corrected: every calendar whose effective days changed
    (the calendar and those inheriting from it), with its new version."""

    year: int
    versions: Mapping[str, int]


class CalendarChangeHandler(Protocol):
    async def __call__(
        self, session: AsyncSession, change: CalendarChange, *, now: dt.datetime, actor: str
    ) -> int:
        """Bring what depends on the calendar up to date; return how many things changed."""
        ...


@dataclass(frozen=True, slots=True)
class DueDate:
    start: dt.date
    amount: int
    unit: DayUnit
    roll_forward: bool
    due_date: dt.date
    due_at: dt.datetime
    provisional: bool
    calendar_version: int


@dataclass(frozen=True, slots=True)
class YearDetail:
    year: CalendarYear
    days: list[CalendarDayRow]


# One built calendar per code, tagged with the stamp it was built from. Building takes a few
# milliseconds; checking the stamp is one primary-key read, so another process's year load is
# seen by the next use here.
_views: dict[str, tuple[CalendarStamp, CalendarView]] = {}


async def get_view(session: AsyncSession, code: str, *, lock: bool = False) -> CalendarView:
    """The calendar ``code`` ready for arithmetic, rebuilt only when its stamp changed.

    ``lock=True`` (for writes that store a computed due date) holds a FOR SHARE lock on the
    calendar row for the rest of the transaction, so a concurrent year load cannot commit in
    between and miss the clock this transaction is writing.
    """
    memo = _transaction_memo(session)
    remembered = memo.get(code)
    if remembered is not None and (remembered[0] or not lock):
        return remembered[1]
    view = await _fresh_view(session, code, lock=lock)
    memo[code] = (lock, view)
    return view


async def remembered_view(session: AsyncSession, code: str) -> CalendarView:
    """The calendar as this process last built it, without reading its row again — for writes
    that carry :func:`version_guard` with them (``app.db.batch``), which then refuse to apply
    if a year load has changed the calendar since. Read (unlocked) only on first use."""
    cached = _views.get(code)
    if cached is not None:
        return cached[1]
    return await get_view(session, code)


def version_guard(view: CalendarView) -> Guard:
    """ "The calendar is still the one ``view`` was built from", held FOR SHARE until commit
    (the same lock ``get_view(lock=True)`` takes, so a year load waits for the write)."""
    stamp = _views.get(view.code)
    xmin = stamp[0].xmin if stamp is not None and stamp[1] is view else ""
    return Guard(
        "calendars",
        "code = :code AND version = :version AND xmin::text = :xmin",
        (("code", view.code), ("version", view.version), ("xmin", xmin)),
    )


def forget_views() -> None:
    """Drop the remembered calendars (a guarded write found one stale)."""
    _views.clear()


def _transaction_memo(session: AsyncSession) -> dict[str, tuple[bool, CalendarView]]:
    """Views already read in this transaction: a second clock in the same request needs neither
    the read nor the lock again (a FOR SHARE lock lasts until the transaction ends)."""
    # The innermost transaction: a savepoint rolled back takes its memo with it.
    sync = session.sync_session
    key = id(sync.get_nested_transaction() or sync.get_transaction())
    held = session.info.get("calendar_views")
    if held is None or held[0] != key:
        held = (key, {})
        session.info["calendar_views"] = held
    memo: dict[str, tuple[bool, CalendarView]] = held[1]
    return memo


async def _fresh_view(session: AsyncSession, code: str, *, lock: bool) -> CalendarView:
    stamp = await repository.calendar_stamp(session, code, share_lock=lock)
    if stamp is None:
        raise NotFound(f"Calendar {code} does not exist.")
    cached = _views.get(code)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    view = await _build_view(session, stamp)
    _views[code] = (stamp, view)
    return view


async def _build_view(session: AsyncSession, stamp: CalendarStamp) -> CalendarView:
    chain = await repository.ancestor_codes(session, stamp.code)
    # A regional calendar counts on its root's published years, with its own days on top.
    official_years = await repository.loaded_years(session, chain[-1])
    rank = {code: depth for depth, code in enumerate(chain)}
    rows = sorted(await repository.days_of(session, chain), key=lambda r: -rank[r.calendar_code])
    exceptions = {
        row.date: CalendarDay(row.date, row.working, DayKind(row.kind), row.name) for row in rows
    }
    return CalendarView(
        code=stamp.code,
        version=stamp.version,
        time_zone=ZoneInfo(stamp.time_zone),
        days=WorkingCalendar(exceptions, official_years),
    )


async def get_calendar(session: AsyncSession, code: str) -> tuple[Calendar, list[int]]:
    calendar = await repository.get_calendar(session, code)
    if calendar is None:
        raise NotFound(f"Calendar {code} does not exist.")
    return calendar, await repository.loaded_years(session, code)


async def due_date(
    session: AsyncSession,
    code: str,
    *,
    start: dt.date,
    amount: int,
    unit: DayUnit,
    roll_forward: bool,
) -> DueDate:
    """The due date ``amount`` working or calendar days after ``start`` (not counted)."""
    if not 0 <= amount <= MAX_AMOUNT:
        raise InvalidInput(f"amount must be between 0 and {MAX_AMOUNT}.", field="amount")
    view = await get_view(session, code)
    try:
        if unit is DayUnit.WORKING_DAYS:
            due = view.days.add_working_days(start, amount)
        else:
            due = view.days.add_calendar_days(start, amount, roll_forward=roll_forward)
        provisional = view.is_provisional(start, due)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="start") from exc
    return DueDate(
        start=start,
        amount=amount,
        unit=unit,
        roll_forward=roll_forward,
        due_date=due,
        due_at=view.end_of_day(due),
        provisional=provisional,
        calendar_version=view.version,
    )


def _check_range(first: dt.date, last: dt.date, *, cap: int | None) -> None:
    if last < first:
        raise InvalidInput("'to' must not be before 'from'.", field="to")
    if cap is not None and (last - first).days + 1 > cap:
        raise InvalidInput(f"A range may cover at most {cap} days.", field="to")


async def list_days(
    session: AsyncSession, code: str, first: dt.date, last: dt.date
) -> tuple[CalendarView, list[CalendarDay]]:
    """Every date from ``first`` to ``last`` (at most a year) with its status and label."""
    _check_range(first, last, cap=MAX_DAYS_RANGE)
    view = await get_view(session, code)
    try:
        days = [view.days.describe(first + ONE_DAY * i) for i in range((last - first).days + 1)]
    except ValueError as exc:
        raise InvalidInput(str(exc), field="from") from exc
    return view, days


async def count_working_days(
    session: AsyncSession, code: str, first: dt.date, last: dt.date
) -> tuple[CalendarView, int, bool]:
    """Working days from ``first`` to ``last``, both included, and whether that is provisional."""
    _check_range(first, last, cap=None)
    view = await get_view(session, code)
    try:
        count = view.days.count_working_days(first, last)
        provisional = view.days.is_provisional(first, last)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="from") from exc
    return view, count, provisional


async def get_year(session: AsyncSession, code: str, year: int) -> YearDetail:
    await get_calendar(session, code)
    loaded = await repository.get_year(session, code, year)
    if loaded is None:
        raise NotFound(f"Year {year} of calendar {code} is not loaded.")
    return YearDetail(loaded, await repository.days_in_year(session, code, year))


async def load_year(
    session: AsyncSession,
    code: str,
    year: int,
    data: YearLoad,
    *,
    now: dt.datetime,
    actor: str,
    expected_version: int | None,
    on_change: CalendarChangeHandler,
) -> tuple[YearDetail, int, int]:
    """Load or correct ``year`` of calendar ``code`` and recompute what depends on it.

    ``expected_version`` (from If-Match) guards a correction against a concurrent one; ``None``
    loads unconditionally. Returns the stored year, the calendar's new version and the number
    of clocks whose due date moved.
    """
    check_year_load(year, data)
    calendar = await repository.get_calendar(session, code)
    if calendar is None:
        raise NotFound(f"Calendar {code} does not exist.")
    if calendar.parent_code is not None:
        await _check_root_has_year(session, code, year)
    versions = await repository.bump_versions(session, code)
    memo = _transaction_memo(session)
    for changed in versions:  # this calendar and the regional ones that inherit it
        memo.pop(changed, None)
    current = await repository.get_year(session, code, year, for_update=True)
    if expected_version is not None and (current is None or current.version != expected_version):
        shown = f'"v{current.version}"' if current is not None else None
        raise StaleVersion(f"Year {year} of {code} changed since you read it.", current_etag=shown)
    await repository.replace_year_days(session, code, year, _rows(data))
    stored = await repository.upsert_year(
        session, code, year, source=data.source, loaded_at=now, loaded_by=actor
    )
    change = CalendarChange(year=year, versions=versions)
    moved = await on_change(session, change, now=now, actor=actor)
    detail = YearDetail(stored, await repository.days_in_year(session, code, year))
    return detail, versions[code], moved


async def _check_root_has_year(session: AsyncSession, code: str, year: int) -> None:
    root = (await repository.ancestor_codes(session, code))[-1]
    if year not in await repository.loaded_years(session, root):
        raise InvalidInput(
            f"Load {year} of the national calendar {root} before regional days of {code}.",
            field="year",
        )


def _rows(data: YearLoad) -> list[dict[str, object]]:
    off = [
        {"date": d.date, "working": False, "kind": DayKind.HOLIDAY.value, "name": d.name}
        for d in data.days_off
    ]
    on = [
        {"date": d.date, "working": True, "kind": DayKind.MAKEUP_WORKDAY.value, "name": d.name}
        for d in data.makeup_workdays
    ]
    return off + on
