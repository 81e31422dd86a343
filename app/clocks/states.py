"""What a clock can be and what may happen to it: pure data, no framework, no clock reads."""

from __future__ import annotations

from enum import StrEnum

from app.core.errors import InvalidTransition


class SubjectKind(StrEnum):
    """What a clock runs on (the tickets arrive in later features; no foreign key yet)."""

    COMPLAINT = "complaint"
    INQUIRY = "inquiry"
    CLAIM_REPORT = "claim_report"
    CALLBACK = "callback"


class Unit(StrEnum):
    WORKING_DAYS = "working_days"
    CALENDAR_DAYS = "calendar_days"
    HOURS = "hours"


DAY_UNITS = frozenset({Unit.WORKING_DAYS, Unit.CALENDAR_DAYS})
"""Units counted on the statutory calendar (hours are not)."""


class Outcome(StrEnum):
    MET = "met"
    MET_LATE = "met_late"
    CANCELLED = "cancelled"


class EventKind(StrEnum):
    STARTED = "started"
    PAUSED = "paused"
    RESUMED = "resumed"
    EXTENDED = "extended"
    RESTARTED = "restarted"
    RECOMPUTED = "recomputed"
    WARNED = "warned"
    BREACHED = "breached"
    STOPPED = "stopped"
    CANCELLED = "cancelled"


class ClockState(StrEnum):
    """Derived from the row: ``stopped_at`` set → stopped; ``paused_since`` set → paused."""

    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


class Action(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    EXTEND = "extend"
    RESTART = "restart"
    STOP = "stop"
    CANCEL = "cancel"


TRANSITIONS: dict[ClockState, frozenset[Action]] = {
    ClockState.RUNNING: frozenset(
        {Action.PAUSE, Action.EXTEND, Action.RESTART, Action.STOP, Action.CANCEL}
    ),
    ClockState.PAUSED: frozenset(
        {Action.RESUME, Action.EXTEND, Action.RESTART, Action.STOP, Action.CANCEL}
    ),
    # A stopped clock is a closed record: nothing moves it again.
    ClockState.STOPPED: frozenset(),
}


def state_of(*, paused: bool, stopped: bool) -> ClockState:
    if stopped:
        return ClockState.STOPPED
    return ClockState.PAUSED if paused else ClockState.RUNNING


def check_allowed(state: ClockState, action: Action) -> None:
    """Raise :class:`InvalidTransition` unless ``action`` is allowed in ``state``."""
    if action not in TRANSITIONS[state]:
        raise InvalidTransition(state.value, action.value)


def sql_in(values: type[StrEnum]) -> str:
    """``'a', 'b'`` for a CHECK constraint listing an enum's values."""
    return ", ".join(f"'{member.value}'" for member in values)
