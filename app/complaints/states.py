"""The complaint state machine (DOMAIN.md §3) as data: states, actions, the transition table.

Pure: no framework, no database, no clock. The service enforces it in one place, the
allowed-actions endpoint renders it, and the property tests drive it.

    registered ──request-materials──▶ awaiting_materials ──receive-materials (complete)──┐
        └──────receive-materials (complete)──────────────────────────────────────────▶ under_review
    under_review ──accept──▶ investigating ⇄ paused (pause / resume; extend in either)
                 ├─reject──▶ not_accepted        investigating ──decide──▶ decided
                 ├─transfer▶ transferred         decided ──notify (decision notice)──▶ notified
                 └─merge───▶ merged              notified ──close──▶ closed
    notified | closed ──request-review (≤ 30 days)──▶ review_requested ──decide-review──▶ reviewed
    any open state ──withdraw──▶ withdrawn
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    REGISTERED = "registered"
    AWAITING_MATERIALS = "awaiting_materials"
    UNDER_REVIEW = "under_review"
    INVESTIGATING = "investigating"
    PAUSED = "paused"
    DECIDED = "decided"
    NOTIFIED = "notified"
    CLOSED = "closed"
    REVIEW_REQUESTED = "review_requested"
    REVIEWED = "reviewed"
    NOT_ACCEPTED = "not_accepted"
    TRANSFERRED = "transferred"
    MERGED = "merged"
    WITHDRAWN = "withdrawn"


class Action(StrEnum):
    REQUEST_MATERIALS = "request-materials"
    RECEIVE_MATERIALS = "receive-materials"
    ACCEPT = "accept"
    REJECT = "reject"
    TRANSFER = "transfer"
    MERGE = "merge"
    EXTEND = "extend"
    PAUSE = "pause"
    RESUME = "resume"
    DECIDE = "decide"
    NOTIFY = "notify"
    WITHDRAW = "withdraw"
    REQUEST_REVIEW = "request-review"
    DECIDE_REVIEW = "decide-review"
    CLOSE = "close"
    ASSIGN = "assign"
    CORRECT_DETAILS = "correct-details"
    RECLASSIFY = "reclassify"


TERMINAL = frozenset(
    {Status.REVIEWED, Status.NOT_ACCEPTED, Status.TRANSFERRED, Status.MERGED, Status.WITHDRAWN}
)
OPEN = frozenset(Status) - TERMINAL
"""States in which the complaint still needs work (``closed`` is open: a review may follow)."""

BEFORE_ACCEPTANCE = frozenset({Status.REGISTERED, Status.AWAITING_MATERIALS, Status.UNDER_REVIEW})
HANDLING = frozenset({Status.INVESTIGATING, Status.PAUSED})

# (action, from) → to. An action absent for a state is illegal there (409).
TRANSITIONS: dict[tuple[Action, Status], Status] = {
    (Action.REQUEST_MATERIALS, Status.REGISTERED): Status.AWAITING_MATERIALS,
    # Again while waiting: the same notice resent (a failed SMS) or its list corrected.
    (Action.REQUEST_MATERIALS, Status.AWAITING_MATERIALS): Status.AWAITING_MATERIALS,
    # Incomplete materials keep the complaint waiting (the missing list is updated).
    (Action.RECEIVE_MATERIALS, Status.REGISTERED): Status.UNDER_REVIEW,
    (Action.RECEIVE_MATERIALS, Status.AWAITING_MATERIALS): Status.UNDER_REVIEW,
    (Action.ACCEPT, Status.UNDER_REVIEW): Status.INVESTIGATING,
    (Action.REJECT, Status.UNDER_REVIEW): Status.NOT_ACCEPTED,
    **{(Action.TRANSFER, s): Status.TRANSFERRED for s in BEFORE_ACCEPTANCE},
    **{(Action.MERGE, s): Status.MERGED for s in BEFORE_ACCEPTANCE},
    **{(Action.EXTEND, s): s for s in HANDLING},
    (Action.PAUSE, Status.INVESTIGATING): Status.PAUSED,
    (Action.RESUME, Status.PAUSED): Status.INVESTIGATING,
    (Action.DECIDE, Status.INVESTIGATING): Status.DECIDED,
    # Recording a notice is possible in every state (which kinds: NOTICE_KINDS_BY_STATE). Only
    # a decision notice that counts (rule C8) moves the complaint: decided → notified.
    **{(Action.NOTIFY, s): s for s in Status},
    (Action.NOTIFY, Status.DECIDED): Status.NOTIFIED,
    (Action.CLOSE, Status.NOTIFIED): Status.CLOSED,
    (Action.REQUEST_REVIEW, Status.NOTIFIED): Status.REVIEW_REQUESTED,
    (Action.REQUEST_REVIEW, Status.CLOSED): Status.REVIEW_REQUESTED,
    (Action.DECIDE_REVIEW, Status.REVIEW_REQUESTED): Status.REVIEWED,
    **{(Action.WITHDRAW, s): Status.WITHDRAWN for s in OPEN},
    **{(Action.ASSIGN, s): s for s in OPEN},
    # The complainant's contact details, policy number and remedy: wrong or missing at
    # registration (a mistyped phone, an IVR caller's unknown name). Never the state.
    **{(Action.CORRECT_DETAILS, s): s for s in OPEN},
    # The cause and product line the statistics count by (C12): an IVR complaint is registered
    # as cause "other", and a wrong one would stay in the regulator's figures. Never the state.
    # Also after the end, since ended complaints are counted too; there it needs a supervisor.
    **{(Action.RECLASSIFY, s): s for s in Status},
}

SUPERVISOR_ONLY: frozenset[tuple[Action, Status]] = frozenset(
    (Action.RECLASSIFY, s) for s in TERMINAL
)
"""Moves the table allows only to a supervisor (``tickets:supervise``)."""

_STATE_NOTICES: dict[Status, frozenset[str]] = {
    Status.AWAITING_MATERIALS: frozenset({"supplement"}),
    Status.INVESTIGATING: frozenset({"acceptance", "extension", "pause"}),
    Status.PAUSED: frozenset({"acceptance", "extension", "pause"}),
    Status.DECIDED: frozenset({"decision"}),
    Status.NOTIFIED: frozenset({"decision"}),
    Status.CLOSED: frozenset({"decision"}),
    Status.NOT_ACCEPTED: frozenset({"refusal"}),
    Status.REVIEWED: frozenset({"review_decision"}),
}
NOTICE_KINDS_BY_STATE: dict[Status, frozenset[str]] = {
    # The written report to a forwarding regulator (C11) may be sent at any point.
    state: _STATE_NOTICES.get(state, frozenset()) | {"regulator_report"}
    for state in Status
}
"""Which notice kinds ``notify`` may record in each state (resending included)."""


def target(action: Action, current: Status) -> Status | None:
    """The state ``action`` leads to from ``current``, or ``None`` if it is not allowed."""
    return TRANSITIONS.get((action, current))


def allowed_actions(current: Status) -> list[Action]:
    """Every action the table allows from ``current``, in a stable order."""
    return [action for action in Action if (action, current) in TRANSITIONS]


def mermaid() -> str:
    """The table as a Mermaid state diagram (for the docs)."""
    lines = ["stateDiagram-v2"]
    for (action, source), destination in TRANSITIONS.items():
        if source != destination and action is not Action.WITHDRAW:
            lines.append(f"    {source} --> {destination}: {action}")
    lines.append("    note right of withdrawn: withdraw, from every open state")
    return "\n".join(lines)
