"""Complaint registration, reading (masked, with audited reveal), search and timeline.

The transitions live in ``transitions.py``; both go through ``repository`` for every query.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import audit
from app.access.permissions import Permission
from app.access.pii import PiiCodec, mask_id_number, mask_name, mask_phone
from app.access.principal import Principal
from app.clocks import service as clock_service
from app.clocks.models import Clock
from app.clocks.rule_sets import version_in_force
from app.clocks.states import state_of
from app.complaints import deadlines, repository, states
from app.complaints.models import ComplainantPhone, Complaint, ComplaintNotice
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
from app.db.batch import WriteBatch, new_row
from app.events import service as events
from app.org import service as org_service
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
    # In UTC, as every later read from the database gives it: the first view, built from
    # memory, must not show the same instant in the client's own offset.
    return received_at.astimezone(UTC)


@dataclass(frozen=True)
class Registered:
    """A new complaint with what its first view needs, so nothing is read back."""

    complaint: Complaint
    phones: list[str]
    clocks: list[Clock]
    id_number: str | None
    """As entered (upper case), so the first view need not decrypt what it just sealed."""


async def register(
    session: AsyncSession,
    principal: Principal,
    codec: PiiCodec,
    data: ComplaintCreate,
    *,
    now: datetime,
    batch: WriteBatch | None = None,
    alone: bool = False,
    claim: Callable[[Registered, WriteBatch], None] | None = None,
) -> Registered:
    """Register a complaint (rule C1) and start its clocks from the true receipt time.

    The hot path of the service: every row (complaint, phones, clocks and their events, the
    timeline event) goes to the database in one statement (``app.db.batch``, with the
    calendar guard of ``clocks.write_guarded``) — or joins ``batch``, which the caller sends
    (the IVR, so that its call record is in the same statement); a back-dated receipt's audit
    event too. ``alone``: the caller sends nothing after this, so the statement may go without
    a transaction around it. ``claim``: adds the caller's claim row for the result (an
    Idempotency-Key's record) to the same statement."""
    received_at = _check_received_at(data, now)
    branch_id = data.branch_id or principal.branch_id
    if branch_id is None or not (principal.sees_all_branches or branch_id == principal.branch_id):
        raise InvalidInput(
            "You can register complaints only for your own branch.", field="branch_id"
        )
    if branch_id != principal.branch_id:
        await org_service.require_named_branch(session, branch_id)
    if not await repository.cause_exists(session, data.cause_code):
        raise InvalidInput(f"Unknown cause code {data.cause_code}.", field="cause_code")
    phones = normalise_phones(data.complainant.phones, "complainant.phones")
    received_on = received_at.astimezone(BUSINESS_TZ).date()
    rule_set_version = await version_in_force(session, received_on)
    complaint = _new_complaint(data, principal, codec, branch_id, received_at, rule_set_version)
    complaint.number = await repository.next_number(session, received_on)
    complaint.created_at = complaint.updated_at = now

    async def build(batch: WriteBatch) -> Registered:
        batch.add(complaint)
        for position, phone in enumerate(phones):
            batch.add(
                new_row(
                    ComplainantPhone,
                    complaint_id=complaint.id,
                    position=position,
                    phone_enc=codec.seal(phone, purpose=codec.PHONE),
                    phone_hash=codec.lookup(phone, purpose=codec.PHONE),
                )
            )
        clocks = await _start_clocks(
            session, batch, complaint, data, now=now, actor=principal.actor
        )
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
            batch=batch,
        )
        if data.received_at is not None and data.received_at_reason is not None:
            await audit.record(
                session,
                principal,
                "complaint.backdated",
                target_kind="complaint",
                target_id=complaint.id,
                batch=batch,
                received_at=received_at.isoformat(),
                reason=data.received_at_reason,
            )
        id_number = data.complainant.id_number
        registered = Registered(complaint, phones, clocks, id_number.upper() if id_number else None)
        if claim is not None:
            claim(registered, batch)
        return registered

    return await (
        build(batch)
        if batch is not None
        else clock_service.write_guarded(session, build, alone=alone)
    )


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
    return new_row(
        Complaint,
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
        # Set here rather than left to server defaults, so the first view needs no read-back.
        version=1,
        handling_limit_days=15,
        outcome={},
    )


