"""Complaint registration, reading (masked, with audited reveal), search and timeline.

The transitions live in ``transitions.py``; both go through ``repository`` for every query.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import audit
from app.access.permissions import Permission
from app.access.pii import PiiCodec, mask_id_number, mask_name, mask_phone
from app.access.principal import Principal
from app.clocks.rule_sets import current_rule_set
from app.clocks.states import state_of
from app.complaints import deadlines, repository, states
from app.complaints.models import ComplainantPhone, Complaint
from app.complaints.schemas import (
    AllowedAction,
    ClockOut,
    ComplainantOut,
    ComplaintCreate,
    ComplaintOut,
    NoticeOut,
)
from app.core.clock import BUSINESS_TZ
from app.core.errors import Forbidden, InvalidInput, NotFound
from app.core.phones import InvalidPhone, national_digits, normalise_phone
from app.events import service as events
from app.tickets.items import Criterion

REVEALABLE = frozenset({"name", "phone", "id_number"})
CLOCK_SKEW = timedelta(minutes=5)
BACKDATE_NEEDS_REASON = timedelta(minutes=30)


def normalise_phones(raw: list[str], field: str) -> list[str]:
    """E.164 forms, in order, without repeats; 422 naming the bad entry."""
    result: list[str] = []
    for index, phone in enumerate(raw):
        try:
            normalised = normalise_phone(phone)
        except InvalidPhone as exc:
            raise InvalidInput(
                f"{field}[{index}] is not a valid phone number.", field=f"{field}[{index}]"
            ) from exc
        if normalised not in result:
            result.append(normalised)
    return result


def _check_received_at(data: ComplaintCreate, now: datetime) -> datetime:
    received_at = data.received_at or now
    if received_at > now + CLOCK_SKEW:
        raise InvalidInput("received_at is in the future.", field="received_at")
    if now - received_at > BACKDATE_NEEDS_REASON and data.received_at_reason is None:
        raise InvalidInput(
            "A back-dated received_at needs received_at_reason.", field="received_at_reason"
        )
    return received_at


async def register(
    session: AsyncSession,
    principal: Principal,
    codec: PiiCodec,
    data: ComplaintCreate,
    *,
    now: datetime,
) -> Complaint:
    """Register a complaint (rule C1) and start its clocks from the true receipt time."""
    received_at = _check_received_at(data, now)
    branch_id = data.branch_id or principal.branch_id
    if branch_id is None or not (principal.sees_all_branches or branch_id == principal.branch_id):
        raise InvalidInput(
            "You can register complaints only for your own branch.", field="branch_id"
        )
    if not await repository.cause_exists(session, data.cause_code):
        raise InvalidInput(f"Unknown cause code {data.cause_code}.", field="cause_code")
    phones = normalise_phones(data.complainant.phones, "complainant.phones")
    received_on = received_at.astimezone(BUSINESS_TZ).date()
    rule_set = await current_rule_set(session, received_on)
    complaint = _new_complaint(data, principal, codec, branch_id, received_at, rule_set.version)
    complaint.number = await repository.next_number(session, received_on)
    session.add(complaint)
    await session.flush()
    session.add_all(
        ComplainantPhone(
            complaint_id=complaint.id,
            position=i,
            phone_enc=codec.seal(p, purpose=codec.PHONE),
            phone_hash=codec.lookup(p, purpose=codec.PHONE),
        )
        for i, p in enumerate(phones)
    )
    await _start_clocks(session, complaint, data, now=now, actor=principal.actor)
    await events.append(
        session,
        ticket_kind="complaint",
        ticket_id=complaint.id,
        at=now,
        actor=principal.actor,
        action="register",
        to_status=complaint.status,
        reason=data.received_at_reason,
        data={"number": complaint.number, "received_at": received_at.isoformat()},
    )
    if data.received_at is not None and data.received_at_reason is not None:
        await audit.record(
            session,
            principal,
            "complaint.backdated",
            target_kind="complaint",
            target_id=complaint.id,
            received_at=received_at.isoformat(),
            reason=data.received_at_reason,
        )
    await session.refresh(complaint)
    return complaint


def _new_complaint(
    data: ComplaintCreate,
    principal: Principal,
    codec: PiiCodec,
    branch_id: uuid.UUID,
    received_at: datetime,
    rule_set_version: int,
) -> Complaint:
    person = data.complainant
    complete = data.materials_complete
    return Complaint(
        id=uuid.uuid4(),
        branch_id=branch_id,
        status=(states.Status.UNDER_REVIEW if complete else states.Status.REGISTERED).value,
        rule_set_version=rule_set_version,
        channel=data.channel,
        received_at=received_at,
        registered_by=principal.actor,
        complainant_name=person.name,
        complainant_relation=person.relation,
        authorisation_ref=person.authorisation_ref,
        id_number_enc=codec.seal(person.id_number.upper(), purpose=codec.ID_NUMBER)
        if person.id_number
        else None,
        id_number_hash=codec.id_lookup(person.id_number) if person.id_number else None,
        policy_number=data.policy_number,
        product_line=data.product_line,
        cause_code=data.cause_code,
        description=data.description,
        remedy_requested=data.remedy_requested,
        materials_received=data.materials_received,
        materials_missing=[],
        materials_complete_at=received_at if complete else None,
        regulator_ref=data.regulator.reference if data.regulator else None,
        regulator_reply_by=data.regulator.reply_by if data.regulator else None,
    )


async def _start_clocks(
    session: AsyncSession, complaint: Complaint, data: ComplaintCreate, *, now: datetime, actor: str
) -> None:
    async def start(name: str, **extra: object) -> None:
        await deadlines.start(
            session,
            complaint.id,
            name,
            started_at=complaint.received_at,
            rule_set_version=complaint.rule_set_version,
            now=now,
            actor=actor,
            **extra,  # type: ignore[arg-type]
        )

    await start(deadlines.C7)
    # Complete on receipt: C2 has nothing to wait for and C3 counts from now; otherwise the
    # five working days for one supplement notice run (C2).
    await start(deadlines.C3 if data.materials_complete else deadlines.C2)
    if data.regulator is not None:
        await start(deadlines.C11, due_date=data.regulator.reply_by)


async def get(session: AsyncSession, principal: Principal, complaint_id: uuid.UUID) -> Complaint:
    complaint = await repository.get(session, principal, complaint_id)
    if complaint is None:
        raise NotFound(f"Complaint {complaint_id} does not exist.")
    return complaint


async def view(
    session: AsyncSession,
    principal: Principal,
    codec: PiiCodec,
    complaint: Complaint,
    *,
    reveal: frozenset[str] = frozenset(),
) -> ComplaintOut:
    """The complaint as its reader may see it: personal fields masked unless revealed."""
    unknown = reveal - REVEALABLE
    if unknown:
        raise InvalidInput(f"Cannot reveal {', '.join(sorted(unknown))}.", field="reveal")
    if reveal and not principal.can(Permission.PII_READ):
        raise Forbidden("Revealing personal data needs the permission 'pii:read'.")
    if reveal:
        await audit.record(
            session,
            principal,
            "pii.revealed",
            target_kind="complaint",
            target_id=complaint.id,
            fields=sorted(reveal),
        )
    phones = [
        codec.open(p.phone_enc, purpose=codec.PHONE)
        for p in await repository.phones_of(session, complaint.id)
    ]
    id_number = (
        codec.open(complaint.id_number_enc, purpose=codec.ID_NUMBER)
        if complaint.id_number_enc
        else None
    )
    person = ComplainantOut(
        name=complaint.complainant_name
        if "name" in reveal
        else mask_name(complaint.complainant_name),
        phones=[
            national_digits(p) if "phone" in reveal else mask_phone(national_digits(p))
            for p in phones
        ],
        id_number=None
        if id_number is None
        else id_number
        if "id_number" in reveal
        else mask_id_number(id_number),
        relation=complaint.complainant_relation,
        authorisation_ref=complaint.authorisation_ref,
        revealed=sorted(reveal),
    )
    clocks = [
        ClockOut(
            name=c.name,
            state=state_of(
                paused=c.paused_since is not None, stopped=c.stopped_at is not None
            ).value,
            started_at=c.started_at,
            due_date=c.due_date,
            due_at=c.due_at,
            provisional=c.provisional,
            breached=c.breached_at is not None,
            breached_at=c.breached_at,
            outcome=c.outcome,
            stopped_at=c.stopped_at,
        )
        for c in await deadlines.all_of(session, complaint.id)
    ]
    notices = [
        NoticeOut.model_validate(n) for n in await repository.notices_of(session, complaint.id)
    ]
    fields = {
        name: getattr(complaint, name)
        for name in ComplaintOut.model_fields
        if name not in {"complainant", "clocks", "notices"}
    }
    return ComplaintOut(**fields, complainant=person, clocks=clocks, notices=notices)


def allowed_actions(principal: Principal, complaint: Complaint) -> list[AllowedAction]:
    """What this principal may do now, read from the same table the service enforces."""
    if not principal.can(Permission.TICKETS_WRITE):
        return []
    current = states.Status(complaint.status)
    return [
        AllowedAction(
            action=action.value,
            href=f"/v1/complaints/{complaint.id}/{action.value}",
            target_status=str(states.target(action, current)),
        )
        for action in states.allowed_actions(current)
    ]


IN_PROGRESS = frozenset(s.value for s in states.OPEN - {states.Status.CLOSED})
"""What a caller hears about as "in progress": open, and not closed awaiting a review."""


def in_progress_query(
    principal: Principal,
    *,
    phone_hash: Criterion | None = None,
    policy_number: Criterion | None = None,
) -> Select[Any] | None:
    """A caller's complaints still in progress, by complainant phone hash or policy number,
    within the principal's scope, as open items (``app.tickets.items``) for the caller lookup."""
    if phone_hash is None and policy_number is None:
        return None
    return repository.in_progress_query(
        principal, phone_hash=phone_hash, policy_number=policy_number, statuses=IN_PROGRESS
    )
