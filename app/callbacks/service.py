"""Scheduling callbacks — by hand and by rules other features call in their own transaction —
ending their clocks, and finding one (``views.py`` shapes what a reader sees).

The rule functions (``schedule_complaint_followup``, ``schedule_claim_paid``) are idempotent
per trigger: a unique ``dedupe_key`` settles repeats and races in the database, and a repeat
returns the callback scheduled the first time. ``schedule_ivr_request`` writes in the IVR call's
own statement, which its claim on the call id makes idempotent.

The queue and the transitions live in ``work.py``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.pii import PiiCodec
from app.access.principal import Principal
from app.calendar import service as calendar_service
from app.calendar.view import CalendarView
from app.callbacks import repository
from app.callbacks.models import Callback, CallbackPhone
from app.callbacks.schemas import (
    CallbackCreate,
)
from app.callbacks.states import State
from app.claims.models import ClaimReport
from app.clocks import service as clocks
from app.clocks.rule_sets import version_in_force
from app.clocks.states import SubjectKind
from app.complaints import service as complaints
from app.complaints.models import Complaint
from app.core.config import get_settings
from app.core.errors import InvalidInput, NotFound
from app.core.phones import InvalidPhone, normalise_phone
from app.customers import service as customers
from app.db.batch import WriteBatch, new_row
from app.events import service as events
from app.org import service as org_service
from app.tickets.items import Criterion

CALENDAR = "CN"
PROBLEM_CLOCK = "callback_problem_follow_up"
IVR_CLOCK = "ivr_callback_request"
CLOCK_DUE_PLACEHOLDER = dt.timedelta(days=1)
PROBLEM_FOLLOW_UP_KIND = "consumer_protection"
"""A problem found in any callback is followed up by the consumer-protection function."""

SealedPhone = tuple[str, str]
"""``(ciphertext, lookup hash)`` of one E.164 phone number."""


@dataclass(frozen=True, slots=True)
class NewCallback:
    kind: str
    origin: str
    branch_id: uuid.UUID
    not_before: dt.datetime
    due_at: dt.datetime
    created_by: str
    customer_name: str | None = None
    team_id: uuid.UUID | None = None
    ticket_kind: str | None = None
    ticket_id: uuid.UUID | None = None
    policy_number: str | None = None
    source_ref: str | None = None
    priority: int = 3
    note: str | None = None
    dedupe_key: str | None = None


@dataclass(frozen=True, slots=True)
class ClockSpec:
    """A rule-set clock that starts with the callback and sets its ``due_at``."""

    definition: str
    rule_set_version: int
    reason: str | None = None


def subject(callback_id: uuid.UUID) -> clocks.Subject:
    return clocks.Subject(kind=SubjectKind.CALLBACK, id=callback_id)


def seal_phones(codec: PiiCodec, raw: list[str], field: str) -> list[SealedPhone]:
    """Normalised to E.164 (422 naming the bad entry), without repeats, then sealed."""
    result: list[SealedPhone] = []
    for index, phone in enumerate(raw):
        try:
            e164 = normalise_phone(phone)
        except InvalidPhone as exc:
            raise InvalidInput(
                f"{field}[{index}] is not a valid phone number.", field=f"{field}[{index}]"
            ) from exc
        hashed = codec.lookup(e164, purpose=codec.PHONE)
        if all(hashed != h for _, h in result):
            result.append((codec.seal(e164, purpose=codec.PHONE), hashed))
    return result


def _columns(
    new: NewCallback, callback_id: uuid.UUID, number: str, now: dt.datetime
) -> dict[str, Any]:
    return {
        **asdict(new),
        "id": callback_id,
        "number": number,
        "state": State.SCHEDULED.value,
        "next_attempt_at": new.not_before,
        "created_at": now,
        "updated_at": now,
    }


async def _insert(
    session: AsyncSession,
    new: NewCallback,
    phones: list[SealedPhone],
    *,
    now: dt.datetime,
    clock: ClockSpec | None = None,
) -> tuple[Callback, bool]:
    """Insert the callback, its phones, its clock and its first timeline event;
    ``(callback, created)``. With a ``dedupe_key`` already used, nothing is written and the
    existing callback returns.

    The callback row goes first, alone: its ``dedupe_key`` is what serialises two rules (or
    retries) creating the same callback. The rest — phones, the clock that sets ``due_at``,
    the timeline event — follows in one statement (``clocks.write_guarded``).
    """
    if new.not_before >= new.due_at:
        raise InvalidInput("due_at must be after not_before.", field="due_at")
    view = await calendar_service.remembered_view(session, CALENDAR)
    number = await repository.next_number(session, view.local_date(now))
    inserted = await repository.insert_once(session, _columns(new, uuid.uuid4(), number, now))
    if inserted is None:
        assert new.dedupe_key is not None
        existing = await repository.by_dedupe_key(session, new.dedupe_key)
        assert existing is not None  # the conflicting row committed, so it is visible now
        return existing, False

    async def build(batch: WriteBatch) -> None:
        due_at = await _add_schedule(session, batch, inserted, number, new, phones, now, clock)
        if due_at != new.due_at:
            batch.update(Callback.__table__, "id", {"id": inserted, "due_at": due_at})  # type: ignore[arg-type]

    await clocks.write_guarded(session, build)
    return await session.get_one(Callback, inserted), True


async def _add_schedule(
    session: AsyncSession,
    batch: WriteBatch,
    callback_id: uuid.UUID,
    number: str,
    new: NewCallback,
    phones: list[SealedPhone],
    now: dt.datetime,
    clock: ClockSpec | None,
) -> dt.datetime:
    """Add a new callback's phones, its clock and its first timeline event to ``batch``;
    returns its ``due_at``: the clock's due instant (the rule set decides), else ``new``'s."""
    for position, (enc, hashed) in enumerate(phones):
        batch.add(
            new_row(
                CallbackPhone,
                callback_id=callback_id,
                position=position,
                phone_enc=enc,
                phone_hash=hashed,
            )
        )
    due_at = new.due_at
    if clock is not None:
        started = await clocks.start(
            session,
            subject=subject(callback_id),
            definition=clock.definition,
            started_at=now,
            rule_set_version=clock.rule_set_version,
            now=now,
            actor=new.created_by,
            reason=clock.reason,
            batch=batch,
        )
        due_at = started.due_at
    await events.append(
        session,
        ticket_kind="callback",
        ticket_id=callback_id,
        at=now,
        actor=new.created_by,
        action="schedule",
        to_status=State.SCHEDULED.value,
        data={
            "number": number,
            "kind": new.kind,
            "origin": new.origin,
            "due_at": due_at.isoformat(),
            "clock": clock.definition if clock else None,
        },
        batch=batch,
    )
    return due_at


async def create(
    session: AsyncSession,
    principal: Principal,
    codec: PiiCodec,
    data: CallbackCreate,
    *,
    now: dt.datetime,
) -> Callback:
    """Schedule a callback by hand (``POST /v1/callbacks``)."""
    branch_id = data.branch_id or principal.branch_id
    if branch_id is None or not (principal.sees_all_branches or branch_id == principal.branch_id):
        raise InvalidInput(
            "You can schedule callbacks only for your own branch.", field="branch_id"
        )
    if branch_id != principal.branch_id:
        await org_service.require_named_branch(session, branch_id)
    if data.team_id is not None and not await repository.team_in_branch(
        session, data.team_id, branch_id
    ):
        raise InvalidInput("The team must be a team of the callback's branch.", field="team_id")
    if data.ticket is not None and data.ticket.kind in {"complaint", "callback"}:
        await _check_ticket_visible(session, principal, data.ticket.kind, data.ticket.id)
    not_before = data.not_before or now
    new = NewCallback(
        kind=data.kind,
        origin="manual",
        branch_id=branch_id,
        not_before=not_before,
        due_at=data.due_at,
        created_by=principal.actor,
        customer_name=data.customer.name,
        team_id=data.team_id,
        ticket_kind=data.ticket.kind if data.ticket else None,
        ticket_id=data.ticket.id if data.ticket else None,
        policy_number=data.policy_number,
        priority=data.priority,
        note=data.note,
    )
    phones = seal_phones(codec, data.customer.phones, "customer.phones")
    callback, _ = await _insert(session, new, phones, now=now)
    return callback


async def _check_ticket_visible(
    session: AsyncSession, principal: Principal, kind: str, ticket_id: uuid.UUID
) -> None:
    try:
        if kind == "complaint":
            await complaints.get(session, principal, ticket_id)
        else:
            await get(session, principal, ticket_id)
    except NotFound as exc:
        raise InvalidInput(f"No {kind} {ticket_id} that you can see.", field="ticket.id") from exc


def _due_after_working_days(view: CalendarView, start: dt.datetime, n: int) -> dt.datetime:
    """24:00 local of the ``n``-th working day after the local date of ``start``."""
    return view.end_of_day(view.days.add_working_days(view.local_date(start), n))


async def schedule_complaint_followup(
    session: AsyncSession,
    complaint: Complaint,
    now: dt.datetime,
    actor: str,
    *,
    working_days: int | None = None,
) -> Callback:
    """The follow-up callback (投诉处理回访) of a complaint whose decision was notified.

    Call it in the complaint transition that notifies the decision, in that transaction. Due at
    24:00 local of the N-th working day after ``now`` (N: ``working_days``, default the setting
    ``CONTACT_DESK_CALLBACK_COMPLAINT_FOLLOWUP_WORKING_DAYS``) on the statutory calendar.
    The complainant's name and phones are copied (the phones stay sealed). One per complaint.
    """
    n = (
        working_days
        if working_days is not None
        else (get_settings().callback_complaint_followup_working_days)
    )
    view = await calendar_service.get_view(session, CALENDAR)
    new = NewCallback(
        kind="complaint_followup",
        origin="complaint_decided",
        branch_id=complaint.branch_id,
        team_id=complaint.team_id,
        not_before=now,
        due_at=_due_after_working_days(view, now, n),
        created_by=actor,
        customer_name=complaint.complainant_name,
        ticket_kind="complaint",
        ticket_id=complaint.id,
        policy_number=complaint.policy_number,
        dedupe_key=f"complaint_followup:{complaint.id}",
    )
    phones = await complaints.sealed_phones(session, complaint.id)
    callback, _ = await _insert(session, new, phones, now=now)
    return callback


async def schedule_claim_paid(
    session: AsyncSession,
    codec: PiiCodec,
    *,
    branch_id: uuid.UUID,
    claim_id: uuid.UUID,
    policy_number: str | None,
    name: str | None,
    phones_e164: list[str],
    paid_at: dt.datetime,
    now: dt.datetime,
    actor: str,
    working_days: int | None = None,
) -> Callback:
    """The claim-paid callback (给付回访) of a claim whose payment was made, for phones given
    in clear. Due at 24:00 local of the N-th working day after ``paid_at`` (N: ``working_days``,
    default ``CONTACT_DESK_CALLBACK_CLAIM_PAID_WORKING_DAYS``). One per claim."""
    phones = seal_phones(codec, phones_e164, "phones_e164")
    return await _claim_paid(
        session, branch_id, claim_id, policy_number, name, phones, paid_at, now, actor, working_days
    )


async def schedule_claim_report_paid(
    session: AsyncSession,
    report: ClaimReport,
    *,
    paid_at: dt.datetime,
    now: dt.datetime,
    actor: str,
) -> Callback:
    """The claim-paid callback of a claim report the claims system reports ``paid``: call it in
    that push's transaction. The reporting customer's name and phones are copied (sealed)."""
    name: str | None = None
    phones: list[SealedPhone] = []
    if report.customer_id is not None:
        name = (await customers.get(session, report.customer_id)).name
        phones = await customers.sealed_phones(session, report.customer_id)
    return await _claim_paid(
        session,
        report.branch_id,
        report.id,
        report.policy_number,
        name,
        phones,
        paid_at,
        now,
        actor,
        None,
    )


async def _claim_paid(
    session: AsyncSession,
    branch_id: uuid.UUID,
    claim_id: uuid.UUID,
    policy_number: str | None,
    name: str | None,
    phones: list[SealedPhone],
    paid_at: dt.datetime,
    now: dt.datetime,
    actor: str,
    working_days: int | None,
) -> Callback:
    n = (
        working_days
        if working_days is not None
        else get_settings().callback_claim_paid_working_days
    )
    view = await calendar_service.get_view(session, CALENDAR)
    new = NewCallback(
        kind="claim_paid",
        origin="claim_paid",
        branch_id=branch_id,
        not_before=max(paid_at, now),
        due_at=_due_after_working_days(view, max(paid_at, now), n),
        created_by=actor,
        customer_name=name,
        ticket_kind="claim_report",
        ticket_id=claim_id,
        policy_number=policy_number,
        dedupe_key=f"claim_paid:{claim_id}",
    )
    callback, _ = await _insert(session, new, phones, now=now)
    return callback


async def schedule_ivr_request(
    session: AsyncSession,
    codec: PiiCodec,
    batch: WriteBatch,
    *,
    client_id: uuid.UUID,
    branch_id: uuid.UUID,
    phone_e164: str,
    name: str | None,
    call_id: str,
    now: dt.datetime,
    actor: str,
) -> Callback:
    """A call-back request the caller left in the IVR (来电预约回电), keyed by the IVR call id.

    Its deadline is the rule set's ``ivr_callback_request`` clock (4 hours in rule set 1),
    started now on the callback; ``due_at`` is that clock's due instant. Every row joins the
    IVR call's ``batch``, whose claim on the call id makes a retry write nothing (it replays
    the first answer), so no statement goes ahead of it; ``dedupe_key`` (per IVR client and
    call id) still refuses a second callback for one call. Returns the new callback, not read
    back: its id, number, state and ``due_at`` are set."""
    view = await calendar_service.remembered_view(session, CALENDAR)
    rule_set_version = await version_in_force(session, view.local_date(now))
    new = NewCallback(
        kind="ivr_request",
        origin="ivr_request",
        branch_id=branch_id,
        not_before=now,
        due_at=now + CLOCK_DUE_PLACEHOLDER,  # replaced by the clock's due instant
        created_by=actor,
        customer_name=name,
        source_ref=call_id,
        priority=2,
        dedupe_key=f"ivr:{client_id}:{call_id}",
    )
    phones = seal_phones(codec, [phone_e164], "phone_e164")
    clock = ClockSpec(IVR_CLOCK, rule_set_version, f"IVR call {call_id}")
    callback_id = uuid.uuid4()
    number = await repository.next_number(session, view.local_date(now))
    due_at = await _add_schedule(session, batch, callback_id, number, new, phones, now, clock)
    callback = new_row(Callback, **_columns(new, callback_id, number, now) | {"due_at": due_at})
    batch.add(callback)
    return callback


async def open_problem_follow_up(
    session: AsyncSession, parent: Callback, description: str, *, now: dt.datetime, actor: str
) -> Callback:
    """A problem found in ``parent``: a consumer-protection callback that must bring the
    customer a satisfactory answer within 5 working days (company rules ch. 1 §4) — the rule
    set's ``callback_problem_follow_up`` clock runs on it and sets its ``due_at``."""
    view = await calendar_service.remembered_view(session, CALENDAR)
    rule_set_version = await version_in_force(session, view.local_date(now))
    new = NewCallback(
        kind=PROBLEM_FOLLOW_UP_KIND,
        origin="problem_found",
        branch_id=parent.branch_id,
        team_id=parent.team_id,
        not_before=now,
        due_at=now + CLOCK_DUE_PLACEHOLDER,  # replaced by the clock's due instant
        created_by=actor,
        customer_name=parent.customer_name,
        ticket_kind="callback",
        ticket_id=parent.id,
        policy_number=parent.policy_number,
        priority=1,
        note=description,
        dedupe_key=f"problem_found:{parent.id}",
    )
    phones = [(p.phone_enc, p.phone_hash) for p in await repository.phones_of(session, parent.id)]
    clock = ClockSpec(PROBLEM_CLOCK, rule_set_version, f"problem found in callback {parent.number}")
    callback, _ = await _insert(session, new, phones, now=now, clock=clock)
    return callback