async def _start_clocks(
    session: AsyncSession,
    batch: WriteBatch,
    complaint: Complaint,
    data: ComplaintCreate,
    *,
    now: datetime,
    actor: str,
) -> list[Clock]:
    started: list[Clock] = []

    async def start(name: str, **extra: object) -> None:
        clock = await deadlines.start(
            session,
            complaint.id,
            name,
            started_at=complaint.received_at,
            rule_set_version=complaint.rule_set_version,
            now=now,
            actor=actor,
            batch=batch,
            **extra,  # type: ignore[arg-type]
        )
        started.append(clock)

    await start(deadlines.C7)
    # Complete on receipt: C2 has nothing to wait for and C3 counts from now; otherwise the
    # five working days for one supplement notice run (C2).
    await start(deadlines.C3 if data.materials_complete else deadlines.C2)
    if data.regulator is not None:
        await start(deadlines.C11, due_date=data.regulator.reply_by)
    return started


async def get(session: AsyncSession, principal: Principal, complaint_id: uuid.UUID) -> Complaint:
    complaint = await repository.get(session, principal, complaint_id)
    if complaint is None:
        raise NotFound(f"Complaint {complaint_id} does not exist.")
    return complaint


async def sealed_phones(session: AsyncSession, complaint_id: uuid.UUID) -> list[tuple[str, str]]:
    """The complainant's phones as stored, ``(ciphertext, lookup hash)`` in order: for features
    that contact the complainant (callbacks) and keep the numbers sealed the same way."""
    return [(p.phone_enc, p.phone_hash) for p in await repository.phones_of(session, complaint_id)]


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
    clocks = await deadlines.all_of(session, complaint.id)
    notices = await repository.notices_of(session, complaint.id)
    return render(codec, complaint, phones, clocks, notices, reveal=reveal)


def view_registered(codec: PiiCodec, registered: Registered) -> ComplaintOut:
    """The first view of a complaint just registered, from memory: nothing is read back."""
    # In the order later reads give (``clocks_for_subject``).
    clocks = sorted(registered.clocks, key=lambda clock: (clock.started_at, clock.name))
    return render(
        codec,
        registered.complaint,
        registered.phones,
        clocks,
        [],
        id_number=registered.id_number,
    )


def render(
    codec: PiiCodec,
    complaint: Complaint,
    phones: list[str],
    clocks: list[Clock],
    notices: list[ComplaintNotice],
    *,
    reveal: frozenset[str] = frozenset(),
    id_number: str | None = None,
) -> ComplaintOut:
    """The API's view of a complaint (``id_number``: the plain ID number when the caller has
    it at hand; otherwise it is opened from the sealed column)."""
    fields = {
        name: getattr(complaint, name)
        for name in ComplaintOut.model_fields
        if name not in {"complainant", "clocks", "notices"}
    }
    return ComplaintOut(
        **fields,
        complainant=_complainant(codec, complaint, phones, reveal, id_number),
        clocks=[_clock_out(c) for c in clocks],
        notices=[NoticeOut.model_validate(n) for n in notices],
    )


def _complainant(
    codec: PiiCodec,
    complaint: Complaint,
    phones: list[str],
    reveal: frozenset[str],
    id_number: str | None,
) -> ComplainantOut:
    name = complaint.complainant_name
    if id_number is None and complaint.id_number_enc:
        id_number = codec.open(complaint.id_number_enc, purpose=codec.ID_NUMBER)
    if id_number is not None and "id_number" not in reveal:
        id_number = mask_id_number(id_number)
    digits = [national_digits(p) for p in phones]
    return ComplainantOut(
        name=name if "name" in reveal else mask_name(name),
        phones=digits if "phone" in reveal else [mask_phone(d) for d in digits],
        id_number=id_number,
        relation=complaint.complainant_relation,
        authorisation_ref=complaint.authorisation_ref,
        revealed=sorted(reveal),
    )


def _clock_out(clock: Clock) -> ClockOut:
    stopped, paused = clock.stopped_at is not None, clock.paused_since is not None
    return ClockOut(
        name=clock.name,
        state=state_of(paused=paused, stopped=stopped).value,
        started_at=clock.started_at,
        due_date=clock.due_date,
        due_at=clock.due_at,
        provisional=clock.provisional,
        breached=clock.breached_at is not None,
        breached_at=clock.breached_at,
        outcome=clock.outcome,
        stopped_at=clock.stopped_at,
    )


def allowed_actions(principal: Principal, complaint: Complaint) -> list[AllowedAction]:
    """What this principal may do now, read from the same table the service enforces."""
    if not principal.can(Permission.TICKETS_WRITE):
        return []
    current = states.Status(complaint.status)
    supervisor = principal.can(Permission.TICKETS_SUPERVISE)
    return [
        AllowedAction(
            action=action.value,
            href=f"/v1/complaints/{complaint.id}/{action.value}",
            target_status=str(states.target(action, current)),
        )
        for action in states.allowed_actions(current)
        if supervisor or (action, current) not in states.SUPERVISOR_ONLY
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
