"""When a notice counts as having told the complainant (rule C8; CBIRC 2020 No. 3 art. 21).

Written notices count when handed over or posted, SMS and e-mail when sent, a phone notice when
the call was placed. A notice whose delivery failed never counts, whatever its mode: a clock is
stopped by a notice that reached the road to the complainant, never by a status flip.
"""

from __future__ import annotations

COUNTING_MODES = frozenset({"written", "post", "sms", "email", "phone"})

# Which clock a counting notice of each kind stops.
CLOCK_STOPPED_BY: dict[str, str] = {
    "supplement": "C2_supplement_or_confirm",
    "acceptance": "C3_acceptance_notice",
    "refusal": "C3_acceptance_notice",
    "decision": "C7_handling_decision",
    "review_decision": "C9b_review_decision",
    "regulator_report": "C11_regulator_reply",
}


def counts(mode: str, delivery: str) -> bool:
    """Whether a notice sent by ``mode`` with this ``delivery`` status counts as given."""
    return mode in COUNTING_MODES and delivery in {"sent", "delivered"}  # not pending, failed
