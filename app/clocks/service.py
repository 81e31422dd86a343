"""Clock operations: start, pause, resume, extend, restart, stop, cancel. Used by the ticket
features, inside their own transaction (recomputation after a calendar change: ``recompute``).

Each operation locks what it changes, checks the transition table (``states``), recomputes the
due date from the clock's terms (``due``) and appends exactly one clock event. Lock order is
always the calendar row (FOR SHARE) before the clock row (FOR UPDATE) — the order a year load
takes them in — so the two never deadlock, and a year load cannot commit between reading the
calendar and storing a due date computed from it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.calendar import service as calendar_service
from app.calendar.view import CalendarView
from app.clocks import ledger, repository
from app.clocks.due import outcome_is_late, paused_span
from app.clocks.models import Clock, ClockEvent
from app.clocks.states import (
    Action,
    EventKind,
    Outcome,
    SubjectKind,
    Unit,
    check_allowed,
    state_of,
)
from app.core.errors import CalendarBusy, InvalidInput, NotFound
from app.db.batch import WriteBatch, new_row

DEFAULT_CALENDAR = "CN"


@dataclass(frozen=True, slots=True)
class Subject:
    """What a clock runs on: a ticket of some kind (no foreign key: tickets come later)."""

    kind: SubjectKind
    id: uuid.UUID


def _aware(instant: dt.datetime, field: str) -> dt.datetime:
    if instant.tzinfo is None:
        raise InvalidInput(f"{field} must be a timezone-aware instant.", field=field)
    return instant


async def _save(session: AsyncSession, clock: Clock, event: ClockEvent, now: dt.datetime) -> Clock:
    clock.version += 1
    clock.updated_at = now
    await repository.add_events(session, [event])
    return clock


# A year load between counting and writing is rare; two in a row rarer still.
_GUARDED_ATTEMPTS = 3
Built = TypeVar("Built")


async def write_guarded(
    session: AsyncSession,
    build: Callable[[WriteBatch], Awaitable[Built]],
    *,
    alone: bool = False,
) -> Built:
    """Build a new ticket's rows into a batch — its clocks counted on the remembered calendar
    (``start(..., batch=)``) — and send them in one statement. If a year load changed the
    calendar meanwhile, nothing was written: build again on the fresh calendar.

    ``alone``: nothing else is sent in this request after the batch (``WriteBatch.execute``)."""
    for _attempt in range(_GUARDED_ATTEMPTS):
        batch = WriteBatch()
        result = await build(batch)
        if await batch.execute(session, alone=alone):
            return result
        calendar_service.forget_views()
    raise CalendarBusy("The calendar is being changed; try again shortly.")


@dataclass(frozen=True, slots=True)
class Terms:
    """A clock definition's terms. A rule-set version is never edited once it exists, so its
    terms are read once per process (a version only becomes visible here once committed)."""

    rule_set_version: int
    name: str
    subject_kind: str
    amount: int
    unit: str
    roll_forward: bool
    warning_lead_working_days: int
    extensions: tuple[int, ...]


_terms: dict[tuple[int, str], Terms] = {}


async def _definition(session: AsyncSession, version: int, name: str) -> Terms:
    cached = _terms.get((version, name))
    if cached is not None:
        return cached
    rule = await repository.get_definition(session, version, name)
    if rule is None:
        raise NotFound(f"Rule set {version} has no clock definition '{name}'.")
    terms = Terms(
        rule_set_version=rule.rule_set_version,
        name=rule.name,
        subject_kind=rule.subject_kind,
        amount=rule.amount,
        unit=rule.unit,
        roll_forward=rule.roll_forward,
        warning_lead_working_days=rule.warning_lead_working_days,
        extensions=tuple(rule.extensions or ()),
    )
    _terms[(version, name)] = terms
    return terms


async def _lock(session: AsyncSession, clock_id: uuid.UUID) -> tuple[Clock, CalendarView]:
    """The calendar (FOR SHARE) then the clock (FOR UPDATE): the year load's lock order."""
    code = await repository.clock_calendar_code(session, clock_id)
    if code is None:
        raise NotFound(f"Clock {clock_id} does not exist.")
    view = await calendar_service.get_view(session, code, lock=True)
    clock = await repository.lock_clock(session, clock_id)
    assert clock is not None  # clocks are never deleted (their events reference them)
    return clock, view


def _check(clock: Clock, action: Action) -> None:
    state = state_of(paused=clock.paused_since is not None, stopped=clock.stopped_at is not None)
    check_allowed(state, action)


def _initial_amount(rule: Terms, start_date: dt.date, due_date: dt.date | None) -> int:
    """The definition's amount, or for an amount-0 definition (C11: the regulator's reply-by
    date) the calendar days from the start date to the given due date."""
    if rule.amount > 0:
        if due_date is not None:
            raise InvalidInput(f"Clock '{rule.name}' has a fixed limit; omit due_date.")
        return rule.amount
    if due_date is None:
        raise InvalidInput(
            f"Clock '{rule.name}' needs the due date it was given.", field="due_date"
        )
    if Unit(rule.unit) is not Unit.CALENDAR_DAYS:
        raise InvalidInput(f"Clock '{rule.name}' counts {rule.unit}; it cannot take a date.")
    if due_date < start_date:
        raise InvalidInput("due_date must not be before the start date.", field="due_date")
    return (due_date - start_date).days


