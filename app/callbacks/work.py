"""The shared work queue and the callback transitions: claim, attempt, release, cancel.

Order of checks for a transition on one callback: the row is locked (``FOR UPDATE``) first,
so concurrent actions queue; a stale ``If-Match`` is 412; an action the table does not allow
from the current state is 409; an agent acting on a callback held by someone else is 409
(``not_holder``). Each transition appends exactly one timeline event.

The queue: ``claim_next`` takes the most urgent callable callback with ``FOR UPDATE SKIP
LOCKED``, so concurrent agents never wait on, nor get, the same row. A hold lasts
``hold`` (setting ``CONTACT_DESK_CALLBACK_HOLD_MINUTES``) without an attempt; an expired hold is
simply claimable again (the claim query treats it as free), so no background job is needed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.access.permissions import Permission
from app.access.principal import Principal
from app.api.etag import ANY_VERSION, ExpectedVersion
from app.calendar import service as calendar_service
from app.callbacks import policy, repository, service
from app.callbacks import schemas as s
from app.callbacks.models import (
    Callback,
    CallbackAttempt,
    CallbackCompletion,
)
from app.callbacks.policy import (
    AttemptOutcome,
    Decision,
    Method,
    MethodNotAllowed,
    Next,
    Progress,
)
from app.callbacks.questionnaire import Questionnaire, check_answers
from app.callbacks.states import (
    TERMINAL,
    Action,
    Outcome,
    State,
    is_allowed,
    release_target,
    targets,
)
from app.core.errors import Conflict, InvalidInput, InvalidTransition, NotFound, StaleVersion
from app.events import service as events

CLOCK_SKEW = dt.timedelta(minutes=5)


class NotHolder(Conflict):
    code = "not_holder"
    title = "Another agent holds this callback."


class UnreportedFinding(InvalidInput):
    code = "unreported_finding"
    title = "A confirmation was answered otherwise than expected, but no problem is reported."


@dataclass(frozen=True)
class Context:
    session: AsyncSession
    principal: Principal
    now: dt.datetime

    @property
    def actor(self) -> str:
        return self.principal.actor


async def _record(
    ctx: Context,
    callback: Callback,
    action: Action,
    to: State,
    *,
    held_until: dt.datetime | None = None,
    outcome: Outcome | None = None,
    closed_at: dt.datetime | None = None,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> Callback:
    """Move to ``to`` with the fields that go with it (hold, outcome), all in one flush."""
    previous = callback.state
    assert is_allowed(action, State(previous), to), (action, previous, to)
    assert (to in TERMINAL) == (outcome is not None)
    callback.state = to.value
    callback.held_until = held_until if to is State.IN_PROGRESS else None
    if outcome is not None:
        callback.outcome, callback.closed_at = outcome.value, closed_at or ctx.now
    callback.version += 1
    callback.updated_at = ctx.now
    await ctx.session.flush()
    await events.append(
        ctx.session,
        ticket_kind="callback",
        ticket_id=callback.id,
        at=ctx.now,
        actor=ctx.actor,
        action=action.value,
        from_status=previous,
        to_status=to.value,
        reason=reason,
        data=data or {},
    )
    return callback


async def _lock(
    ctx: Context, callback_id: uuid.UUID, action: Action, expected: ExpectedVersion
) -> Callback:
    callback = await repository.get(ctx.session, ctx.principal, callback_id, lock=True)
    if callback is None:
        raise NotFound(f"Callback {callback_id} does not exist.")
    if expected != ANY_VERSION and callback.version != expected:
        raise StaleVersion(
            f"Callback {callback.number} is at version {callback.version}; reload it.",
            current_etag=f'"v{callback.version}"',
        )
    if not targets(action, State(callback.state)):
        raise InvalidTransition(callback.state, action.value)
    return callback


def _check_holder(ctx: Context, callback: Callback, *, supervisor_may: bool = False) -> None:
    if callback.assignee_id == ctx.principal.id:
        return
    if supervisor_may and ctx.principal.can(Permission.TICKETS_SUPERVISE):
        return
    raise NotHolder(f"Callback {callback.number} is held by another agent; claim your own.")


# --- the queue ----------------------------------------------------------------------------------


async def claim_next(
    ctx: Context,
    *,
    hold: dt.timedelta,
    kind: str | None = None,
    team_id: uuid.UUID | None = None,
) -> Callback | None:
    """The most urgent callable callback, now held for this agent; ``None`` if there is none.

    An agent holds one callback at a time: while its hold lasts, claiming again returns it
    (a retried request gets the same answer).
    """
    held = await repository.current_hold(ctx.session, ctx.principal, ctx.now)
    if held is not None:
        return held
    view = await calendar_service.get_view(ctx.session, service.CALENDAR)
    policies = [r.policy for r in (await repository.rules(ctx.session)).values()]
    kinds = policy.callable_kinds(policies, ctx.now, view.time_zone, view.days.is_working_day)
    if kind is not None:
        kinds = [k for k in kinds if k == kind]
    if not kinds:
        return None
    callback = await repository.lock_next_claimable(
        ctx.session, ctx.principal, now=ctx.now, kinds=kinds, team_id=team_id
    )
    if callback is None:
        return None
    data: dict[str, Any] = {"held_until": (ctx.now + hold).isoformat()}
    if callback.state == State.IN_PROGRESS:
        # The previous holder's hold expired without an attempt: the queue took it back.
        expired_at = callback.held_until.isoformat() if callback.held_until else None
        data |= {"expired_hold_of": str(callback.assignee_id), "expired_at": expired_at}
    callback.assignee_id = ctx.principal.id
    return await _record(
        ctx, callback, Action.CLAIM, State.IN_PROGRESS, held_until=ctx.now + hold, data=data
    )


async def release(
    ctx: Context, callback_id: uuid.UUID, body: s.Release, expected: ExpectedVersion
) -> Callback:
    """Give the hold back: to the queue as it was (a supervisor may release anyone's hold)."""
    callback = await _lock(ctx, callback_id, Action.RELEASE, expected)
    _check_holder(ctx, callback, supervisor_may=True)
    to = release_target(callback.attempts_made)
    return await _record(
        ctx,
        callback,
        Action.RELEASE,
        to,
        reason=body.reason,
        data={"holder": str(callback.assignee_id)},
    )


async def cancel(
    ctx: Context, callback_id: uuid.UUID, body: s.Cancel, expected: ExpectedVersion
) -> Callback:
    """The callback is moot (policy surrendered in the cooling-off period, customer deceased,
    duplicate…); its clocks are cancelled (a breach already recorded stays)."""
    callback = await _lock(ctx, callback_id, Action.CANCEL, expected)
    await _record(
        ctx, callback, Action.CANCEL, State.CANCELLED, outcome=Outcome.CANCELLED, reason=body.reason
    )
    await service.end_clocks(
        ctx.session, callback.id, met=False, at=ctx.now, now=ctx.now, actor=ctx.actor,
        reason=f"callback cancelled: {body.reason}",
    )  # fmt: skip
    return callback


# --- attempts -----------------------------------------------------------------------------------


def _attempt_times(
    ctx: Context, callback: Callback, body: s.AttemptIn
) -> tuple[dt.datetime, dt.datetime]:
    ended_at = body.ended_at or ctx.now
    started_at = body.started_at or ended_at
    if ended_at > ctx.now + CLOCK_SKEW:
        raise InvalidInput("ended_at is in the future.", field="ended_at")
    if started_at > ended_at:
        raise InvalidInput("started_at must not be after ended_at.", field="started_at")
    if started_at < callback.created_at - CLOCK_SKEW:
        raise InvalidInput("The attempt started before the callback existed.", field="started_at")
    return started_at, ended_at


async def _decide(
    ctx: Context, callback: Callback, body: s.AttemptIn, ended_at: dt.datetime
) -> tuple[repository.KindRules, Decision]:
    """The kind's policy and what it says follows this attempt (422 for a method it refuses)."""
    kind = (await repository.rules(ctx.session))[callback.kind]
    view = await calendar_service.get_view(ctx.session, service.CALENDAR)
    try:
        decision = policy.after_attempt(
            kind.policy,
            Progress(callback.method_index, callback.attempts_on_method),
            Method(body.method),
            AttemptOutcome(body.outcome),
            ended_at,
            view.time_zone,
            view.days.is_working_day,
        )
    except MethodNotAllowed as exc:
        raise InvalidInput(str(exc), field="method") from exc
    return kind, decision


def _attempt_row(
    ctx: Context,
    callback: Callback,
    body: s.AttemptIn,
    started_at: dt.datetime,
    ended_at: dt.datetime,
) -> CallbackAttempt:
    return CallbackAttempt(
        id=uuid.uuid4(),
        callback_id=callback.id,
        number=callback.attempts_made + 1,
        method=body.method,
        outcome=body.outcome,
        agent_id=ctx.principal.id if ctx.principal.kind == "user" else None,
        actor=ctx.actor,
        started_at=started_at,
        ended_at=ended_at,
        notes=body.notes,
        recording_ref=body.recording_ref,
    )


async def record_attempt(
    ctx: Context, callback_id: uuid.UUID, body: s.AttemptIn, expected: ExpectedVersion
) -> Callback:
    """Record the holder's attempt and apply the contact policy: completed (reached or
    refused, with the written record), rescheduled (the next attempt time, perhaps the next
    method) or unreachable (every method used up)."""
    callback = await _lock(ctx, callback_id, Action.ATTEMPT, expected)
    _check_holder(ctx, callback)
    started_at, ended_at = _attempt_times(ctx, callback, body)
    kind, decision = await _decide(ctx, callback, body, ended_at)
    attempt = _attempt_row(ctx, callback, body, started_at, ended_at)
    ctx.session.add(attempt)
    await ctx.session.flush()
    callback.attempts_made = attempt.number
    callback.last_attempt_at = ended_at
    callback.method_index = decision.progress.method_index
    callback.attempts_on_method = decision.progress.attempts_on_method
    data: dict[str, Any] = {
        "attempt": attempt.number,
        "method": body.method,
        "outcome": body.outcome,
        "method_switched": decision.method_switched,
    }
    ended: Outcome | None = None
    if decision.next is Next.COMPLETE:
        to = State.COMPLETED
        ended = await _complete(ctx, callback, attempt, kind.questionnaire_code, body, data)
    elif decision.next is Next.RESCHEDULE:
        assert decision.next_attempt_at is not None
        to = State.RESCHEDULED
        callback.next_attempt_at = decision.next_attempt_at
        data |= {
            "next_attempt_at": decision.next_attempt_at.isoformat(),
            "next_method": kind.policy.steps[decision.progress.method_index].method.value,
        }
    else:
        to, ended = State.UNREACHABLE, Outcome.UNREACHABLE
    await _record(
        ctx, callback, Action.ATTEMPT, to, outcome=ended, closed_at=ended_at, reason=body.notes,
        data=data,
    )  # fmt: skip
    if ended is not None:
        contacted = ended is not Outcome.UNREACHABLE
        await service.end_clocks(
            ctx.session, callback.id, met=contacted, at=ended_at, now=ctx.now, actor=ctx.actor,
            reason=f"callback completed ({ended.value})" if contacted
            else "customer unreachable: every contact method used up",
        )  # fmt: skip
    return callback


async def _complete(
    ctx: Context,
    callback: Callback,
    attempt: CallbackAttempt,
    questionnaire_code: str,
    body: s.AttemptIn,
    data: dict[str, Any],
) -> Outcome:
    """The customer was contacted: keep the written record; a problem found opens a follow-up."""
    outcome = Outcome.REACHED if body.outcome == "reached" else Outcome.REFUSED
    record = CallbackCompletion(
        callback_id=callback.id,
        attempt_id=attempt.id,
        outcome=outcome.value,
        answers={},
        problem_found=False,
        recorded_by=ctx.actor,
        recorded_at=ctx.now,
    )
    if body.completion is not None:
        await _check_completion(ctx, questionnaire_code, body.completion)
        completion = body.completion
        record.questionnaire_code = questionnaire_code
        record.answers = dict(completion.answers)
        record.satisfaction = completion.satisfaction
        record.problem_found = completion.problem_found
        record.problem_description = completion.problem_description
        if completion.problem_found:
            assert completion.problem_description is not None
            follow_up = await service.open_problem_follow_up(
                ctx.session, callback, completion.problem_description, now=ctx.now, actor=ctx.actor
            )
            record.follow_up_id = follow_up.id
            data["follow_up"] = str(follow_up.id)
    ctx.session.add(record)
    return outcome


async def _check_completion(ctx: Context, code: str, completion: s.CompletionIn) -> None:
    row = await repository.questionnaire(ctx.session, code)
    assert row is not None  # the policy's questionnaire is a foreign key
    template = Questionnaire.from_data(
        code=row.code,
        kind=row.kind,
        title=row.title,
        items=row.items,
        satisfaction_required=row.satisfaction_required,
    )
    checked = check_answers(template, completion.answers)
    if checked.issues:
        first = checked.issues[0]
        raise InvalidInput(
            f"{first.field} {first.message}.",
            field=f"completion.{first.field}",
            errors=[
                {"loc": ["body", "completion", *i.field.split(".")], "msg": i.message,
                 "type": "questionnaire"}
                for i in checked.issues
            ],
        )  # fmt: skip
    if template.satisfaction_required and completion.satisfaction is None:
        raise InvalidInput(
            f"Questionnaire {code} needs a satisfaction score (1–5).",
            field="completion.satisfaction",
        )
    if checked.findings and not completion.problem_found:
        raise UnreportedFinding(
            f"Answered otherwise than expected: {', '.join(checked.findings)}. Record"
            " problem_found with a description, so that the customer gets a follow-up.",
            field="completion.problem_found",
            findings=checked.findings,
        )
