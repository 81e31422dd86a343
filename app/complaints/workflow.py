"""The mechanics every complaint transition shares: lock, check, record, send a notice.

Order of checks: the row is locked (``FOR UPDATE``) first, so concurrent actions queue; then a
stale ``If-Match`` is 412; then an action the table does not allow from the current state is
409, and one it allows there only to a supervisor is 403 for anyone else. Each transition
appends exactly one timeline event and moves the clocks as the rules say.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.access.permissions import Permission
from app.access.pii import PiiCodec
from app.access.principal import Principal
from app.api.etag import ANY_VERSION, ExpectedVersion
from app.complaints import deadlines, notices, repository
from app.complaints import schemas as s
from app.complaints.models import Complaint, ComplaintNotice
from app.complaints.states import SUPERVISOR_ONLY, Action, Status, target
from app.core.errors import Forbidden, InvalidInput, InvalidTransition, NotFound, StaleVersion
from app.events import service as events

CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Context:
    session: AsyncSession
    principal: Principal
    now: datetime
    codec: PiiCodec | None = None
    """For the transitions that write personal numbers (sealed) or show them (masked)."""

    @property
    def actor(self) -> str:
        return self.principal.actor


async def lock(
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
    current = Status(complaint.status)
    destination = target(action, current)
    if destination is None:
        raise InvalidTransition(complaint.status, action.value)
    if (action, current) in SUPERVISOR_ONLY and not ctx.principal.can(Permission.TICKETS_SUPERVISE):
        raise Forbidden(f"{action.value} on a {current.value} complaint needs a supervisor.")
    return complaint, destination


async def record(
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


async def send_notice(ctx: Context, complaint: Complaint, kind: str, notice: s.NoticeIn) -> bool:
    """Record a notice; stop the clock it completes if it counts. Returns whether it counted.

    The clock stops when the notice was sent, which may be before it was recorded here.
    """
    sent_at = past_instant(ctx, complaint, notice.sent_at, "notice.sent_at")
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


def past_instant(
    ctx: Context, complaint: Complaint, given: datetime | None, field: str
) -> datetime:
    """When something happened: now by default; never in the future or before the receipt."""
    instant = given or ctx.now
    if instant > ctx.now + CLOCK_SKEW:
        raise InvalidInput(f"{field} is in the future.", field=field)
    if instant < complaint.received_at:
        raise InvalidInput(f"{field} is before the complaint was received.", field=field)
    return instant


def notice_data(kind: str, notice: s.NoticeIn, counted: bool) -> dict[str, Any]:
    return {
        "notice": {
            "kind": kind,
            "mode": notice.mode,
            "delivery": notice.delivery,
            "counted": counted,
        }
    }