def _new_clock(
    rule: Terms,
    subject: Subject,
    view: CalendarView,
    started_at: dt.datetime,
    due_date: dt.date | None,
) -> Clock:
    start_date = view.local_date(started_at)
    return new_row(
        Clock,
        id=uuid.uuid4(),
        subject_kind=subject.kind.value,
        subject_id=subject.id,
        name=rule.name,
        rule_set_version=rule.rule_set_version,
        unit=rule.unit,
        amount=_initial_amount(rule, start_date, due_date),
        roll_forward=rule.roll_forward,
        calendar_code=view.code,
        started_at=started_at,
        start_date=start_date,
        paused_units=0,
        version=1,
    )


async def start(
    session: AsyncSession,
    *,
    subject: Subject,
    definition: str,
    started_at: dt.datetime,
    rule_set_version: int,
    now: dt.datetime,
    actor: str,
    calendar_code: str = DEFAULT_CALENDAR,
    due_date: dt.date | None = None,
    reason: str | None = None,
    batch: WriteBatch | None = None,
) -> Clock:
    """Start clock ``definition`` of rule set ``rule_set_version`` on ``subject`` at
    ``started_at`` (the triggering event, e.g. receipt). ``due_date`` only for definitions
    whose amount is given per case (amount 0, e.g. C11).

    With ``batch`` (a new ticket's hot path) the clock and its event join the batch, counted on
    the process's remembered calendar with a guard that it is still current; the caller
    retries if :meth:`WriteBatch.execute` reports the guard failed (see ``app.db.batch``)."""
    _aware(started_at, "started_at")
    rule = await _definition(session, rule_set_version, definition)
    if rule.subject_kind != subject.kind.value:
        raise InvalidInput(
            f"Clock '{definition}' runs on a {rule.subject_kind}, not a {subject.kind}."
        )
    if batch is None:
        view = await calendar_service.get_view(session, calendar_code, lock=True)
    else:
        view = await calendar_service.remembered_view(session, calendar_code)
        batch.require(calendar_service.version_guard(view))
    clock = _new_clock(rule, subject, view, started_at, due_date)
    ledger.refresh_due(clock, view, rule.warning_lead_working_days, now)
    data = {"amount": clock.amount, "unit": clock.unit, "start_date": clock.start_date.isoformat()}
    event = ledger.new_event(
        clock,
        EventKind.STARTED,
        now=now,
        actor=actor,
        reason=reason,
        calendar_version=view.version,
        data=data,
    )
    if batch is None:
        await repository.add_clock(session, clock)
        await repository.add_events(session, [event])
    else:
        batch.add(clock)
        batch.add(event)
    return clock


async def pause(
    session: AsyncSession, clock_id: uuid.UUID, *, now: dt.datetime, actor: str, reason: str
) -> Clock:
    """Pause (e.g. appraisal, mediation): the span until resume is added to the limit."""
    clock, _ = await _lock(session, clock_id)
    _check(clock, Action.PAUSE)
    clock.paused_since = now
    event = ledger.new_event(clock, EventKind.PAUSED, now=now, actor=actor, reason=reason)
    return await _save(session, clock, event, now)


async def resume(
    session: AsyncSession,
    clock_id: uuid.UUID,
    *,
    now: dt.datetime,
    actor: str,
    reason: str | None = None,
) -> Clock:
    """Resume a paused clock: the paused span, in the clock's unit, moves the due date."""
    clock, view = await _lock(session, clock_id)
    _check(clock, Action.RESUME)
    rule = await _definition(session, clock.rule_set_version, clock.name)
    assert clock.paused_since is not None
    paused_since, old_due_at = clock.paused_since, clock.due_at
    added = paused_span(view, Unit(clock.unit), paused_since, now)
    clock.paused_units += added
    clock.paused_since = None
    ledger.refresh_due(clock, view, rule.warning_lead_working_days, now)
    data = {"paused_since": paused_since.isoformat(), "paused_units_added": added}
    event = ledger.new_event(
        clock,
        EventKind.RESUMED,
        now=now,
        actor=actor,
        reason=reason,
        old_due_at=old_due_at,
        calendar_version=view.version,
        data=data,
    )
    return await _save(session, clock, event, now)


