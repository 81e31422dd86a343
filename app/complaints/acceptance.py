"""Transitions before and at acceptance: materials, accept, reject, transfer, merge (C2–C6)."""

from __future__ import annotations

import uuid
from typing import Any

from app.api.etag import ExpectedVersion
from app.complaints import deadlines, repository
from app.complaints import schemas as s
from app.complaints.models import Complaint
from app.complaints.states import Action, Status
from app.complaints.workflow import (
    Context,
    lock,
    notice_data,
    past_instant,
    record,
    send_notice,
)
from app.core.errors import InvalidInput
from app.events import service as events


async def request_materials(
    ctx: Context, complaint_id: uuid.UUID, body: s.RequestMaterials, expected: ExpectedVersion
) -> Complaint:
    """C2: one supplement notice listing everything missing."""
    complaint, to = await lock(ctx, complaint_id, Action.REQUEST_MATERIALS, expected)
    complaint.materials_missing = list(body.missing)
    counted = await send_notice(ctx, complaint, "supplement", body.notice)
    data = {"missing": body.missing, **notice_data("supplement", body.notice, counted)}
    return await record(ctx, complaint, Action.REQUEST_MATERIALS, to, data=data)


async def receive_materials(
    ctx: Context, complaint_id: uuid.UUID, body: s.ReceiveMaterials, expected: ExpectedVersion
) -> Complaint:
    """Materials arrive: complete → under review, C2 met and C3 starts; else still waiting."""
    complaint, to = await lock(ctx, complaint_id, Action.RECEIVE_MATERIALS, expected)
    if body.still_missing and complaint.status == Status.REGISTERED:
        raise InvalidInput(
            "Materials are incomplete: send the supplement notice with request-materials.",
            field="still_missing",
        )
    received_at = past_instant(ctx, complaint, body.received_at, "received_at")
    complaint.materials_received = [*complaint.materials_received, *body.received]
    complaint.materials_missing = list(body.still_missing)
    data: dict[str, Any] = {"received": body.received, "still_missing": body.still_missing}
    if body.still_missing:
        return await record(
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
    return await record(ctx, complaint, Action.RECEIVE_MATERIALS, to, data=data)


async def accept(
    ctx: Context, complaint_id: uuid.UUID, body: s.Accept, expected: ExpectedVersion
) -> Complaint:
    complaint, to = await lock(ctx, complaint_id, Action.ACCEPT, expected)
    counted = await send_notice(ctx, complaint, "acceptance", body.notice)
    return await record(
        ctx, complaint, Action.ACCEPT, to, data=notice_data("acceptance", body.notice, counted)
    )


async def reject(
    ctx: Context, complaint_id: uuid.UUID, body: s.Reject, expected: ExpectedVersion
) -> Complaint:
    """C4: not accepted, with the ground and the refusal notice. No handling clock remains."""
    complaint, to = await lock(ctx, complaint_id, Action.REJECT, expected)
    complaint.outcome = {"refusal": {"ground": body.ground, "explanation": body.explanation}}
    counted = await send_notice(ctx, complaint, "refusal", body.notice)
    await deadlines.cancel_open(
        ctx.session,
        complaint.id,
        now=ctx.now,
        actor=ctx.actor,
        reason="not accepted",
        keep=frozenset({deadlines.C3, deadlines.C11}),
    )
    data = {"ground": body.ground, **notice_data("refusal", body.notice, counted)}
    return await record(ctx, complaint, Action.REJECT, to, reason=body.explanation, data=data)


async def transfer(
    ctx: Context, complaint_id: uuid.UUID, body: s.Transfer, expected: ExpectedVersion
) -> Complaint:
    """C5: hand over to another unit or department; our own clocks end (the regulator's stays)."""
    complaint, to = await lock(ctx, complaint_id, Action.TRANSFER, expected)
    complaint.outcome = {"transfer": {"target_kind": body.target_kind, "target": body.target_name}}
    await deadlines.cancel_open(
        ctx.session,
        complaint.id,
        now=ctx.now,
        actor=ctx.actor,
        reason="transferred",
        keep=frozenset({deadlines.C11}),
    )
    return await record(
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
    complaint, to = await lock(ctx, complaint_id, Action.MERGE, expected)
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
    return await record(
        ctx,
        complaint,
        Action.MERGE,
        to,
        data={"into": str(original.id), "with_new_facts": body.with_new_facts},
    )
