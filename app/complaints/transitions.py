"""One function per complaint transition: lock, check version and table, change, record.

Order of checks: the row is locked (``FOR UPDATE``) first, so concurrent actions queue; then a
stale ``If-Match`` is 412; then an action the table does not allow from the current state is
409. Each transition appends exactly one timeline event and moves the clocks as the rules say.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.access.models import User
from app.access.permissions import Permission
from app.access.principal import Principal
from app.api.etag import ANY_VERSION, ExpectedVersion
from app.complaints import deadlines, notices, repository
from app.complaints import schemas as s
from app.complaints.models import Complaint, ComplaintNotice
from app.complaints.states import NOTICE_KINDS_BY_STATE, Action, Status, target
from app.core.clock import BUSINESS_TZ
from app.core.errors import Forbidden, InvalidInput, InvalidTransition, NotFound, StaleVersion
from app.events import service as events

CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Context:
    session: AsyncSession
    principal: Principal
    now: datetime

    @property
    def actor(self) -> str:
        return self.principal.actor


async def _lock(
    ctx: Context, complaint_id: uuid.UUID, action: Action, expected: ExpectedVersion
) -> tuple[Complaint, Status]:
    complaint = await repository.get(ctx.session, ctx.principal, complaint_id, lock=True)
    if complaint is None:
        raise NotFound(f"Complaint {complaint_id} does not exist.")
    if expected != ANY_VERSION and complaint.version != expected:
        raise StaleVersion(
            f"Complaint {complaint.number} is at version {complaint.version}; reload it.",
            current_etag=f'"v{complaint.version}"',
        )
    destination = target(action, Status(complaint.status))
    if destination is None:
        raise InvalidTransition(complaint.status, action.value)
    return complaint, destination


async def _record(
    ctx: Context,
    complaint: Complaint,
    action: Action,
    to: Status,
    *,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> Complaint:
    previous = complaint.status
    complaint.status = to.value
    complaint.version += 1
    complaint.updated_at = ctx.now
    await ctx.session.flush()
    await events.append(
        ctx.session,
        ticket_kind="complaint",
        ticket_id=complaint.id,
        at=ctx.now,
        actor=ctx.actor,
        action=action.value,
        from_status=previous,
        to_status=to.value,
        reason=reason,
        data=data or {},
    )
    return complaint


async def _notice(ctx: Context, complaint: Complaint, kind: str, notice: s.NoticeIn) -> bool:
    """Record a notice; stop the clock it completes if it counts. Returns whether it counted.

    The clock stops when the notice was sent, which may be before it was recorded here.
    """
    sent_at = _past_instant(ctx, complaint, notice.sent_at, "notice.sent_at")
    counted = notices.counts(notice.mode, notice.delivery)
    ctx.session.add(
        ComplaintNotice(
            id=uuid.uuid4(),
            complaint_id=complaint.id,
            kind=kind,
            mode=notice.mode,
            sent_at=sent_at,
            delivery=notice.delivery,
            proof_ref=notice.proof_ref,
            template_id=notice.template_id,
            content=notice.content,
            counted=counted,
            recorded_by=ctx.actor,
        )
    )
    await ctx.session.flush()
    completes = notices.CLOCK_STOPPED_BY.get(kind)  # extension and pause notices stop none
    if counted and completes is not None:
        await deadlines.stop(
            ctx.session,
            complaint.id,
            completes,
            now=sent_at,
            actor=ctx.actor,
            reason=f"{kind} notice sent",
        )
    return counted


def _past_instant(
    ctx: Context, complaint: Complaint, given: datetime | None, field: str
) -> datetime:
    """When something happened: now by default; never in the future or before the receipt."""
    instant = given or ctx.now
    if instant > ctx.now + CLOCK_SKEW:
        raise InvalidInput(f"{field} is in the future.", field=field)
    if instant < complaint.received_at:
        raise InvalidInput(f"{field} is before the complaint was received.", field=field)
    return instant


def _notice_data(kind: str, notice: s.NoticeIn, counted: bool) -> dict[str, Any]:
    return {
        "notice": {
            "kind": kind,
            "mode": notice.mode,
            "delivery": notice.delivery,
            "counted": counted,
        }
    }


async def request_materials(
    ctx: Context, complaint_id: uuid.UUID, body: s.RequestMaterials, expected: ExpectedVersion
) -> Complaint:
    """C2: one supplement notice listing everything missing."""
    complaint, to = await _lock(ctx, complaint_id, Action.REQUEST_MATERIALS, expected)
    complaint.materials_missing = list(body.missing)
    counted = await _notice(ctx, complaint, "supplement", body.notice)
    data = {"missing": body.missing, **_notice_data("supplement", body.notice, counted)}
    return await _record(ctx, complaint, Action.REQUEST_MATERIALS, to, data=data)


async def receive_materials(
    ctx: Context, complaint_id: uuid.UUID, body: s.ReceiveMaterials, expected: ExpectedVersion
) -> Complaint:
    """Materials arrive: complete → under review, C2 met and C3 starts; else still waiting."""
    complaint, to = await _lock(ctx, complaint_id, Action.RECEIVE_MATERIALS, expected)
    if body.still_missing and complaint.status == Status.REGISTERED:
        raise InvalidInput(
            "Materials are incomplete: send the supplement notice with request-materials.",
            field="still_missing",
        )
    received_at = _past_instant(ctx, complaint, body.received_at, "received_at")
    complaint.materials_received = [*complaint.materials_received, *body.received]
    complaint.materials_missing = list(body.still_missing)
    data: dict[str, Any] = {"received": body.received, "still_missing": body.still_missing}
    if body.still_missing:
        return await _record(
            ctx, complaint, Action.RECEIVE_MATERIALS, Status(complaint.status), data=data
        )
    complaint.materials_complete_at = received_at
    await deadlines.stop(
        ctx.session,
        complaint.id,
        deadlines.C2,
        now=received_at,
        actor=ctx.actor,
        reason="materials confirmed complete",
    )
    await deadlines.start(
        ctx.session,
        complaint.id,
        deadlines.C3,
        started_at=received_at,
        rule_set_version=complaint.rule_set_version,
        now=ctx.now,
        actor=ctx.actor,
    )
    return await _record(ctx, complaint, Action.RECEIVE_MATERIALS, to, data=data)


async def accept(
    ctx: Context, complaint_id: uuid.UUID, body: s.Accept, expected: ExpectedVersion
) -> Complaint:
    complaint, to = await _lock(ctx, complaint_id, Action.ACCEPT, expected)
    counted = await _notice(ctx, complaint, "acceptance", body.notice)
    return await _record(
        ctx, complaint, Action.ACCEPT, to, data=_notice_data("acceptance", body.notice, counted)
    )


async def reject(
    ctx: Context, complaint_id: uuid.UUID, body: s.Reject, expected: ExpectedVersion
) -> Complaint:
    """C4: not accepted, with the ground and the refusal notice. No handling clock remains."""
    complaint, to = await _lock(ctx, complaint_id, Action.REJECT, expected)
    complaint.outcome = {"refusal": {"ground": body.ground, "explanation": body.explanation}}
    counted = await _notice(ctx, complaint, "refusal", body.notice)
    await deadlines.cancel_open(
        ctx.session,
        complaint.id,
        now=ctx.now,
        actor=ctx.actor,
        reason="not accepted",
        keep=frozenset({deadlines.C3, deadlines.C11}),
    )
    data = {"ground": body.ground, **_notice_data("refusal", body.notice, counted)}
    return await _record(ctx, complaint, Action.REJECT, to, reason=body.explanation, data=data)


async def transfer(
    ctx: Context, complaint_id: uuid.UUID, body: s.Transfer, expected: ExpectedVersion
) -> Complaint:
    """C5: hand over to another unit or department; our own clocks end (the regulator's stays)."""
    complaint, to = await _lock(ctx, complaint_id, Action.TRANSFER, expected)
    complaint.outcome = {"transfer": {"target_kind": body.target_kind, "target": body.target_name}}
    await deadlines.cancel_open(
        ctx.session,
        complaint.id,
        now=ctx.now,
        actor=ctx.actor,
        reason="transferred",
        keep=frozenset({deadlines.C11}),
    )
    return await _record(
        ctx,
        complaint,
        Action.TRANSFER,
        to,
        reason=body.reason,
        data={"target_kind": body.target_kind, "target": body.target_name},
    )


async def merge(
    ctx: Context, complaint_id: uuid.UUID, body: s.Merge, expected: ExpectedVersion
) -> Complaint:
    """C6: the same complaint again; with new facts the original's handling clock restarts."""
    if body.into_complaint_id == complaint_id:
        raise InvalidInput("A complaint cannot be merged into itself.", field="into_complaint_id")
    complaint, to = await _lock(ctx, complaint_id, Action.MERGE, expected)
    original = await repository.get(ctx.session, ctx.principal, body.into_complaint_id, lock=True)
    if original is None or Status(original.status) not in {Status.INVESTIGATING, Status.PAUSED}:
        raise InvalidInput(
            "The original must be a complaint in handling that you can see.",
            field="into_complaint_id",
        )
    complaint.merged_into_id = original.id
    await deadlines.cancel_open(
        ctx.session,
        complaint.id,
        now=ctx.now,
        actor=ctx.actor,
        reason=f"merged into {original.number}",
    )
    restarted = False
    if body.with_new_facts:
        restarted = await deadlines.restart_handling(
            ctx.session,
            original.id,
            started_at=body.new_materials_received_at or complaint.received_at,
            now=ctx.now,
            actor=ctx.actor,
            reason=f"new facts from {complaint.number}",
        )
    await events.append(
        ctx.session,
        ticket_kind="complaint",
        ticket_id=original.id,
        at=ctx.now,
        actor=ctx.actor,
        action="merged_in",
        reason=None,
        data={
            "from": str(complaint.id),
            "with_new_facts": body.with_new_facts,
            "handling_clock_restarted": restarted,
        },
    )
    return await _record(
        ctx,
        complaint,
        Action.MERGE,
        to,
        data={"into": str(original.id), "with_new_facts": body.with_new_facts},
    )


async def extend(
    ctx: Context, complaint_id: uuid.UUID, body: s.Extend, expected: ExpectedVersion
) -> Complaint:
    """C7: complex → 30 days; especially complex → 60 days, by a supervisor, with a notice."""
    if body.to_days == 60:
        if not ctx.principal.can(Permission.TICKETS_SUPERVISE):
            raise Forbidden("An extension to 60 days needs a supervisor.")
        if body.approver is None or body.notice is None:
            raise InvalidInput(
                "An extension to 60 days needs an approver and a notice.",
                field="approver" if body.approver is None else "notice",
            )
    complaint, to = await _lock(ctx, complaint_id, Action.EXTEND, expected)
    if body.to_days <= complaint.handling_limit_days:
        raise InvalidInput(
            f"The limit is already {complaint.handling_limit_days} days.", field="to_days"
        )
    await deadlines.extend_handling(
        ctx.session,
        complaint.id,
        days=body.to_days,
        reason=body.reason,
        approver=body.approver or ctx.actor,
        now=ctx.now,
        actor=ctx.actor,
    )
    complaint.handling_limit_days = body.to_days
    data: dict[str, Any] = {"to_days": body.to_days, "approver": body.approver}
    if body.notice is not None:
        counted = await _notice(ctx, complaint, "extension", body.notice)
        data |= _notice_data("extension", body.notice, counted)
    return await _record(ctx, complaint, Action.EXTEND, to, reason=body.reason, data=data)


async def pause(
    ctx: Context, complaint_id: uuid.UUID, body: s.Pause, expected: ExpectedVersion
) -> Complaint:
    complaint, to = await _lock(ctx, complaint_id, Action.PAUSE, expected)
    await deadlines.pause_handling(
        ctx.session,
        complaint.id,
        now=ctx.now,
        actor=ctx.actor,
        reason=f"{body.kind}: {body.reason}",
    )
    counted = await _notice(ctx, complaint, "pause", body.notice)
    return await _record(
        ctx,
        complaint,
        Action.PAUSE,
        to,
        reason=body.reason,
        data={"kind": body.kind, **_notice_data("pause", body.notice, counted)},
    )


async def resume(
    ctx: Context, complaint_id: uuid.UUID, body: s.Resume, expected: ExpectedVersion
) -> Complaint:
    complaint, to = await _lock(ctx, complaint_id, Action.RESUME, expected)
    await deadlines.resume_handling(
        ctx.session, complaint.id, now=ctx.now, actor=ctx.actor, reason=body.reason or "resumed"
    )
    return await _record(ctx, complaint, Action.RESUME, to, reason=body.reason)


async def decide(
    ctx: Context, complaint_id: uuid.UUID, body: s.Decide, expected: ExpectedVersion
) -> Complaint:
    complaint, to = await _lock(ctx, complaint_id, Action.DECIDE, expected)
    decision = {"findings": body.findings, "reasons": body.reasons, "remedies": body.remedies}
    complaint.outcome = {**complaint.outcome, "decision": decision}
    complaint.decided_at = ctx.now
    return await _record(ctx, complaint, Action.DECIDE, to, data={"remedies": body.remedies})


async def notify(
    ctx: Context, complaint_id: uuid.UUID, body: s.Notify, expected: ExpectedVersion
) -> Complaint:
    """Record a notice (C8). A decision notice that counts notifies the decision (C7 met)."""
    complaint, to = await _lock(ctx, complaint_id, Action.NOTIFY, expected)
    current = Status(complaint.status)
    if body.kind not in NOTICE_KINDS_BY_STATE[current]:
        raise InvalidTransition(
            current.value,
            f"notify:{body.kind}",
            f"A {body.kind} notice does not fit a {current.value} complaint.",
        )
    if body.kind == "regulator_report" and complaint.regulator_ref is None:
        raise InvalidInput("Only a regulator referral has a report to send.", field="kind")
    sent_on = (body.sent_at or ctx.now).astimezone(BUSINESS_TZ).date()
    if body.received_on is not None and body.received_on < sent_on:
        raise InvalidInput("received_on cannot be before the notice was sent.", field="received_on")
    counted = await _notice(ctx, complaint, body.kind, body)
    if body.kind == "decision" and counted:
        complaint.decision_received_on = body.received_on or sent_on
    if not (body.kind == "decision" and counted):
        to = current  # only a counting decision notice moves the complaint
    return await _record(
        ctx, complaint, Action.NOTIFY, to, data=_notice_data(body.kind, body, counted)
    )


async def close(
    ctx: Context, complaint_id: uuid.UUID, body: s.Close, expected: ExpectedVersion
) -> Complaint:
    complaint, to = await _lock(ctx, complaint_id, Action.CLOSE, expected)
    complaint.closed_at = ctx.now
    return await _record(ctx, complaint, Action.CLOSE, to, reason=body.note)


async def request_review(
    ctx: Context, complaint_id: uuid.UUID, body: s.RequestReview, expected: ExpectedVersion
) -> Complaint:
    """C9: only within 30 days of receiving the decision; the review clock starts."""
    complaint, to = await _lock(ctx, complaint_id, Action.REQUEST_REVIEW, expected)
    requested_at = body.requested_at or ctx.now
    last_day = await deadlines.review_window_end(ctx.session, complaint)
    if requested_at.astimezone(BUSINESS_TZ).date() > last_day:
        raise ReviewWindowClosed(
            f"A review could be requested until {last_day.isoformat()} (30 days from receiving"
            " the decision).",
            last_day=last_day.isoformat(),
        )
    await deadlines.start(
        ctx.session,
        complaint.id,
        deadlines.C9B,
        started_at=requested_at,
        rule_set_version=complaint.rule_set_version,
        now=ctx.now,
        actor=ctx.actor,
    )
    return await _record(
        ctx,
        complaint,
        Action.REQUEST_REVIEW,
        to,
        reason=body.reason,
        data={"requested_at": requested_at.isoformat()},
    )


async def decide_review(
    ctx: Context, complaint_id: uuid.UUID, body: s.DecideReview, expected: ExpectedVersion
) -> Complaint:
    complaint, to = await _lock(ctx, complaint_id, Action.DECIDE_REVIEW, expected)
    complaint.outcome = {
        **complaint.outcome,
        "review": {"outcome": body.outcome, "findings": body.findings},
    }
    counted = await _notice(ctx, complaint, "review_decision", body.notice)
    data = {"outcome": body.outcome, **_notice_data("review_decision", body.notice, counted)}
    return await _record(ctx, complaint, Action.DECIDE_REVIEW, to, data=data)


async def withdraw(
    ctx: Context, complaint_id: uuid.UUID, body: s.Withdraw, expected: ExpectedVersion
) -> Complaint:
    """C10: the procedure ends the day the withdrawal is received; every clock ends."""
    complaint, to = await _lock(ctx, complaint_id, Action.WITHDRAW, expected)
    received_at = body.received_at or ctx.now
    complaint.closed_at = received_at
    await deadlines.cancel_open(
        ctx.session,
        complaint.id,
        now=ctx.now,
        actor=ctx.actor,
        reason="withdrawn by the complainant",
    )
    return await _record(
        ctx,
        complaint,
        Action.WITHDRAW,
        to,
        reason=body.reason,
        data={"received_at": received_at.isoformat()},
    )


async def assign(
    ctx: Context, complaint_id: uuid.UUID, body: s.Assign, expected: ExpectedVersion
) -> Complaint:
    complaint, to = await _lock(ctx, complaint_id, Action.ASSIGN, expected)
    assignee = await ctx.session.get(User, body.assignee_id)
    if assignee is None or not assignee.active or assignee.branch_id != complaint.branch_id:
        raise InvalidInput(
            "The assignee must be an active user of the complaint's branch.", field="assignee_id"
        )
    previous = complaint.assignee_id
    complaint.assignee_id = assignee.id
    complaint.team_id = assignee.team_id
    return await _record(
        ctx,
        complaint,
        Action.ASSIGN,
        to,
        data={"from": str(previous) if previous else None, "to": str(assignee.id)},
    )


class ReviewWindowClosed(InvalidInput):
    code = "review_window_closed"
    title = "The review window has closed."


# Dispatch by action, for the router: each takes (ctx, id, body, expected).
HANDLERS = {
    Action.REQUEST_MATERIALS: (request_materials, s.RequestMaterials),
    Action.RECEIVE_MATERIALS: (receive_materials, s.ReceiveMaterials),
    Action.ACCEPT: (accept, s.Accept),
    Action.REJECT: (reject, s.Reject),
    Action.TRANSFER: (transfer, s.Transfer),
    Action.MERGE: (merge, s.Merge),
    Action.EXTEND: (extend, s.Extend),
    Action.PAUSE: (pause, s.Pause),
    Action.RESUME: (resume, s.Resume),
    Action.DECIDE: (decide, s.Decide),
    Action.NOTIFY: (notify, s.Notify),
    Action.CLOSE: (close, s.Close),
    Action.REQUEST_REVIEW: (request_review, s.RequestReview),
    Action.DECIDE_REVIEW: (decide_review, s.DecideReview),
    Action.WITHDRAW: (withdraw, s.Withdraw),
    Action.ASSIGN: (assign, s.Assign),
}