async def extend(
    session: AsyncSession,
    clock_id: uuid.UUID,
    *,
    amount: int,
    reason: str,
    approver: str,
    now: dt.datetime,
    actor: str,
) -> Clock:
    """Lengthen the limit to ``amount`` (e.g. C7: 15 → 30 → 60 days), with reason and approver.

    A definition listing its allowed extensions accepts only those amounts.
    """
    if not reason.strip() or not approver.strip():
        raise InvalidInput("An extension needs a reason and an approver.", field="reason")
    clock, view = await _lock(session, clock_id)
    _check(clock, Action.EXTEND)
    rule = await _definition(session, clock.rule_set_version, clock.name)
    if amount <= clock.amount:
        raise InvalidInput(f"The new limit must exceed {clock.amount}.", field="amount")
    if rule.extensions and amount not in rule.extensions:
        allowed = ", ".join(str(a) for a in rule.extensions)
        raise InvalidInput(f"Clock '{clock.name}' may be extended to {allowed}.", field="amount")
    old_amount, old_due_at = clock.amount, clock.due_at
    clock.amount = amount
    ledger.refresh_due(clock, view, rule.warning_lead_working_days, now)
    data = {"old_amount": old_amount, "new_amount": amount, "approver": approver}
    event = ledger.new_event(
        clock,
        EventKind.EXTENDED,
        now=now,
        actor=actor,
        reason=reason,
        old_due_at=old_due_at,
        calendar_version=view.version,
        data=data,
    )
    return await _save(session, clock, event, now)


async def restart(
    session: AsyncSession,
    clock_id: uuid.UUID,
    *,
    started_at: dt.datetime,
    now: dt.datetime,
    actor: str,
    reason: str,
) -> Clock:
    """Count again from ``started_at`` (C6: new facts in a repeated complaint): a new start
    date, pauses forgotten. A breach already recorded stays recorded."""
    _aware(started_at, "started_at")
    clock, view = await _lock(session, clock_id)
    _check(clock, Action.RESTART)
    rule = await _definition(session, clock.rule_set_version, clock.name)
    old_due_at, old_start = clock.due_at, clock.started_at
    clock.started_at, clock.start_date = started_at, view.local_date(started_at)
    clock.paused_units, clock.paused_since = 0, None
    ledger.refresh_due(clock, view, rule.warning_lead_working_days, now)
    data = {"old_started_at": old_start.isoformat(), "start_date": clock.start_date.isoformat()}
    event = ledger.new_event(
        clock,
        EventKind.RESTARTED,
        now=now,
        actor=actor,
        reason=reason,
        old_due_at=old_due_at,
        calendar_version=view.version,
        data=data,
    )
    return await _save(session, clock, event, now)


async def stop(
    session: AsyncSession,
    clock_id: uuid.UUID,
    *,
    now: dt.datetime,
    actor: str,
    reason: str | None = None,
) -> Clock:
    """The clock's stop event happened: ``met`` if on time, else ``met_late``.

    Stopping a paused clock first counts the pause up to now. A clock recorded as breached can
    only end ``met_late``, and keeps its ``breached_at``.
    """
    clock, view = await _lock(session, clock_id)
    _check(clock, Action.STOP)
    old_due_at = clock.due_at
    if clock.paused_since is not None:
        rule = await _definition(session, clock.rule_set_version, clock.name)
        clock.paused_units += paused_span(view, Unit(clock.unit), clock.paused_since, now)
        clock.paused_since = None
        ledger.refresh_due(clock, view, rule.warning_lead_working_days, now)
    late = outcome_is_late(now=now, due_at=clock.due_at, breached=clock.breached_at is not None)
    clock.outcome = (Outcome.MET_LATE if late else Outcome.MET).value
    clock.stopped_at = now
    event = ledger.new_event(
        clock,
        EventKind.STOPPED,
        now=now,
        actor=actor,
        reason=reason,
        old_due_at=old_due_at,
        calendar_version=view.version,
        data={"outcome": clock.outcome},
    )
    return await _save(session, clock, event, now)


async def cancel(
    session: AsyncSession, clock_id: uuid.UUID, *, now: dt.datetime, actor: str, reason: str
) -> Clock:
    """The deadline no longer applies (e.g. the complaint was withdrawn or merged)."""
    clock, _ = await _lock(session, clock_id)
    _check(clock, Action.CANCEL)
    clock.outcome, clock.stopped_at, clock.paused_since = Outcome.CANCELLED.value, now, None
    event = ledger.new_event(clock, EventKind.CANCELLED, now=now, actor=actor, reason=reason)
    return await _save(session, clock, event, now)


async def definition(session: AsyncSession, rule_set_version: int, name: str) -> Terms:
    """The terms of clock ``name`` in a rule-set version (for rules checked without a clock)."""
    return await _definition(session, rule_set_version, name)


async def get_clock(session: AsyncSession, clock_id: uuid.UUID) -> Clock:
    clock = await repository.get_clock(session, clock_id)
    if clock is None:
        raise NotFound(f"Clock {clock_id} does not exist.")
    return clock


async def events_of(session: AsyncSession, clock_id: uuid.UUID) -> list[ClockEvent]:
    """The clock's ledger, oldest first."""
    return await repository.events_of(session, clock_id)


async def clocks_for_subject(session: AsyncSession, subject: Subject) -> list[Clock]:
    return await repository.clocks_for_subject(session, subject.kind.value, subject.id)
