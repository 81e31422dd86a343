"""Contact policy: which method to try next, when, and when to give up. Pure: ``now`` and the
working-day test are parameters, so Hypothesis can drive it.

A policy (one per callback kind, seeded as data) lists methods in fallback order with the
attempts allowed on each, the minimum spacing between two attempts, and the callable hours: a
local time window ``[callable_from, callable_to)``, every day or on working days only.

Rules of an attempt:

- ``reached`` or ``refused``: the customer was contacted; the callback is complete.
- ``wrong_number``: the contact data of this method is wrong; the method is used up at once.
- otherwise (no answer, busy, voicemail): one attempt of the method is used; when none are left
  the next method takes over; after the last method the customer is unreachable.
- An agent may skip ahead to a later method of the policy (the customer asked for SMS), never
  go back to an earlier one.
- The next attempt is the first callable instant at least ``spacing`` after the attempt ended.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

IsWorkingDay = Callable[[dt.date], bool]
ONE_DAY = dt.timedelta(days=1)
HORIZON_DAYS = 366
"""How far ahead a callable instant is searched for (a valid policy always finds one in days)."""


class Method(StrEnum):
    PHONE = "phone"
    SMS_QUESTIONNAIRE = "sms_questionnaire"
    ONLINE_QUESTIONNAIRE = "online_questionnaire"
    ON_SITE = "on_site"


class AttemptOutcome(StrEnum):
    REACHED = "reached"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    WRONG_NUMBER = "wrong_number"
    REFUSED = "refused"
    VOICEMAIL = "voicemail"


CONTACTED = frozenset({AttemptOutcome.REACHED, AttemptOutcome.REFUSED})
"""Outcomes in which the customer was on the line: the callback ends."""


class Next(StrEnum):
    COMPLETE = "complete"
    RESCHEDULE = "reschedule"
    UNREACHABLE = "unreachable"


class MethodNotAllowed(ValueError):
    """The method is not in the policy, or comes before the current one."""


@dataclass(frozen=True, slots=True)
class Step:
    method: Method
    attempts: int


@dataclass(frozen=True, slots=True)
class ContactPolicy:
    kind: str
    steps: tuple[Step, ...]
    spacing: dt.timedelta
    callable_from: dt.time
    callable_to: dt.time
    working_days_only: bool

    def __post_init__(self) -> None:
        if not self.steps:
            raise ValueError("a contact policy needs at least one method")
        if any(step.attempts < 1 for step in self.steps):
            raise ValueError("every method needs at least one attempt")
        if len({step.method for step in self.steps}) != len(self.steps):
            raise ValueError("a method appears twice in the fallback order")
        if self.spacing <= dt.timedelta(0):
            raise ValueError("the spacing between attempts must be positive")
        if not self.callable_from < self.callable_to:
            raise ValueError("callable hours must start before they end (same day)")

    @property
    def total_attempts(self) -> int:
        return sum(step.attempts for step in self.steps)


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a callback is in its policy: the current method and the attempts used on it."""

    method_index: int = 0
    attempts_on_method: int = 0


@dataclass(frozen=True, slots=True)
class Decision:
    next: Next
    progress: Progress
    next_attempt_at: dt.datetime | None
    """When the callback may be tried again (rescheduled only), in UTC."""
    method_switched: bool


def current_method(policy: ContactPolicy, progress: Progress) -> Method:
    return policy.steps[progress.method_index].method


def method_index(policy: ContactPolicy, progress: Progress, method: Method) -> int:
    """The policy position of ``method``, which must be the current method or a later one."""
    for index, step in enumerate(policy.steps):
        if step.method is method:
            if index < progress.method_index:
                raise MethodNotAllowed(
                    f"{method} was already used up; the current method is "
                    f"{current_method(policy, progress)}"
                )
            return index
    allowed = ", ".join(step.method for step in policy.steps)
    raise MethodNotAllowed(f"{method} is not a method of the {policy.kind} policy ({allowed})")


def is_callable(
    policy: ContactPolicy, instant: dt.datetime, tz: ZoneInfo, is_working_day: IsWorkingDay
) -> bool:
    """Whether ``instant`` is inside the policy's callable hours (and on an allowed day)."""
    local = instant.astimezone(tz)
    if policy.working_days_only and not is_working_day(local.date()):
        return False
    return policy.callable_from <= local.time() < policy.callable_to


def next_callable(
    policy: ContactPolicy, earliest: dt.datetime, tz: ZoneInfo, is_working_day: IsWorkingDay
) -> dt.datetime:
    """The first callable instant at or after ``earliest`` (UTC)."""
    if earliest.tzinfo is None:
        raise ValueError("instants must be timezone-aware")
    local = earliest.astimezone(tz)
    day = local.date()
    for _ in range(HORIZON_DAYS):
        if not policy.working_days_only or is_working_day(day):
            opens = dt.datetime.combine(day, policy.callable_from, tzinfo=tz)
            closes = dt.datetime.combine(day, policy.callable_to, tzinfo=tz)
            if local < closes:
                return max(local, opens).astimezone(dt.UTC)
        day += ONE_DAY
    raise ValueError(f"no callable day within {HORIZON_DAYS} days of {earliest.isoformat()}")


def after_attempt(
    policy: ContactPolicy,
    progress: Progress,
    method: Method,
    outcome: AttemptOutcome,
    ended_at: dt.datetime,
    tz: ZoneInfo,
    is_working_day: IsWorkingDay,
) -> Decision:
    """What follows an attempt by ``method`` that ended at ``ended_at`` with ``outcome``.

    Raises :class:`MethodNotAllowed` for a method the policy does not allow now.
    """
    index = method_index(policy, progress, method)
    used = (progress.attempts_on_method if index == progress.method_index else 0) + 1
    switched = index != progress.method_index
    if outcome in CONTACTED:
        return Decision(Next.COMPLETE, Progress(index, used), None, switched)
    if outcome is AttemptOutcome.WRONG_NUMBER or used >= policy.steps[index].attempts:
        index, used, switched = index + 1, 0, True
        if index == len(policy.steps):
            return Decision(
                Next.UNREACHABLE, Progress(index - 1, policy.steps[-1].attempts), None, True
            )
    at = next_callable(policy, ended_at + policy.spacing, tz, is_working_day)
    return Decision(Next.RESCHEDULE, Progress(index, used), at, switched)


def callable_kinds(
    policies: Iterable[ContactPolicy], now: dt.datetime, tz: ZoneInfo, is_working_day: IsWorkingDay
) -> list[str]:
    """The kinds whose callable hours include ``now`` (the queue offers only these)."""
    return sorted(p.kind for p in policies if is_callable(p, now, tz, is_working_day))
