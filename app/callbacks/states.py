"""The callback state machine (DOMAIN.md §4) as data: states, actions, the transition table.

Pure: no framework, no database, no clock. The service enforces it in one place, the
allowed-actions endpoint renders it, and the tests drive it.

    scheduled ──claim──▶ in_progress ──attempt (reached / refused)──▶ completed
    rescheduled ─claim─▶     │        ──attempt (not reached, tries left)──▶ rescheduled
                             │        ──attempt (every method used up)──▶ unreachable
                             ├─release──▶ scheduled (no attempt yet) | rescheduled
                             └─claim (the hold expired: another agent takes it)──▶ in_progress
    scheduled | rescheduled | in_progress ──cancel (moot)──▶ cancelled

An attempt has several possible results; which one the policy picks is decided in
``policy.py`` and checked against this table, so the table still names every legal move.
"""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    RESCHEDULED = "rescheduled"
    COMPLETED = "completed"
    UNREACHABLE = "unreachable"
    CANCELLED = "cancelled"


class Action(StrEnum):
    CLAIM = "claim"
    ATTEMPT = "attempt"
    RELEASE = "release"
    CANCEL = "cancel"


class Outcome(StrEnum):
    """How a callback ended (``callbacks.outcome``; null while it is open)."""

    REACHED = "reached"
    REFUSED = "refused"
    UNREACHABLE = "unreachable"
    CANCELLED = "cancelled"


TERMINAL = frozenset({State.COMPLETED, State.UNREACHABLE, State.CANCELLED})
OPEN = frozenset(State) - TERMINAL
WAITING = frozenset({State.SCHEDULED, State.RESCHEDULED})
"""In the queue (claimable once the next attempt time and the callable hours allow)."""

# (action, from) → the states it may lead to. Absent: illegal there (409).
TRANSITIONS: dict[tuple[Action, State], frozenset[State]] = {
    (Action.CLAIM, State.SCHEDULED): frozenset({State.IN_PROGRESS}),
    (Action.CLAIM, State.RESCHEDULED): frozenset({State.IN_PROGRESS}),
    # Only once the hold has expired (the service checks the time): the queue takes it back.
    (Action.CLAIM, State.IN_PROGRESS): frozenset({State.IN_PROGRESS}),
    (Action.ATTEMPT, State.IN_PROGRESS): frozenset(
        {State.COMPLETED, State.RESCHEDULED, State.UNREACHABLE}
    ),
    # Back to the queue as it was: "scheduled" before any attempt, "rescheduled" after one.
    (Action.RELEASE, State.IN_PROGRESS): frozenset({State.SCHEDULED, State.RESCHEDULED}),
    **{(Action.CANCEL, s): frozenset({State.CANCELLED}) for s in OPEN},
}


def targets(action: Action, current: State) -> frozenset[State]:
    """The states ``action`` may lead to from ``current``; empty if it is not allowed."""
    return TRANSITIONS.get((action, current), frozenset())


def is_allowed(action: Action, current: State, to: State) -> bool:
    return to in targets(action, current)


def allowed_actions(current: State) -> list[Action]:
    """Every action the table allows from ``current``, in a stable order."""
    return [action for action in Action if (action, current) in TRANSITIONS]


def release_target(attempts_made: int) -> State:
    """Where a released callback goes back to: the queue it was taken from."""
    return State.RESCHEDULED if attempts_made > 0 else State.SCHEDULED


def mermaid() -> str:
    """The table as a Mermaid state diagram (for the docs)."""
    lines = ["stateDiagram-v2"]
    for (action, source), destinations in TRANSITIONS.items():
        for destination in sorted(destinations):
            lines.append(f"    {source} --> {destination}: {action}")
    return "\n".join(lines)


def sql_in(values: type[StrEnum] | tuple[str, ...]) -> str:
    """``'a', 'b'`` for a CHECK constraint listing allowed values."""
    items = [str(v) for v in values]
    return ", ".join(f"'{v}'" for v in items)
