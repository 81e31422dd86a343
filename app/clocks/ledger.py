"""Applying the due-date maths to a clock row, and building its ledger entries."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.calendar.view import CalendarView
from app.clocks.due import Terms, compute_due, warn_at
from app.clocks.models import Clock, ClockEvent
from app.clocks.states import EventKind, Unit
from app.core.errors import InvalidInput
from app.db.batch import new_row


def terms_of(clock: Clock) -> Terms:
    return Terms(
        unit=Unit(clock.unit),
        amount=clock.amount,
        roll_forward=clock.roll_forward,
        started_at=clock.started_at,
        start_date=clock.start_date,
        paused_units=clock.paused_units,
    )


def refresh_due(clock: Clock, view: CalendarView, lead: int, now: dt.datetime) -> bool:
    """Recompute due date, instant, provisional flag and warning from the clock's terms.

    Returns True if the due instant moved. A warning already given is re-armed when the
    deadline moved later and the new warning time is still ahead; a breach is never touched.
    """
    try:
        due = compute_due(view, terms_of(clock))
        warning = warn_at(view, Unit(clock.unit), due.due_date, lead)
    except ValueError as exc:
        raise InvalidInput(f"The deadline cannot be computed: {exc}") from exc
    moved = clock.due_at is None or due.due_at != clock.due_at
    later = clock.due_at is not None and due.due_at > clock.due_at
    if later and clock.warned_at is not None and warning is not None and warning > now:
        clock.warned_at = None
    clock.due_date, clock.due_at, clock.provisional = due.due_date, due.due_at, due.provisional
    clock.warn_at = warning
    return moved


def new_event(
    clock: Clock,
    kind: EventKind,
    *,
    now: dt.datetime,
    actor: str,
    reason: str | None = None,
    old_due_at: dt.datetime | None = None,
    calendar_version: int | None = None,
    data: dict[str, Any] | None = None,
) -> ClockEvent:
    return new_row(
        ClockEvent,
        clock_id=clock.id,
        kind=kind.value,
        at=now,
        actor=actor,
        reason=reason,
        old_due_at=old_due_at,
        new_due_at=clock.due_at,
        calendar_version=calendar_version,
        data=data or {},
    )
