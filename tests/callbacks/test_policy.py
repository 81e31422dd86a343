"""The contact policy (pure): callable hours on the real CN calendar, spacing, method fallback
and exhaustion — worked examples, then Hypothesis properties over random policies."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.calendar.official_data import cn_calendar
from app.callbacks.policy import (
    CONTACTED,
    AttemptOutcome,
    ContactPolicy,
    Method,
    MethodNotAllowed,
    Next,
    Progress,
    Step,
    after_attempt,
    callable_kinds,
    is_callable,
    next_callable,
)

TZ = ZoneInfo("Asia/Shanghai")
CN = cn_calendar()
IS_WORKING = CN.is_working_day
NOT_REACHED = [o for o in AttemptOutcome if o not in CONTACTED]


def local(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=TZ)


SATISFACTION = ContactPolicy(
    kind="satisfaction",
    steps=(
        Step(Method.PHONE, 3),
        Step(Method.SMS_QUESTIONNAIRE, 1),
        Step(Method.ONLINE_QUESTIONNAIRE, 1),
    ),
    spacing=dt.timedelta(minutes=120),
    callable_from=dt.time(9),
    callable_to=dt.time(20),
    working_days_only=False,
)
OFFICE_HOURS = ContactPolicy(
    kind="complaint_followup",
    steps=(Step(Method.PHONE, 3), Step(Method.SMS_QUESTIONNAIRE, 1)),
    spacing=dt.timedelta(minutes=120),
    callable_from=dt.time(9),
    callable_to=dt.time(18),
    working_days_only=True,
)


# --- worked examples ----------------------------------------------------------------------------


def test_not_callable_at_23_00_local_but_the_next_morning() -> None:
    late = local("2026-03-10T23:00")
    assert not is_callable(SATISFACTION, late, TZ, IS_WORKING)
    assert next_callable(SATISFACTION, late, TZ, IS_WORKING) == local("2026-03-11T09:00")
    assert callable_kinds([SATISFACTION, OFFICE_HOURS], late, TZ, IS_WORKING) == []


def test_the_window_is_half_open() -> None:
    assert is_callable(SATISFACTION, local("2026-03-10T09:00"), TZ, IS_WORKING)
    assert is_callable(SATISFACTION, local("2026-03-10T19:59:59"), TZ, IS_WORKING)
    assert not is_callable(SATISFACTION, local("2026-03-10T20:00"), TZ, IS_WORKING)


def test_working_days_only_skips_national_day_and_takes_the_make_up_saturday() -> None:
    # 2025 National Day: Oct 1-8 off; Sat Oct 11 is a make-up working day.
    assert next_callable(OFFICE_HOURS, local("2025-09-30T18:30"), TZ, IS_WORKING) == local(
        "2025-10-09T09:00"
    )
    assert is_callable(OFFICE_HOURS, local("2025-10-11T10:00"), TZ, IS_WORKING)
    assert not is_callable(OFFICE_HOURS, local("2025-10-12T10:00"), TZ, IS_WORKING)  # Sunday
    assert is_callable(SATISFACTION, local("2025-10-03T10:00"), TZ, IS_WORKING)  # every day


def test_the_satisfaction_sequence_to_unreachable() -> None:
    progress, at = Progress(), local("2026-03-10T19:00")
    seen = []
    for method in [Method.PHONE] * 3 + [Method.SMS_QUESTIONNAIRE, Method.ONLINE_QUESTIONNAIRE]:
        decision = after_attempt(
            SATISFACTION, progress, method, AttemptOutcome.NO_ANSWER, at, TZ, IS_WORKING
        )
        seen.append((decision.next, decision.next_attempt_at))
        progress = decision.progress
        if decision.next_attempt_at is not None:
            at = decision.next_attempt_at
    assert [n for n, _ in seen] == [Next.RESCHEDULE] * 4 + [Next.UNREACHABLE]
    # 19:00 + 2 h is 21:00, after hours: the next morning at 09:00, then 11:00, 13:00 ...
    assert [t for _, t in seen[:4]] == [
        local("2026-03-11T09:00"),
        local("2026-03-11T11:00"),
        local("2026-03-11T13:00"),
        local("2026-03-11T15:00"),
    ]


def test_wrong_number_on_phone_skips_to_the_next_method() -> None:
    decision = after_attempt(
        SATISFACTION,
        Progress(),
        Method.PHONE,
        AttemptOutcome.WRONG_NUMBER,
        local("2026-03-10T10:00"),
        TZ,
        IS_WORKING,
    )
    assert decision.next is Next.RESCHEDULE
    assert decision.progress == Progress(1, 0)
    assert decision.method_switched


def test_methods_never_go_back_but_may_skip_ahead() -> None:
    at = local("2026-03-10T10:00")
    with pytest.raises(MethodNotAllowed):
        after_attempt(
            SATISFACTION, Progress(1, 0), Method.PHONE, AttemptOutcome.BUSY, at, TZ, IS_WORKING
        )
    with pytest.raises(MethodNotAllowed):
        after_attempt(
            OFFICE_HOURS, Progress(), Method.ON_SITE, AttemptOutcome.BUSY, at, TZ, IS_WORKING
        )
    skipped = after_attempt(
        SATISFACTION,
        Progress(0, 1),
        Method.SMS_QUESTIONNAIRE,
        AttemptOutcome.REACHED,
        at,
        TZ,
        IS_WORKING,
    )
    assert skipped.next is Next.COMPLETE
    assert skipped.progress == Progress(1, 1)


@pytest.mark.parametrize("outcome", sorted(CONTACTED))
def test_contact_completes_whatever_the_attempt_number(outcome: AttemptOutcome) -> None:
    decision = after_attempt(
        SATISFACTION,
        Progress(0, 2),
        Method.PHONE,
        outcome,
        local("2026-03-10T10:00"),
        TZ,
        IS_WORKING,
    )
    assert decision.next is Next.COMPLETE
    assert decision.next_attempt_at is None


def test_an_invalid_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="before they end"):
        ContactPolicy(
            "x", (Step(Method.PHONE, 1),), dt.timedelta(minutes=5), dt.time(20), dt.time(9), False
        )
    with pytest.raises(ValueError, match="twice"):
        ContactPolicy(
            "x",
            (Step(Method.PHONE, 1), Step(Method.PHONE, 2)),
            dt.timedelta(minutes=5),
            dt.time(9),
            dt.time(20),
            False,
        )


# --- properties ---------------------------------------------------------------------------------


@st.composite
def policies(draw: st.DrawFn) -> ContactPolicy:
    methods = draw(st.permutations(list(Method)))[: draw(st.integers(1, len(Method)))]
    opens = draw(st.integers(0, 23 * 60 - 1))
    closes = draw(st.integers(opens + 1, 24 * 60 - 1))
    return ContactPolicy(
        kind="k",
        steps=tuple(Step(m, draw(st.integers(1, 4))) for m in methods),
        spacing=dt.timedelta(minutes=draw(st.integers(1, 3 * 24 * 60))),
        callable_from=dt.time(opens // 60, opens % 60),
        callable_to=dt.time(closes // 60, closes % 60),
        working_days_only=draw(st.booleans()),
    )


EPOCH = dt.datetime(2004, 1, 1, tzinfo=dt.UTC)
instants = st.integers(0, 24 * 366 * 3600 * 24).map(lambda s: EPOCH + dt.timedelta(seconds=s))
"""Instants from 2004 to 2027 (the official CN years and one beyond, on the weekend rule)."""


@settings(max_examples=500)
@given(policy=policies(), at=instants)
def test_next_callable_is_callable_not_earlier_and_the_instant_itself_when_callable(
    policy: ContactPolicy, at: dt.datetime
) -> None:
    found = next_callable(policy, at, TZ, IS_WORKING)
    assert found >= at
    assert is_callable(policy, found, TZ, IS_WORKING)
    if is_callable(policy, at, TZ, IS_WORKING):
        assert found == at
    else:  # the first window that opens afterwards
        assert found.astimezone(TZ).time() == policy.callable_from


@settings(max_examples=500)
@given(
    policy=policies(),
    at=instants,
    outcomes=st.lists(st.sampled_from(NOT_REACHED), min_size=1, max_size=20),
    skips=st.lists(st.integers(0, 3), min_size=20, max_size=20),
)
def test_rescheduling_respects_spacing_and_hours_and_methods_never_go_back(
    policy: ContactPolicy, at: dt.datetime, outcomes: list[AttemptOutcome], skips: list[int]
) -> None:
    progress = Progress()
    for outcome, skip in zip(outcomes, skips, strict=False):
        # Mostly the current method; sometimes the agent skips ahead (never back).
        index = min(progress.method_index + (skip if skip == 3 else 0), len(policy.steps) - 1)
        decision = after_attempt(
            policy, progress, policy.steps[index].method, outcome, at, TZ, IS_WORKING
        )
        assert decision.progress.method_index >= progress.method_index
        if decision.next is Next.UNREACHABLE:
            assert decision.next_attempt_at is None
            return
        assert decision.next is Next.RESCHEDULE
        assert decision.next_attempt_at is not None
        assert decision.next_attempt_at >= at + policy.spacing
        assert is_callable(policy, decision.next_attempt_at, TZ, IS_WORKING)
        progress, at = decision.progress, decision.next_attempt_at


@settings(max_examples=300)
@given(
    policy=policies(),
    at=instants,
    outcomes=st.lists(
        st.sampled_from([AttemptOutcome.NO_ANSWER, AttemptOutcome.BUSY, AttemptOutcome.VOICEMAIL]),
        min_size=60,
        max_size=60,
    ),
)
def test_exhaustion_after_exactly_the_sum_of_attempts(
    policy: ContactPolicy, at: dt.datetime, outcomes: list[AttemptOutcome]
) -> None:
    progress, methods_used = Progress(), []
    for number, outcome in enumerate(outcomes, start=1):
        method = policy.steps[progress.method_index].method
        methods_used.append(method)
        decision = after_attempt(policy, progress, method, outcome, at, TZ, IS_WORKING)
        if decision.next is Next.UNREACHABLE:
            assert number == policy.total_attempts
            # Each method was used exactly its number of attempts, in the policy's order.
            assert methods_used == [s.method for s in policy.steps for _ in range(s.attempts)]
            return
        assert number < policy.total_attempts
        progress, at = decision.progress, decision.next_attempt_at or at
    pytest.fail("never became unreachable")


@settings(max_examples=300)
@given(
    policy=policies(),
    at=instants,
    outcomes=st.lists(st.sampled_from(NOT_REACHED), min_size=60, max_size=60),
)
def test_wrong_numbers_only_shorten_the_sequence(
    policy: ContactPolicy, at: dt.datetime, outcomes: list[AttemptOutcome]
) -> None:
    progress = Progress()
    for number, outcome in enumerate(outcomes, start=1):
        method = policy.steps[progress.method_index].method
        decision = after_attempt(policy, progress, method, outcome, at, TZ, IS_WORKING)
        if decision.next is Next.UNREACHABLE:
            assert len(policy.steps) <= number <= policy.total_attempts
            return
        progress, at = decision.progress, decision.next_attempt_at or at
    pytest.fail("never became unreachable")
