"""The inquiry (咨询) state machine as data (DOMAIN.md §5). Pure: no framework, no clock.

    open ──answer──▶ answered (first-contact resolution: answered in the contact itself)
    open ──defer──▶ pending ──answer──▶ answered ──close──▶ closed
    open | pending | answered ──convert-to-complaint──▶ converted (linked to the new complaint)

The answer clock (rule set: ``inquiry_answer``, 1 working day) runs from receipt on every
inquiry not answered in the contact, and stops when it is answered or converted.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    ANSWERED = "answered"
    CLOSED = "closed"
    CONVERTED = "converted"


class Action(StrEnum):
    ANSWER = "answer"
    DEFER = "defer"
    CLOSE = "close"
    CONVERT = "convert-to-complaint"


AWAITING_ANSWER = frozenset({Status.OPEN, Status.PENDING})
"""An answer is owed: what a caller's status query lists."""
TERMINAL = frozenset({Status.CLOSED, Status.CONVERTED})

TRANSITIONS: dict[tuple[Action, Status], Status] = {
    (Action.ANSWER, Status.OPEN): Status.ANSWERED,
    (Action.ANSWER, Status.PENDING): Status.ANSWERED,
    (Action.DEFER, Status.OPEN): Status.PENDING,
    (Action.CLOSE, Status.ANSWERED): Status.CLOSED,
    **{(Action.CONVERT, s): Status.CONVERTED for s in Status if s not in TERMINAL},
}


def target(action: Action, current: Status) -> Status | None:
    """The state ``action`` leads to from ``current``, or ``None`` if it is not allowed."""
    return TRANSITIONS.get((action, current))


def allowed_actions(current: Status) -> list[Action]:
    return [action for action in Action if (action, current) in TRANSITIONS]


def is_first_contact_resolution(current: Status, action: Action) -> bool:
    """Answered while still open: resolved in the contact that raised it."""
    return action is Action.ANSWER and current is Status.OPEN
