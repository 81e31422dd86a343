"""Inquiry registration (by agents and by the IVR), reading, search and allowed actions.

The transitions live in ``transitions.py``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.permissions import Permission
from app.access.pii import PiiCodec
from app.access.principal import Principal
from app.clocks import service as clocks
from app.clocks.models import Clock
from app.clocks.rule_sets import version_in_force
from app.clocks.states import SubjectKind
from app.complaints.schemas import AllowedAction
from app.core.clock import BUSINESS_TZ
from app.core.errors import NotFound
from app.customers import service as customers
from app.customers.models import Policy
from app.db.batch import WriteBatch, new_row
from app.events import service as events
from app.inquiries import repository, states
from app.inquiries.models import Inquiry
from app.inquiries.schemas import InquiryCreate, InquiryOut
from app.org import service as org_service
from app.tickets import rules
from app.tickets.items import Criterion
from app.tickets.views import clock_out

ANSWER_CLOCK = "inquiry_answer"


def subject(inquiry_id: uuid.UUID) -> clocks.Subject:
    return clocks.Subject(kind=SubjectKind.INQUIRY, id=inquiry_id)


@dataclass(frozen=True)
class Created:
    inquiry: Inquiry
    answer_clock: Clock | None
    """The running answer clock; ``None`` when answered in the contact."""


async def _create(
    session: AsyncSession,
    *,
    actor: str,
    branch_id: uuid.UUID,
    channel: str,
    received_at: datetime,
    customer_id: uuid.UUID | None,
    policy: Policy | None,
    policy_number: str | None,
    product_line: str | None,
    question: str,
    answer: str | None,
    now: datetime,
    unanswered: states.Status = states.Status.OPEN,
    reason: str | None = None,
    source: dict[str, object] | None = None,
    batch: WriteBatch | None = None,
) -> Created:
    """The inquiry's rows into ``batch`` (sent by the caller), or sent here in one statement."""
    received_on = received_at.astimezone(BUSINESS_TZ).date()
    rule_set_version = await version_in_force(session, received_on)
    answered = answer is not None
    status = states.Status.ANSWERED if answered else unanswered
    inquiry = new_row(
        Inquiry,
        id=uuid.uuid4(),
        number=await repository.next_number(session, received_on),
        branch_id=branch_id,
        status=status.value,
        version=1,
        rule_set_version=rule_set_version,
        channel=channel,
        received_at=received_at,
        registered_by=actor,
        customer_id=customer_id,
        policy_id=policy.id if policy else None,
        policy_number=policy_number,
        product_line=product_line or (policy.product_line if policy else "other"),
        question=question,
        answer=answer,
        first_contact_resolution=answered,
        answered_at=now if answered else None,
        answered_by=actor if answered else None,
        created_at=now,
        updated_at=now,
    )

    async def build(batch: WriteBatch) -> Created:
        batch.add(inquiry)
        clock = None
        if not answered:
            clock = await clocks.start(
                session,
                subject=subject(inquiry.id),
                definition=ANSWER_CLOCK,
                started_at=received_at,
                rule_set_version=rule_set_version,
                now=now,
                actor=actor,
                batch=batch,
            )
        await events.append(
            session,
            ticket_kind="inquiry",
            ticket_id=inquiry.id,
            at=now,
            actor=actor,
            action="register",
            to_status=status.value,
            reason=reason,
            data={
                "number": inquiry.number,
                "received_at": received_at.isoformat(),
                "first_contact_resolution": answered,
                **(source or {}),
            },
            batch=batch,
        )
        return Created(inquiry, clock)

    return await (build(batch) if batch is not None else clocks.write_guarded(session, build))


async def register(
    session: AsyncSession,
    principal: Principal,
    codec: PiiCodec,
    data: InquiryCreate,
    *,
    now: datetime,
) -> Inquiry:
    """An agent registers an inquiry: answered in the contact (first-contact resolution, no
    clock) or open, with the answer clock running from receipt."""
    received_at = rules.received_at(data.received_at, data.received_at_reason, now)
    branch_id = rules.own_branch(principal, data.branch_id)
    if branch_id != principal.branch_id:
        await org_service.require_named_branch(session, branch_id)
    party = await customers.resolve_party(
        session,
        codec,
        customer_id=data.customer_id,
        phone=data.caller_phone,
        phone_field="caller_phone",
        policy_number=data.policy_number,
    )
    created = await _create(
        session,
        actor=principal.actor,
        branch_id=branch_id,
        channel=data.channel,
        received_at=received_at,
        customer_id=party.customer_id,
        policy=party.policy,
        policy_number=data.policy_number,
        product_line=data.product_line,
        question=data.question,
        answer=data.answer,
        now=now,
        reason=data.received_at_reason,
    )
    return created.inquiry


async def register_from_call(
    session: AsyncSession,
    *,
    actor: str,
    branch_id: uuid.UUID,
    received_at: datetime,
    customer_id: uuid.UUID,
    policy: Policy | None,
    policy_number: str | None,
    question: str,
    call_id: str,
    now: datetime,
    batch: WriteBatch,
) -> Created:
    """An inquiry left in the IVR: nobody answered it in the call, so it is pending at once,
    with its answer clock running from the call. Its rows join the IVR's ``batch``."""
    return await _create(
        session,
        actor=actor,
        branch_id=branch_id,
        channel="hotline",
        received_at=received_at,
        customer_id=customer_id,
        policy=policy,
        policy_number=policy_number,
        product_line=None,
        question=question,
        answer=None,
        now=now,
        unanswered=states.Status.PENDING,
        source={"source": "ivr", "call_id": call_id},
        batch=batch,
    )


async def get(session: AsyncSession, principal: Principal, inquiry_id: uuid.UUID) -> Inquiry:
    inquiry = await repository.get(session, principal, inquiry_id)
    if inquiry is None:
        raise NotFound(f"Inquiry {inquiry_id} does not exist.")
    return inquiry


async def view(session: AsyncSession, inquiry: Inquiry) -> InquiryOut:
    clock_rows = await clocks.clocks_for_subject(session, subject(inquiry.id))
    fields = {name: getattr(inquiry, name) for name in InquiryOut.model_fields if name != "clocks"}
    return InquiryOut(**fields, clocks=[clock_out(c) for c in clock_rows])


def allowed_actions(principal: Principal, inquiry: Inquiry) -> list[AllowedAction]:
    """What this principal may do now, read from the table the transitions enforce."""
    if not principal.can(Permission.TICKETS_WRITE):
        return []
    current = states.Status(inquiry.status)
    return [
        AllowedAction(
            action=action.value,
            href=f"/v1/inquiries/{inquiry.id}/{action.value}",
            target_status=str(states.target(action, current)),
        )
        for action in states.allowed_actions(current)
    ]


def awaiting_answer_query(
    principal: Principal,
    *,
    customer_id: Criterion | None = None,
    policy_number: Criterion | None = None,
) -> Select[Any] | None:
    """A caller's inquiries still owed an answer (by customer or policy number), in scope, as
    open items (``app.tickets.items``) for the caller lookup."""
    return repository.awaiting_answer_query(
        principal, customer_id=customer_id, policy_number=policy_number
    )
