"""Keeping clocks true to the calendar: a loaded or corrected year moves the due dates that
count through it, in the loading transaction."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from app.calendar import service as calendar_service
from app.calendar.service import CalendarChange
from app.clocks import ledger, repository
from app.clocks.models import ClockEvent
from app.clocks.states import EventKind


async def recompute_for_calendar_change(
    session: AsyncSession, change: CalendarChange, *, now: dt.datetime, actor: str
) -> int:
    """Recompute every open clock counting through the changed year, on the changed calendars.

    A clock whose due date moved gets a ``recomputed`` event (old and new due, calendar
    version); one whose due stayed only has its ``provisional`` flag and warning time brought
    up to date. Returns how many due dates moved.
    """
    first, last = dt.date(change.year, 1, 1), dt.date(change.year, 12, 31)
    clocks = await repository.lock_open_clocks_touching(session, change.versions, first, last)
    if not clocks:
        return 0
    rules = await repository.definitions_for(
        session, {(c.rule_set_version, c.name) for c in clocks}
    )
    views = {code: await calendar_service.get_view(session, code) for code in change.versions}
    events: list[ClockEvent] = []
    for clock in clocks:
        view, old_due_at = views[clock.calendar_code], clock.due_at
        before = (clock.due_at, clock.provisional, clock.warn_at, clock.warned_at)
        lead = rules[(clock.rule_set_version, clock.name)].warning_lead_working_days
        if ledger.refresh_due(clock, view, lead, now):
            data = {"year": change.year, "provisional": clock.provisional}
            events.append(
                ledger.new_event(
                    clock,
                    EventKind.RECOMPUTED,
                    now=now,
                    actor=actor,
                    old_due_at=old_due_at,
                    calendar_version=view.version,
                    data=data,
                )
            )
        if before != (clock.due_at, clock.provisional, clock.warn_at, clock.warned_at):
            clock.version += 1
            clock.updated_at = now
    await repository.add_events(session, events)
    return len(events)
