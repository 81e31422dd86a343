"""A caller's open items across ticket kinds, with their next deadline in plain words.

Each kind is read through its own service with the principal's scope; the next due clock of
all of them comes from one query. A handful of indexed round trips: the caller is waiting.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.access.pii import PiiCodec, mask_name, mask_phone
from app.access.principal import Principal
from app.claims import service as claims
from app.clocks import subjects
from app.clocks.models import Clock
from app.clocks.states import SubjectKind
from app.complaints import service as complaints
from app.core.errors import NotFound
from app.core.phones import national_digits
from app.customers import service as customers
from app.inquiries import service as inquiries
from app.ivr import speech
from app.ivr.schemas import CallerOut, DueOut, OpenItem, PolicyCallerOut

PER_KIND = 20


@dataclass(frozen=True)
class _Row:
    kind: str
    id: uuid.UUID
    number: str
    status: str
    branch_id: uuid.UUID
    received_at: datetime


def _due(clock: Clock | None, now: datetime) -> DueOut | None:
    if clock is None:
        return None
    overdue = clock.breached_at is not None or clock.due_at < now
    return DueOut(
        clock=clock.name,
        due_date=clock.due_date,
        due_at=clock.due_at,
        provisional=clock.provisional,
        overdue=overdue,
        text=speech.due_text(
            clock.name, clock.due_date, overdue=overdue, provisional=clock.provisional
        ),
    )


async def open_items(
    session: AsyncSession,
    principal: Principal,
    *,
    customer_id: uuid.UUID | None,
    phone_hash: str | None,
    policy_number: str | None,
    now: datetime,
) -> list[OpenItem]:
    """Open complaints (by complainant phone or policy number), inquiries owed an answer and
    open claim reports (by customer or policy number), most urgent first."""
    rows = [
        _Row("complaint", c.id, c.number, c.status, c.branch_id, c.received_at)
        for c in await complaints.in_progress_for_caller(
            session, principal, phone_hash=phone_hash, policy_number=policy_number, limit=PER_KIND
        )
    ]
    rows += [
        _Row("inquiry", i.id, i.number, i.status, i.branch_id, i.received_at)
        for i in await inquiries.awaiting_answer(
            session,
            principal,
            customer_id=customer_id,
            policy_number=policy_number,
            limit=PER_KIND,
        )
    ]
    rows += [
        _Row("claim_report", r.id, r.number, r.status, r.branch_id, r.reported_at)
        for r in await claims.open_reports(
            session,
            principal,
            customer_id=customer_id,
            policy_number=policy_number,
            limit=PER_KIND,
        )
    ]
    by_kind: dict[SubjectKind, list[uuid.UUID]] = {}
    for row in rows:
        by_kind.setdefault(SubjectKind(row.kind), []).append(row.id)
    due = await subjects.next_due(session, by_kind)
    items = [
        OpenItem(
            kind=row.kind,  # type: ignore[arg-type]  # the three kinds above
            id=row.id,
            number=row.number,
            status=row.status,
            status_text=speech.status_text(row.kind, row.status),
            branch_id=row.branch_id,
            received_at=row.received_at,
            next_due=_due(due.get((row.kind, row.id)), now),
        )
        for row in rows
    ]
    # Soonest deadline first; items without one after, newest first.
    items.sort(key=lambda i: i.received_at, reverse=True)
    items.sort(key=lambda i: (i.next_due is None, i.next_due.due_at if i.next_due else now))
    return items


def spoken(items: list[OpenItem]) -> str:
    return speech.open_items(
        [(i.kind, i.number, i.status_text, i.next_due.text if i.next_due else None) for i in items]
    )


async def caller(
    session: AsyncSession, principal: Principal, codec: PiiCodec, e164: str, *, now: datetime
) -> CallerOut:
    """The screen pop / status query by phone: masked, within the principal's scope."""
    phone_hash = codec.lookup(e164, purpose=codec.PHONE)
    customer_id = await customers.by_phone(session, codec, e164)
    name = None
    if customer_id is not None:
        customer = await customers.get(session, customer_id)
        name = mask_name(customer.name) if customer.name else None
    items = await open_items(
        session,
        principal,
        customer_id=customer_id,
        phone_hash=phone_hash,
        policy_number=None,
        now=now,
    )
    return CallerOut(
        phone=mask_phone(national_digits(e164)),
        customer_id=customer_id,
        customer_name=name,
        items=items,
        speech=spoken(items),
    )


async def policy(
    session: AsyncSession, principal: Principal, number: str, *, now: datetime
) -> PolicyCallerOut:
    """The open items referring to a policy number; 404 when neither the policy nor any item
    is visible to the principal."""
    try:
        found = await customers.get_policy(session, principal, number)
    except NotFound:
        found = None
    items = await open_items(
        session, principal, customer_id=None, phone_hash=None, policy_number=number, now=now
    )
    if found is None and not items:
        raise NotFound(f"Policy {number} does not exist.")
    holder = await customers.policy_view(session, found) if found else None
    return PolicyCallerOut(
        policy_number=number,
        product_line=found.product_line if found else None,
        branch_id=found.branch_id if found else None,
        holder_name=holder.holder_name if holder else None,
        items=items,
        speech=spoken(items),
    )
