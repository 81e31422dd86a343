"""Due-date maths for clocks. Pure: no database, no clock reads; ``now`` is always a parameter.

The due date is always recomputed from the clock's terms, never nudged: with ``paused_units``
the total paused span in the clock's own unit,

- working days:  due = add_working_days(start_date, amount + paused_units)
- calendar days: due = add_calendar_days(start_date, amount + paused_units, roll_forward)
- hours:         due_at = started_at + (amount + paused_units) hours, no calendar

and a day-unit deadline ends at 24:00 local time of the due date. So a recomputation (a year
loaded, an extension, a resume) can never drift from what a fresh computation would give.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import NamedTuple

from app.calendar.view import CalendarView
from app.clocks.states import Unit

HOUR = dt.timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Terms:
    """Everything a clock's due date depends on."""

    unit: Unit
    amount: int
    roll_forward: bool
    started_at: dt.datetime
    start_date: dt.date
    paused_units: int = 0


class Due(NamedTuple):
    # A named tuple, not a frozen dataclass: built once per computation, and this is 3x cheaper.
    due_date: dt.date
    due_at: dt.datetime
    provisional: bool


def compute_due(calendar: CalendarView, terms: Terms) -> Due:
    """The due date and instant of a clock with these terms, and whether it is provisional.

    Raises ValueError if the count runs outside the calendar's span.
    """
    units = terms.amount + terms.paused_units
    if terms.unit is Unit.HOURS:
        due_at = terms.started_at.astimezone(dt.UTC) + units * HOUR
        return Due(due_date=calendar.local_date(due_at), due_at=due_at, provisional=False)
    if terms.unit is Unit.WORKING_DAYS:
        due_date = calendar.days.add_working_days(terms.start_date, units)
    else:
        due_date = calendar.days.add_calendar_days(
            terms.start_date, units, roll_forward=terms.roll_forward
        )
    return Due(
        due_date=due_date,
        due_at=calendar.end_of_day(due_date),
        provisional=calendar.is_provisional(terms.start_date, due_date),
    )


def paused_span(
    calendar: CalendarView, unit: Unit, paused_at: dt.datetime, resumed_at: dt.datetime
) -> int:
    """The span from pause to resume in the clock's unit, as added to ``paused_units``.

    Working days: the working days after the pause day up to and including the resume day
    (paused across 3 working days gets 3 more). Calendar days: the local dates crossed. Hours:
    elapsed hours, rounded up (a started hour counts).
    """
    if resumed_at <= paused_at:
        return 0
    if unit is Unit.HOURS:
        return math.ceil((resumed_at - paused_at) / HOUR)
    first, last = calendar.local_date(paused_at), calendar.local_date(resumed_at)
    if unit is Unit.CALENDAR_DAYS:
        return (last - first).days
    return calendar.days.count_working_days(first + dt.timedelta(days=1), last)


def warn_at(calendar: CalendarView, unit: Unit, due_date: dt.date, lead: int) -> dt.datetime | None:
    """When to warn: 24:00 local of the day ``lead`` working days before the due date.

    So with ``lead = 1`` the warning fires as the last working day begins. ``lead = 0`` (or an
    hours clock, which has no working days) means no warning.
    """
    if lead <= 0 or unit is Unit.HOURS:
        return None
    return calendar.end_of_day(calendar.days.subtract_working_days(due_date, lead))


def outcome_is_late(*, now: dt.datetime, due_at: dt.datetime, breached: bool) -> bool:
    """A clock stopped after its due instant, or one already recorded as breached, is late."""
    return breached or now > due_at
