"""Claim reports: registration (by agents and by the IVR, 24 hours a day, the report number at
once), reading, search. What the claims system reports back is in ``transitions.py``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.pii import PiiCodec
from app.access.principal import Principal
from app.claims import repository, states
from app.claims.models import ClaimReport
from app.claims.schemas import AllowedEvent, ClaimReportCreate, ClaimReportOut
from app.clocks import service as clocks
from app.clocks.rule_sets import version_in_force
from app.clocks.states import SubjectKind
from app.core.clock import BUSINESS_TZ
from app.core.errors import NotFound
from app.customers import service as customers
from app.customers.models import Policy
from app.db.batch import WriteBatch, new_row
from app.events import service as events
from app.org import service as org_service
from app.tickets import rules
from app.tickets.items import Criterion
from app.tickets.views import clock_out

# The rule set's clock names (migration 0004), Insurance Law arts. 23–25.
DECISION = "claim_decision"
REFUSAL_NOTICE = "claim_refusal_notice"
PAYMENT = "claim_payment"
ADVANCE_PAYMENT = "claim_advance_payment"


def subject(report_id: uuid.UUID) -> clocks.Subject:
    return clocks.Subject(kind=SubjectKind.CLAIM_REPORT, id=report_id)


async def _create(
    session: AsyncSession,
    *,
    actor: str,
    branch_id: uuid.UUID,
    channel: str,
    reported_at: datetime,
    customer_id: uuid.UUID | None,
    policy: Policy | None,
    policy_number: str | None,
    product_line: str | None,
    incident_at: datetime | None,
    description: str | None,
    now: datetime,
    reason: str | None = None,
    source: dict[str, object] | None = None,
    batch: WriteBatch | None = None,
) -> ClaimReport:
    """The report's rows into ``batch`` (sent by the caller), or sent here in one statement."""
    reported_on = reported_at.astimezone(BUSINESS_TZ).date()
    report = new_row(
        ClaimReport,
        id=uuid.uuid4(),
        number=await repository.next_number(session, reported_on),
        branch_id=branch_id,
        status=states.Status.REPORTED.value,
        version=1,
        rule_set_version=await version_in_force(session, reported_on),
        channel=channel,
        reported_at=reported_at,
        registered_by=actor,
        customer_id=customer_id,
        policy_id=policy.id if policy else None,
        policy_number=policy_number,
        product_line=product_line or (policy.product_line if policy else "other"),
        incident_at=incident_at,
        description=description,
        missing_documents=[],
        created_at=now,
        updated_at=now,
    )

    async def build(batch: WriteBatch) -> ClaimReport:
        # No clocks yet: they start when the claims system reports the documents complete.
        batch.add(report)
        await events.append(
            session,
            ticket_kind="claim_report",
            ticket_id=report.id,
            at=now,
            actor=actor,
            action="register",
            to_status=report.status,
            reason=reason,
            data={
                "number": report.number,
                "reported_at": reported_at.isoformat(),
                **(source or {}),
            },
            batch=batch,
        )
        return report

    return await (build(batch) if batch is not None else clocks.write_guarded(session, build))


async def register(
    session: AsyncSession,
    principal: Principal,
    codec: PiiCodec,
    data: ClaimReportCreate,
    *,
    now: datetime,
) -> ClaimReport:
    """An agent takes a claim report. The statutory clocks start later, when the claims system
    reports the documents complete."""
    reported_at = rules.received_at(
        data.reported_at, data.reported_at_reason, now, field="reported_at"
    )
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
    return await _create(
        session,
        actor=principal.actor,
        branch_id=branch_id,
        channel=data.channel,
        reported_at=reported_at,
        customer_id=party.customer_id,
        policy=party.policy,
        policy_number=data.policy_number,
        product_line=data.product_line,
        incident_at=data.incident_at,
        description=data.description,
        now=now,
        reason=data.reported_at_reason,
    )


async def register_from_call(
    session: AsyncSession,
    *,
    actor: str,
    branch_id: uuid.UUID,
    reported_at: datetime,
    customer_id: uuid.UUID,
    policy: Policy | None,
    policy_number: str | None,
    description: str | None,
    call_id: str,
    now: datetime,
    batch: WriteBatch,
) -> ClaimReport:
    """A claim reported in the IVR; its rows join the IVR's ``batch``."""
    return await _create(
        session,
        actor=actor,
        branch_id=branch_id,
        channel="hotline",
        reported_at=reported_at,
        customer_id=customer_id,
        policy=policy,
        policy_number=policy_number,
        product_line=None,
        incident_at=None,
        description=description,
        now=now,
        source={"source": "ivr", "call_id": call_id},
        batch=batch,
    )


async def get(session: AsyncSession, principal: Principal, report_id: uuid.UUID) -> ClaimReport:
    report = await repository.get(session, principal, report_id)
    if report is None:
        raise NotFound(f"Claim report {report_id} does not exist.")
    return report


async def id_by_number(session: AsyncSession, principal: Principal, number: str) -> uuid.UUID:
    found = await repository.id_by_number(session, principal, number)
    if found is None:
        raise NotFound(f"Claim report {number} does not exist.")
    return found


async def view(session: AsyncSession, report: ClaimReport) -> ClaimReportOut:
    clock_rows = await clocks.clocks_for_subject(session, subject(report.id))
    fields = {
        name: getattr(report, name) for name in ClaimReportOut.model_fields if name != "clocks"
    }
    return ClaimReportOut(**fields, clocks=[clock_out(c) for c in clock_rows])


def allowed_events(report: ClaimReport) -> list[AllowedEvent]:
    """What the claims system may report next, read from the table the service enforces."""
    current = states.Status(report.status)
    decision = states.Decision(report.decision) if report.decision else None
    return [
        AllowedEvent(
            event=event.value,
            href=f"/v1/claim-reports/{report.id}/status",
            target_status=str(states.target(event, current, decision)),
        )
        for event in states.allowed_events(current, decision)
    ]


def open_query(
    principal: Principal,
    *,
    customer_id: Criterion | None = None,
    policy_number: Criterion | None = None,
) -> Select[Any] | None:
    """A caller's claim reports not closed or cancelled (by customer or policy), in scope, as
    open items (``app.tickets.items``) for the caller lookup."""
    return repository.open_query(principal, customer_id=customer_id, policy_number=policy_number)
