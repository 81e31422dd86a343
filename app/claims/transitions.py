"""What the claims system reports: one event at a time, checked against the transition table,
with the Insurance Law clocks started and stopped from the moment it happened.

The row is locked first (pushes for one report queue); an optional ``If-Match`` that is stale
is 412; an event the table does not allow now is 409. Each push appends one timeline event.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.principal import Principal
from app.api.etag import ANY_VERSION, ExpectedVersion
from app.callbacks import service as callbacks
from app.claims import repository
from app.claims.models import ClaimReport
from app.claims.schemas import StatusPush
from app.claims.service import ADVANCE_PAYMENT, DECISION, PAYMENT, REFUSAL_NOTICE, subject
from app.claims.states import Decision, Event, Status, target
from app.clocks import service as clocks
from app.clocks import subjects
from app.core.errors import (
    AlreadyExists,
    InvalidInput,
    InvalidTransition,
    NotFound,
    StaleVersion,
)
from app.events import service as events

CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Context:
    session: AsyncSession
    principal: Principal
    now: datetime

    @property
    def actor(self) -> str:
        return self.principal.actor


async def _lock(
    ctx: Context, report_id: uuid.UUID, event: Event, expected: ExpectedVersion
) -> tuple[ClaimReport, Status]:
    report = await repository.get(ctx.session, ctx.principal, report_id, lock=True)
    if report is None:
        raise NotFound(f"Claim report {report_id} does not exist.")
    if expected != ANY_VERSION and report.version != expected:
        raise StaleVersion(
            f"Claim report {report.number} is at version {report.version}; reload it.",
            current_etag=f'"v{report.version}"',
        )
    decision = Decision(report.decision) if report.decision else None
    destination = target(event, Status(report.status), decision)
    if destination is None:
        detail = None
        if report.status == Status.DECIDED:
            detail = f"'{event.value}' does not follow a claim decided '{report.decision}'."
        raise InvalidTransition(report.status, event.value, detail)
    return report, destination


def _occurred_at(ctx: Context, report: ClaimReport, given: datetime | None) -> datetime:
    instant = given or ctx.now
    if instant > ctx.now + CLOCK_SKEW:
        raise InvalidInput("occurred_at is in the future.", field="occurred_at")
    if instant < report.reported_at:
        raise InvalidInput("occurred_at is before the claim was reported.", field="occurred_at")
    return instant


@dataclass(frozen=True)
class _Step:
    ctx: Context
    report: ClaimReport
    body: StatusPush
    at: datetime

    async def start(self, name: str) -> None:
        await clocks.start(
            self.ctx.session,
            subject=subject(self.report.id),
            definition=name,
            started_at=self.at,
            rule_set_version=self.report.rule_set_version,
            now=self.ctx.now,
            actor=self.ctx.actor,
        )

    async def stop(self, name: str, reason: str) -> None:
        await subjects.stop_open(
            self.ctx.session,
            subject(self.report.id),
            name,
            now=self.at,
            actor=self.ctx.actor,
            reason=reason,
        )

    async def cancel(self, reason: str, only: frozenset[str] | None = None) -> None:
        await subjects.cancel_open(
            self.ctx.session,
            subject(self.report.id),
            now=self.ctx.now,
            actor=self.ctx.actor,
            reason=reason,
            only=only,
        )


async def _handed_off(step: _Step) -> None:
    claim_number = step.body.claim_number
    assert claim_number is not None
    session = step.ctx.session
    if await repository.claim_number_taken(session, claim_number, step.report.id):
        raise AlreadyExists(
            f"Claim number {claim_number} is on another report.", field="claim_number"
        )
    step.report.claim_number = claim_number
    try:
        async with session.begin_nested():  # a racing hand-off with the same number loses here
            await session.flush()
    except IntegrityError as exc:
        raise AlreadyExists(
            f"Claim number {claim_number} is on another report.", field="claim_number"
        ) from exc


async def _documents_requested(step: _Step) -> None:
    step.report.missing_documents = list(step.body.missing_documents)


async def _documents_complete(step: _Step) -> None:
    step.report.missing_documents = []
    step.report.documents_complete_at = step.at
    await step.start(DECISION)
    await step.start(ADVANCE_PAYMENT)


async def _decided(step: _Step) -> None:
    assert step.body.decision is not None
    step.report.decision = step.body.decision.value
    step.report.decision_reason = step.body.reason
    step.report.decided_at = step.at
    await step.stop(DECISION, f"claim {step.body.decision.value}")
    if step.body.decision is Decision.DECLINED:
        await step.cancel("claim declined: nothing to advance", only=frozenset({ADVANCE_PAYMENT}))
        await step.start(REFUSAL_NOTICE)


async def _advance_paid(step: _Step) -> None:
    step.report.advance_paid_at = step.at
    await step.stop(ADVANCE_PAYMENT, "advance payment made")


async def _agreement_reached(step: _Step) -> None:
    step.report.agreed_amount = step.body.amount
    step.report.agreement_at = step.at
    await step.stop(ADVANCE_PAYMENT, "amount fixed by agreement")
    await step.start(PAYMENT)


async def _paid(step: _Step) -> None:
    step.report.paid_amount = step.body.amount
    step.report.paid_at = step.at
    await step.stop(PAYMENT, "paid")
    # The claim-paid callback (给付回访), in this push's transaction: paid and called, or neither.
    await callbacks.schedule_claim_report_paid(
        step.ctx.session, step.report, paid_at=step.at, now=step.ctx.now, actor=step.ctx.actor
    )


async def _refusal_notified(step: _Step) -> None:
    step.report.closed_at = step.at
    await step.stop(REFUSAL_NOTICE, "refusal notice sent")


async def _closed(step: _Step) -> None:
    step.report.closed_at = step.at
    await step.cancel("claim closed")


async def _cancelled(step: _Step) -> None:
    step.report.closed_at = step.at
    await step.cancel(f"claim report cancelled: {step.body.reason or 'no reason given'}")


EFFECTS: dict[Event, Callable[[_Step], Awaitable[None]]] = {
    Event.HANDED_OFF: _handed_off,
    Event.DOCUMENTS_REQUESTED: _documents_requested,
    Event.DOCUMENTS_COMPLETE: _documents_complete,
    Event.DECIDED: _decided,
    Event.ADVANCE_PAID: _advance_paid,
    Event.AGREEMENT_REACHED: _agreement_reached,
    Event.PAID: _paid,
    Event.REFUSAL_NOTIFIED: _refusal_notified,
    Event.CLOSED: _closed,
    Event.CANCELLED: _cancelled,
}


def _event_data(body: StatusPush, at: datetime) -> dict[str, Any]:
    data: dict[str, Any] = {"occurred_at": at.isoformat()}
    if body.claim_number:
        data["claim_number"] = body.claim_number
    if body.missing_documents:
        data["missing_documents"] = body.missing_documents
    if body.decision:
        data["decision"] = body.decision.value
    if body.amount is not None:
        data["amount"] = str(body.amount)
    return data


async def push(
    ctx: Context, report_id: uuid.UUID, body: StatusPush, expected: ExpectedVersion
) -> ClaimReport:
    """Apply one milestone from the claims system."""
    report, to = await _lock(ctx, report_id, body.event, expected)
    at = _occurred_at(ctx, report, body.occurred_at)
    await EFFECTS[body.event](_Step(ctx, report, body, at))
    previous = report.status
    report.status = to.value
    report.version += 1
    report.updated_at = ctx.now
    await ctx.session.flush()
    await events.append(
        ctx.session,
        ticket_kind="claim_report",
        ticket_id=report.id,
        at=ctx.now,
        actor=ctx.actor,
        action=body.event.value,
        from_status=previous,
        to_status=to.value,
        reason=body.reason,
        data=_event_data(body, at),
    )
    return report
