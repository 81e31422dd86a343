"""One function per inquiry transition: lock, check version and table, change, record.

Same order as complaints: the row is locked first (concurrent actions queue), a stale
``If-Match`` is 412, an action the table does not allow is 409. Each transition appends one
timeline event and moves the answer clock.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.access.pii import PiiCodec
from app.access.principal import Principal
from app.api.etag import ANY_VERSION, ExpectedVersion
from app.clocks import subjects
from app.complaints import service as complaints
from app.complaints.schemas import ComplaintCreate
from app.core.errors import InvalidInput, InvalidTransition, NotFound, StaleVersion
from app.events import service as events
from app.inquiries import repository
from app.inquiries import schemas as s
from app.inquiries.models import Inquiry
from app.inquiries.service import ANSWER_CLOCK, subject
from app.inquiries.states import Action, Status, is_first_contact_resolution, target

CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Context:
    session: AsyncSession
    principal: Principal
    codec: PiiCodec
    now: datetime

    @property
    def actor(self) -> str:
        return self.principal.actor


async def _lock(
    ctx: Context, inquiry_id: uuid.UUID, action: Action, expected: ExpectedVersion
) -> tuple[Inquiry, Status]:
    inquiry = await repository.get(ctx.session, ctx.principal, inquiry_id, lock=True)
    if inquiry is None:
        raise NotFound(f"Inquiry {inquiry_id} does not exist.")
    if expected != ANY_VERSION and inquiry.version != expected:
        raise StaleVersion(
            f"Inquiry {inquiry.number} is at version {inquiry.version}; reload it.",
            current_etag=f'"v{inquiry.version}"',
        )
    destination = target(action, Status(inquiry.status))
    if destination is None:
        raise InvalidTransition(inquiry.status, action.value)
    return inquiry, destination


async def _record(
    ctx: Context,
    inquiry: Inquiry,
    action: Action,
    to: Status,
    *,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> Inquiry:
    previous = inquiry.status
    inquiry.status = to.value
    inquiry.version += 1
    inquiry.updated_at = ctx.now
    await ctx.session.flush()
    await events.append(
        ctx.session,
        ticket_kind="inquiry",
        ticket_id=inquiry.id,
        at=ctx.now,
        actor=ctx.actor,
        action=action.value,
        from_status=previous,
        to_status=to.value,
        reason=reason,
        data=data or {},
    )
    return inquiry


async def answer(
    ctx: Context, inquiry_id: uuid.UUID, body: s.Answer, expected: ExpectedVersion
) -> Inquiry:
    """Answered: in the contact itself (from open: first-contact resolution) or later."""
    inquiry, to = await _lock(ctx, inquiry_id, Action.ANSWER, expected)
    answered_at = body.answered_at or ctx.now
    if answered_at > ctx.now + CLOCK_SKEW or answered_at < inquiry.received_at:
        raise InvalidInput("answered_at must lie between receipt and now.", field="answered_at")
    fcr = is_first_contact_resolution(Status(inquiry.status), Action.ANSWER)
    inquiry.answer = body.answer
    inquiry.answered_at = answered_at
    inquiry.answered_by = ctx.actor
    inquiry.first_contact_resolution = fcr
    await subjects.stop_open(
        ctx.session,
        subject(inquiry.id),
        ANSWER_CLOCK,
        now=answered_at,
        actor=ctx.actor,
        reason="answered",
    )
    return await _record(ctx, inquiry, Action.ANSWER, to, data={"first_contact_resolution": fcr})


async def defer(
    ctx: Context, inquiry_id: uuid.UUID, body: s.Defer, expected: ExpectedVersion
) -> Inquiry:
    """Not answerable in the contact: an answer is owed (the clock keeps running)."""
    inquiry, to = await _lock(ctx, inquiry_id, Action.DEFER, expected)
    return await _record(ctx, inquiry, Action.DEFER, to, reason=body.reason)


async def close(
    ctx: Context, inquiry_id: uuid.UUID, body: s.Close, expected: ExpectedVersion
) -> Inquiry:
    inquiry, to = await _lock(ctx, inquiry_id, Action.CLOSE, expected)
    inquiry.closed_at = ctx.now
    return await _record(ctx, inquiry, Action.CLOSE, to, reason=body.note)


async def convert_to_complaint(
    ctx: Context, inquiry_id: uuid.UUID, body: s.ConvertToComplaint, expected: ExpectedVersion
) -> Inquiry:
    """The caller is complaining: register a complaint (through the complaint service, so its
    own rules and clocks apply), link both ways, and end the inquiry's answer clock."""
    inquiry, to = await _lock(ctx, inquiry_id, Action.CONVERT, expected)
    data = ComplaintCreate.model_validate(
        {
            "channel": inquiry.channel,  # inquiry channels are complaint channels
            "received_at": body.received_at,
            "received_at_reason": body.received_at_reason,
            "complainant": body.complainant,
            "policy_number": inquiry.policy_number,
            "product_line": body.product_line or inquiry.product_line,
            "cause_code": body.cause_code,
            "description": body.description or inquiry.question,
            "remedy_requested": body.remedy_requested,
            "materials_received": body.materials_received,
            "materials_complete": body.materials_complete,
            "branch_id": inquiry.branch_id,
        }
    )
    registered = await complaints.register(ctx.session, ctx.principal, ctx.codec, data, now=ctx.now)
    complaint = registered.complaint
    await subjects.cancel_open(
        ctx.session,
        subject(inquiry.id),
        now=ctx.now,
        actor=ctx.actor,
        reason=f"converted to complaint {complaint.number}",
    )
    await events.append(
        ctx.session,
        ticket_kind="complaint",
        ticket_id=complaint.id,
        at=ctx.now,
        actor=ctx.actor,
        action="converted_from_inquiry",
        data={"inquiry_id": str(inquiry.id), "inquiry_number": inquiry.number},
    )
    # Set with the status in one flush: the table checks converted ⇔ linked.
    inquiry.converted_complaint_id = complaint.id
    inquiry.closed_at = ctx.now
    return await _record(
        ctx,
        inquiry,
        Action.CONVERT,
        to,
        data={"complaint_id": str(complaint.id), "complaint_number": complaint.number},
    )
