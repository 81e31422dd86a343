"""Transitions of handling and after: extend, pause, decide, notify, review, withdraw (C7–C10)."""

from __future__ import annotations

import uuid
from typing import Any

from app.access.models import User
from app.access.permissions import Permission
from app.api.etag import ExpectedVersion
from app.callbacks import service as callbacks
from app.complaints import deadlines
from app.complaints import schemas as s
from app.complaints.models import Complaint
from app.complaints.states import NOTICE_KINDS_BY_STATE, Action, Status
from app.complaints.workflow import (
    Context,
    lock,
    notice_data,
    record,
    send_notice,
)
from app.core.clock import BUSINESS_TZ
from app.core.errors import Forbidden, InvalidInput, InvalidTransition


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
    complaint, to = await lock(ctx, complaint_id, Action.EXTEND, expected)
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
        counted = await send_notice(ctx, complaint, "extension", body.notice)
        data |= notice_data("extension", body.notice, counted)
    return await record(ctx, complaint, Action.EXTEND, to, reason=body.reason, data=data)


async def pause(
    ctx: Context, complaint_id: uuid.UUID, body: s.Pause, expected: ExpectedVersion
) -> Complaint:
    complaint, to = await lock(ctx, complaint_id, Action.PAUSE, expected)
    await deadlines.pause_handling(
        ctx.session,
        complaint.id,
        now=ctx.now,
        actor=ctx.actor,
        reason=f"{body.kind}: {body.reason}",
    )
    counted = await send_notice(ctx, complaint, "pause", body.notice)
    return await record(
        ctx,
        complaint,
        Action.PAUSE,
        to,
        reason=body.reason,
        data={"kind": body.kind, **notice_data("pause", body.notice, counted)},
    )


async def resume(
    ctx: Context, complaint_id: uuid.UUID, body: s.Resume, expected: ExpectedVersion
) -> Complaint:
    complaint, to = await lock(ctx, complaint_id, Action.RESUME, expected)
    await deadlines.resume_handling(
        ctx.session, complaint.id, now=ctx.now, actor=ctx.actor, reason=body.reason or "resumed"
    )
    return await record(ctx, complaint, Action.RESUME, to, reason=body.reason)


async def decide(
    ctx: Context, complaint_id: uuid.UUID, body: s.Decide, expected: ExpectedVersion
) -> Complaint:
    complaint, to = await lock(ctx, complaint_id, Action.DECIDE, expected)
    decision = {"findings": body.findings, "reasons": body.reasons, "remedies": body.remedies}
    complaint.outcome = {**complaint.outcome, "decision": decision}
    complaint.decided_at = ctx.now
    return await record(ctx, complaint, Action.DECIDE, to, data={"remedies": body.remedies})


async def notify(
    ctx: Context, complaint_id: uuid.UUID, body: s.Notify, expected: ExpectedVersion
) -> Complaint:
    """Record a notice (C8). A decision notice that counts notifies the decision (C7 met)."""
    complaint, to = await lock(ctx, complaint_id, Action.NOTIFY, expected)
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
    counted = await send_notice(ctx, complaint, body.kind, body)
    if body.kind == "decision" and counted:
        complaint.decision_received_on = body.received_on or sent_on
        # The company owes a follow-up callback on every decided complaint (ch. 5, 回访).
        await callbacks.schedule_complaint_followup(ctx.session, complaint, ctx.now, ctx.actor)
    if not (body.kind == "decision" and counted):
        to = current  # only a counting decision notice moves the complaint
    return await record(
        ctx, complaint, Action.NOTIFY, to, data=notice_data(body.kind, body, counted)
    )


async def close(
    ctx: Context, complaint_id: uuid.UUID, body: s.Close, expected: ExpectedVersion
) -> Complaint:
    complaint, to = await lock(ctx, complaint_id, Action.CLOSE, expected)
    complaint.closed_at = ctx.now
    return await record(ctx, complaint, Action.CLOSE, to, reason=body.note)


async def request_review(
    ctx: Context, complaint_id: uuid.UUID, body: s.RequestReview, expected: ExpectedVersion
) -> Complaint:
    """C9: only within 30 days of receiving the decision; the review clock starts."""
    complaint, to = await lock(ctx, complaint_id, Action.REQUEST_REVIEW, expected)
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
    return await record(
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
    complaint, to = await lock(ctx, complaint_id, Action.DECIDE_REVIEW, expected)
    complaint.outcome = {
        **complaint.outcome,
        "review": {"outcome": body.outcome, "findings": body.findings},
    }
    counted = await send_notice(ctx, complaint, "review_decision", body.notice)
    data = {"outcome": body.outcome, **notice_data("review_decision", body.notice, counted)}
    return await record(ctx, complaint, Action.DECIDE_REVIEW, to, data=data)


async def withdraw(
    ctx: Context, complaint_id: uuid.UUID, body: s.Withdraw, expected: ExpectedVersion
) -> Complaint:
    """C10: the procedure ends the day the withdrawal is received; every clock ends."""
    complaint, to = await lock(ctx, complaint_id, Action.WITHDRAW, expected)
    received_at = body.received_at or ctx.now
    complaint.closed_at = received_at
    await deadlines.cancel_open(
        ctx.session,
        complaint.id,
        now=ctx.now,
        actor=ctx.actor,
        reason="withdrawn by the complainant",
    )
    return await record(
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
    complaint, to = await lock(ctx, complaint_id, Action.ASSIGN, expected)
    assignee = await ctx.session.get(User, body.assignee_id)
    if assignee is None or not assignee.active or assignee.branch_id != complaint.branch_id:
        raise InvalidInput(
            "The assignee must be an active user of the complaint's branch.", field="assignee_id"
        )
    previous = complaint.assignee_id
    complaint.assignee_id = assignee.id
    complaint.team_id = assignee.team_id
    return await record(
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
