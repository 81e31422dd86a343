"""The inquiry and claim report tables, checked against hand-written models (not imported from
the tables they check) with Hypothesis, plus the invariants every walk must keep."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.claims import states as claims
from app.inquiries import states as inquiries

INQUIRY_MODEL = {
    "answer": {"open": "answered", "pending": "answered"},
    "defer": {"open": "pending"},
    "close": {"answered": "closed"},
    "convert-to-complaint": {
        "open": "converted",
        "pending": "converted",
        "answered": "converted",
    },
}

CLAIM_MODEL = {
    "handed_off": {"reported": "handed_off"},
    "documents_requested": {
        "handed_off": "documents_requested",
        "documents_requested": "documents_requested",
    },
    "documents_complete": {
        "handed_off": "documents_complete",
        "documents_requested": "documents_complete",
    },
    "decided": {"documents_complete": "decided"},
    "advance_paid": {"documents_complete": "documents_complete", "decided:approved": "decided"},
    "agreement_reached": {"decided:approved": "agreement_reached"},
    "paid": {"agreement_reached": "paid"},
    "refusal_notified": {"decided:declined": "closed"},
    "closed": {"paid": "closed"},
    "cancelled": {
        "reported": "cancelled",
        "handed_off": "cancelled",
        "documents_requested": "cancelled",
        "documents_complete": "cancelled",
    },
}


@given(st.lists(st.sampled_from(list(inquiries.Action)), max_size=12))
def test_inquiry_table_matches_the_model(walk: list[inquiries.Action]) -> None:
    current = inquiries.Status.OPEN
    for action in walk:
        expected = INQUIRY_MODEL[action.value].get(current.value)
        got = inquiries.target(action, current)
        assert (got.value if got else None) == expected, (action, current)
        assert (action in inquiries.allowed_actions(current)) == (expected is not None)
        if got is not None:
            fcr = inquiries.is_first_contact_resolution(current, action)
            assert fcr == (action is inquiries.Action.ANSWER and current.value == "open")
            current = got
    if current in inquiries.TERMINAL:
        assert inquiries.allowed_actions(current) == []


@given(
    st.lists(
        st.tuples(st.sampled_from(list(claims.Event)), st.sampled_from(list(claims.Decision))),
        max_size=15,
    )
)
def test_claim_table_matches_the_model(walk: list[tuple[claims.Event, claims.Decision]]) -> None:
    current, decision = claims.Status.REPORTED, None
    for event, chosen in walk:
        key = current.value
        if current is claims.Status.DECIDED:
            assert decision is not None
            key = f"decided:{decision.value}"
        model = CLAIM_MODEL[event.value]
        expected = model.get(key, model.get(current.value))
        got = claims.target(event, current, decision)
        assert (got.value if got else None) == expected, (event, key)
        if got is not None:
            if event is claims.Event.DECIDED:
                decision = chosen
            current = got
        if current in claims.TERMINAL:
            assert claims.allowed_events(current, decision) == []