async def end_clocks(
    session: AsyncSession,
    callback_id: uuid.UUID,
    *,
    met: bool,
    at: dt.datetime,
    now: dt.datetime,
    actor: str,
    reason: str,
) -> None:
    """Stop (the customer was contacted: met or met late) or cancel the callback's open clocks.

    A breach already recorded stays recorded either way.
    """
    for clock in await clocks.clocks_for_subject(session, subject(callback_id)):
        if clock.stopped_at is not None:
            continue
        if met:
            await clocks.stop(session, clock.id, now=at, actor=actor, reason=reason)
        else:
            await clocks.cancel(session, clock.id, now=now, actor=actor, reason=reason)


# --- reading ------------------------------------------------------------------------------------


async def get(session: AsyncSession, principal: Principal, callback_id: uuid.UUID) -> Callback:
    callback = await repository.get(session, principal, callback_id)
    if callback is None:
        raise NotFound(f"Callback {callback_id} does not exist.")
    return callback


def open_query(
    principal: Principal,
    *,
    phone_hash: Criterion | None = None,
    policy_number: Criterion | None = None,
) -> Select[Any] | None:
    """The callbacks still owed to a caller (by phone hash or policy number), in scope, as open
    items (``app.tickets.items``) for the caller lookup: a call-back request left in the IVR is
    there when the caller rings again."""
    return repository.open_query(principal, phone_hash=phone_hash, policy_number=policy_number)
