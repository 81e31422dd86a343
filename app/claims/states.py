"""The claim report (报案) state machine as data (DOMAIN.md §5; Insurance Law arts. 22–25).

Pure: no framework, no database, no clock. After the report, the claims system drives the
report by pushing what happened (``Event``); the table says what may follow what.

    reported ──handed_off (claim number)──▶ handed_off
    handed_off | documents_requested ──documents_requested (all missing)──▶ documents_requested
    handed_off | documents_requested ──documents_complete──▶ documents_complete
    documents_complete ──decided (approved | declined)──▶ decided
    decided (approved) ──agreement_reached──▶ agreement_reached ──paid──▶ paid ──closed──▶ closed
    decided (declined) ──refusal_notified──▶ closed
    documents_complete | decided (approved) ──advance_paid──▶ (same state)
    reported … documents_complete ──cancelled──▶ cancelled

Clocks: documents complete starts the 30-day decision and the 60-day advance-payment clocks; a
decline starts the 3-day refusal notice; the agreement starts the 10-day payment clock.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    REPORTED = "reported"
    HANDED_OFF = "handed_off"
    DOCUMENTS_REQUESTED = "documents_requested"
    DOCUMENTS_COMPLETE = "documents_complete"
    DECIDED = "decided"
    AGREEMENT_REACHED = "agreement_reached"
    PAID = "paid"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class Event(StrEnum):
    """What the claims system reports."""

    HANDED_OFF = "handed_off"
    DOCUMENTS_REQUESTED = "documents_requested"
    DOCUMENTS_COMPLETE = "documents_complete"
    DECIDED = "decided"
    ADVANCE_PAID = "advance_paid"
    AGREEMENT_REACHED = "agreement_reached"
    PAID = "paid"
    REFUSAL_NOTIFIED = "refusal_notified"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class Decision(StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"


TERMINAL = frozenset({Status.CLOSED, Status.CANCELLED})
OPEN = frozenset(Status) - TERMINAL
CANCELLABLE = frozenset(
    {Status.REPORTED, Status.HANDED_OFF, Status.DOCUMENTS_REQUESTED, Status.DOCUMENTS_COMPLETE}
)

# (event, from) → to. An event absent for a state is illegal there (409).
TRANSITIONS: dict[tuple[Event, Status], Status] = {
    (Event.HANDED_OFF, Status.REPORTED): Status.HANDED_OFF,
    (Event.DOCUMENTS_REQUESTED, Status.HANDED_OFF): Status.DOCUMENTS_REQUESTED,
    # Again while waiting: the notice corrected (it must still list everything missing).
    (Event.DOCUMENTS_REQUESTED, Status.DOCUMENTS_REQUESTED): Status.DOCUMENTS_REQUESTED,
    (Event.DOCUMENTS_COMPLETE, Status.HANDED_OFF): Status.DOCUMENTS_COMPLETE,
    (Event.DOCUMENTS_COMPLETE, Status.DOCUMENTS_REQUESTED): Status.DOCUMENTS_COMPLETE,
    (Event.DECIDED, Status.DOCUMENTS_COMPLETE): Status.DECIDED,
    (Event.ADVANCE_PAID, Status.DOCUMENTS_COMPLETE): Status.DOCUMENTS_COMPLETE,
    (Event.ADVANCE_PAID, Status.DECIDED): Status.DECIDED,
    (Event.AGREEMENT_REACHED, Status.DECIDED): Status.AGREEMENT_REACHED,
    (Event.PAID, Status.AGREEMENT_REACHED): Status.PAID,
    (Event.REFUSAL_NOTIFIED, Status.DECIDED): Status.CLOSED,
    (Event.CLOSED, Status.PAID): Status.CLOSED,
    **{(Event.CANCELLED, s): Status.CANCELLED for s in CANCELLABLE},
}

# From ``decided``, these events need this decision.
NEEDS_DECISION: dict[Event, Decision] = {
    Event.ADVANCE_PAID: Decision.APPROVED,
    Event.AGREEMENT_REACHED: Decision.APPROVED,
    Event.REFUSAL_NOTIFIED: Decision.DECLINED,
}


def target(event: Event, current: Status, decision: Decision | None) -> Status | None:
    """The state ``event`` leads to from ``current`` (given the decision, once decided), or
    ``None`` if it is not allowed."""
    destination = TRANSITIONS.get((event, current))
    if destination is None:
        return None
    needed = NEEDS_DECISION.get(event)
    if current is Status.DECIDED and needed is not None and decision is not needed:
        return None
    return destination


def allowed_events(current: Status, decision: Decision | None) -> list[Event]:
    return [event for event in Event if target(event, current, decision) is not None]
