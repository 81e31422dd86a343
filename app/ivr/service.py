"""IVR intake: one finished call in, the right ticket created once, an answer to read out.

Idempotent on the IVR's call id, per API key: the call row, with its stored answer, is the claim
of the statement that writes the ticket (``ON CONFLICT DO NOTHING``; ``WriteBatch.claim``), so a
retry writes nothing and replays the stored answer — a concurrent one waits for the first to
commit, then finds its row; the same call id with another body is a 409.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from app.access.pii import PiiCodec
from app.access.principal import Principal
from app.access.scope import company_wide_if_unbound
from app.callbacks import service as callbacks
from app.claims import service as claims
from app.clocks import service as clocks
from app.complaints import deadlines as complaint_clocks
from app.complaints import service as complaints
from app.complaints.schemas import ComplaintCreate
from app.core.clock import BUSINESS_TZ
from app.core.errors import Conflict, InvalidInput
from app.core.phones import normalise_field
from app.customers import service as customers
from app.customers.models import Policy
from app.db.batch import ClaimTaken, WriteBatch
from app.inquiries import service as inquiries
from app.ivr import lookup, repository, speech
from app.ivr.schemas import IvrCallIn, IvrCallOut, OpenItem, TicketRef
from app.tickets import rules

FINGERPRINT_PURPOSE = "ivr_call"
ID_DIGITS_PURPOSE = "id_digits"
UNKNOWN_CALLER = "来电客户"


class CallIdReused(Conflict):
    code = "call_id_reused"
    title = "This call id was already reported with a different payload."


class NoIntakeBranch(Conflict):
    code = "no_intake_branch"
    title = "No branch can take this call."


@dataclass(frozen=True)
class IntakeResult:
    body: dict[str, Any]
    replayed: bool


@dataclass(frozen=True)
class Call:
    """A call being processed: what the IVR sent and what was resolved about it."""

    row_id: uuid.UUID
    data: IvrCallIn
    principal: Principal
    e164: str
    phone_hash: str
    customer_id: uuid.UUID
    customer_name: str | None
    policy: Policy | None
    branch_id: uuid.UUID
    now: datetime


Outcome = Literal["ticket_created", "status_reported", "callback_requested"]


@dataclass(frozen=True)
class Handled:
    """What an intent did: the ticket (if any), the text for the caller, the call's status."""

    outcome: Outcome
    ticket: TicketRef | None
    speech: str
    open_items: list[OpenItem]
    status: str = "processed"


@dataclass(frozen=True)
class CallbackScheduled:
    """What the callbacks feature tells the IVR: the callback and when it is due."""

    ticket: TicketRef
    due_at: datetime | None


def _fingerprint(codec: PiiCodec, data: IvrCallIn) -> str:
    # Keyed: the body holds ID digits, which an unkeyed hash would let anyone brute-force.
    canonical = json.dumps(data.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return codec.lookup(digest, purpose=FINGERPRINT_PURPOSE)


def _branch(
    principal: Principal, policy: Policy | None, default_code: str, default_id: uuid.UUID | None
) -> uuid.UUID:
    """The policy's branch, else the API key's, else the configured default branch."""
    if policy is not None:
        return policy.branch_id
    if principal.branch_id is not None:
        return principal.branch_id
    branch_id = default_id
    if branch_id is None:
        raise NoIntakeBranch(
            f"The policy is unknown, the API key names no branch, and the default intake branch"
            f" '{default_code}' does not exist.",
        )
    return branch_id


async def intake(
    session: AsyncSession,
    principal: Principal,
    codec: PiiCodec,
    data: IvrCallIn,
    *,
    now: datetime,
    default_branch: str,
) -> IntakeResult:
    """Process a call once; replay the stored answer to every retry.

    Two round trips for most calls: what is known of the call (a retry's stored answer, the
    caller, the policy), then the ticket and the call's row in one statement, the call row as
    the batch's claim — a concurrent retry that got there first leaves nothing written here.
    Neither needs a transaction around it, so none is opened."""
    e164 = normalise_field(data.caller_number, "caller_number")
    if data.started_at > now + rules.CLOCK_SKEW:
        raise InvalidInput("started_at is in the future.", field="started_at")
    fingerprint = _fingerprint(codec, data)
    phone_hash = codec.lookup(e164, purpose=codec.PHONE)
    phone_enc = codec.seal(e164, purpose=codec.PHONE)
    # Each statement goes alone, through the direct pool: the context, a status query's read of
    # the caller's items, and the batch. None needs to see another's snapshot.
    context = await repository.call_context(
        session,
        client_id=principal.id,
        call_id=data.call_id,
        phone_hash=phone_hash,
        phone_enc=phone_enc,
        policy_number=data.policy_number,
        default_branch=default_branch,
    )
    if context.stored is not None:
        return _replayed(data.call_id, fingerprint, context.stored)
    call = Call(
        row_id=uuid.uuid4(),
        data=data,
        principal=principal,
        e164=e164,
        phone_hash=phone_hash,
        customer_id=context.customer_id or await customers.caller(session, codec, e164),
        customer_name=context.customer_name,
        policy=context.policy,
        branch_id=_branch(principal, context.policy, default_branch, context.default_branch_id),
        now=now,
    )

    async def build(batch: WriteBatch) -> dict[str, Any]:
        handled = await HANDLERS[data.intent](session, codec, call, batch)
        body = IvrCallOut(
            call_id=data.call_id,
            intent=data.intent,
            outcome=handled.outcome,
            replayed=False,
            customer_id=call.customer_id,
            ticket=handled.ticket,
            open_items=handled.open_items,
            speech=handled.speech,
        ).model_dump(mode="json", exclude={"replayed"})
        repository.claim_call(batch, _call_row(call, codec, fingerprint, phone_enc, handled, body))
        return body

    try:
        body = await clocks.write_guarded(session, build, alone=True)
    except ClaimTaken:
        # A concurrent report of the same call committed first: answer as it did.
        stored = await repository.stored_answer(session, principal.id, data.call_id)
        assert stored is not None  # the conflicting row has committed, answer included
        return _replayed(data.call_id, fingerprint, stored)
    return IntakeResult({**body, "replayed": False}, replayed=False)


def _call_row(
    call: Call,
    codec: PiiCodec,
    fingerprint: str,
    phone_enc: str,
    handled: Handled,
    body: dict[str, Any],
) -> dict[str, Any]:
    data = call.data
    id_digits = data.id_digits.upper() if data.id_digits else None
    return {
        "id": call.row_id,
        "client_id": call.principal.id,
        "call_id": data.call_id,
        "fingerprint": fingerprint,
        "intent": data.intent,
        "status": handled.status,
        "caller_phone_enc": phone_enc,
        "caller_phone_hash": call.phone_hash,
        "called_number": data.called_number,
        "started_at": data.started_at,
        "ended_at": data.ended_at,
        "menu_path": data.menu_path,
        "policy_number": data.policy_number,
        "id_digits_hash": codec.lookup(id_digits, purpose=ID_DIGITS_PURPOSE) if id_digits else None,
        "recording_ref": data.recording_ref,
        "transcript": data.transcript,
        "customer_id": call.customer_id,
        "branch_id": call.branch_id,
        "ticket_kind": handled.ticket.kind if handled.ticket else None,
        "ticket_id": handled.ticket.id if handled.ticket else None,
        "response": body,
    }


def _replayed(call_id: str, fingerprint: str, stored: tuple[str, dict[str, Any]]) -> IntakeResult:
    stored_fingerprint, body = stored
    if stored_fingerprint != fingerprint:
        raise CallIdReused(
            f"Call {call_id} was already reported with a different payload.", call_id=call_id
        )
    return IntakeResult({**body, "replayed": True}, replayed=True)


def _question(data: IvrCallIn, what: str) -> str:
    heard = f"：{data.transcript}" if data.transcript else "。"
    return f"{what}（呼叫编号 {data.call_id}，菜单 {data.menu_path or '-'}）{heard}"[:20_000]


async def _inquiry(
    session: AsyncSession, codec: PiiCodec, call: Call, batch: WriteBatch
) -> Handled:
    created = await inquiries.register_from_call(
        session,
        actor=call.principal.actor,
        branch_id=call.branch_id,
        received_at=call.data.started_at,
        customer_id=call.customer_id,
        policy=call.policy,
        policy_number=call.data.policy_number,
        question=_question(call.data, "热线IVR来电咨询"),
        call_id=call.data.call_id,
        now=call.now,
        batch=batch,
    )
    inquiry = created.inquiry
    due = created.answer_clock.due_date if created.answer_clock else None
    ticket = TicketRef(
        kind="inquiry", id=inquiry.id, number=inquiry.number, status=inquiry.status, due_date=due
    )
    return Handled("ticket_created", ticket, speech.inquiry_created(inquiry.number, due), [])


async def _claim_report(
    session: AsyncSession, codec: PiiCodec, call: Call, batch: WriteBatch
) -> Handled:
    report = await claims.register_from_call(
        session,
        actor=call.principal.actor,
        branch_id=call.branch_id,
        reported_at=call.data.started_at,
        customer_id=call.customer_id,
        policy=call.policy,
        policy_number=call.data.policy_number,
        description=_question(call.data, "热线IVR来电报案"),
        call_id=call.data.call_id,
        now=call.now,
        batch=batch,
    )
    days = await _decision_days(session, report.rule_set_version)
    ticket = TicketRef(
        kind="claim_report", id=report.id, number=report.number, status=report.status, due_date=None
    )
    return Handled("ticket_created", ticket, speech.claim_reported(report.number, days), [])


_DECISION_DAYS: dict[int, int] = {}


async def _decision_days(session: AsyncSession, rule_set_version: int) -> int:
    """The decision limit to promise, from the report's rule set (versions are never edited,
    so the answer is cached for good)."""
    if rule_set_version not in _DECISION_DAYS:
        rule = await clocks.definition(session, rule_set_version, claims.DECISION)
        _DECISION_DAYS[rule_set_version] = rule.amount
    return _DECISION_DAYS[rule_set_version]


async def _complaint(
    session: AsyncSession, codec: PiiCodec, call: Call, batch: WriteBatch
) -> Handled:
    """Through the complaint service (rule C1: every complaint registered, whatever the
    channel), in the call's branch: the IVR acts for the branch the call is routed to."""
    name = call.customer_name
    late = call.now - call.data.started_at > rules.BACKDATE_NEEDS_REASON
    data = ComplaintCreate.model_validate(
        {
            "channel": "hotline",
            "received_at": call.data.started_at,
            "received_at_reason": f"IVR call {call.data.call_id} started then" if late else None,
            "complainant": {
                "name": name or UNKNOWN_CALLER,
                "phones": [call.e164],
                "relation": "policyholder",
            },
            "policy_number": call.data.policy_number,
            "product_line": call.policy.product_line if call.policy else "other",
            "cause_code": "other",
            "description": _question(call.data, "热线IVR来电投诉"),
            "branch_id": call.branch_id,
        }
    )
    acting = replace(call.principal, branch_id=call.branch_id)
    registered = await complaints.register(session, acting, codec, data, now=call.now, batch=batch)
    complaint = registered.complaint
    due = {c.name: c.due_date for c in registered.clocks}
    contact_by = due.get(complaint_clocks.C2) or due.get(complaint_clocks.C3)
    ticket = TicketRef(
        kind="complaint",
        id=complaint.id,
        number=complaint.number,
        status=complaint.status,
        due_date=contact_by,
    )
    text = speech.complaint_registered(complaint.number, contact_by, due.get(complaint_clocks.C7))
    return Handled("ticket_created", ticket, text, [])


async def _status_query(
    session: AsyncSession, codec: PiiCodec, call: Call, batch: WriteBatch
) -> Handled:
    """Nothing new: the caller's open items (company-wide for an IVR key bound to no branch)."""
    items = await lookup.open_items(
        session,
        company_wide_if_unbound(call.principal),
        customer_id=call.customer_id,
        phone_hash=call.phone_hash,
        policy_number=None,
        now=call.now,
    )
    return Handled("status_reported", None, lookup.spoken(items), items)


async def _on_callback_request(
    session: AsyncSession, codec: PiiCodec, call: Call, batch: WriteBatch
) -> CallbackScheduled:
    """Schedule the IVR call-back request of ``call`` in the shared callback queue (its deadline
    is the rule set's ``ivr_callback_request`` clock), in the call's batch, and return it with
    its due time."""
    callback = await callbacks.schedule_ivr_request(
        session,
        codec,
        batch,
        client_id=call.principal.id,
        branch_id=call.branch_id,
        phone_e164=call.e164,
        name=None,
        call_id=call.data.call_id,
        now=call.now,
        actor=call.principal.actor,
    )
    local_due = callback.due_at.astimezone(BUSINESS_TZ)
    ticket = TicketRef(
        kind="callback",
        id=callback.id,
        number=callback.number,
        status=callback.state,
        due_date=local_due.date(),
    )
    return CallbackScheduled(ticket=ticket, due_at=callback.due_at)


async def _callback_request(
    session: AsyncSession, codec: PiiCodec, call: Call, batch: WriteBatch
) -> Handled:
    scheduled = await _on_callback_request(session, codec, call, batch)
    return Handled(
        "callback_requested",
        scheduled.ticket,
        speech.callback_requested(scheduled.due_at),
        [],
        "callback_requested",
    )


HANDLERS = {
    "inquiry": _inquiry,
    "claim_report": _claim_report,
    "complaint": _complaint,
    "status_query": _status_query,
    "callback_request": _callback_request,
}
