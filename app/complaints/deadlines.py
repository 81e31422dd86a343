"""The complaint's clocks, by name: the complaint feature reaches clocks only through here."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.calendar import service as calendar_service
from app.calendar.schemas import DayUnit
from app.clocks import service as clocks
from app.clocks.models import Clock
from app.clocks.states import SubjectKind
from app.complaints.models import Complaint
from app.db.batch import WriteBatch

DEFAULT_CALENDAR = "CN"

C2 = "C2_supplement_or_confirm"
C3 = "C3_acceptance_notice"
C7 = "C7_handling_decision"
C9A = "C9a_review_request_window"
C9B = "C9b_review_decision"
C11 = "C11_regulator_reply"


def subject(complaint_id: uuid.UUID) -> clocks.Subject:
    return clocks.Subject(kind=SubjectKind.COMPLAINT, id=complaint_id)


async def all_of(session: AsyncSession, complaint_id: uuid.UUID) -> list[Clock]:
    return await clocks.clocks_for_subject(session, subject(complaint_id))


async def _open(session: AsyncSession, complaint_id: uuid.UUID) -> dict[str, Clock]:
    return {c.name: c for c in await all_of(session, complaint_id) if c.stopped_at is None}


async def start(
    session: AsyncSession,
    complaint_id: uuid.UUID,
    name: str,
    *,
    started_at: dt.datetime,
    rule_set_version: int,
    now: dt.datetime,
    actor: str,
    due_date: dt.date | None = None,
    batch: WriteBatch | None = None,
) -> Clock:
    return await clocks.start(
        session,
        subject=subject(complaint_id),
        definition=name,
        started_at=started_at,
        rule_set_version=rule_set_version,
        now=now,
        actor=actor,
        due_date=due_date,
        batch=batch,
    )


async def stop(
    session: AsyncSession,
    complaint_id: uuid.UUID,
    name: str,
    *,
    now: dt.datetime,
    actor: str,
    reason: str,
) -> bool:
    """Stop ``name`` if it is open; ``False`` if there was none to stop."""
    clock = (await _open(session, complaint_id)).get(name)
    if clock is None:
        return False
    await clocks.stop(session, clock.id, now=now, actor=actor, reason=reason)
    return True


async def cancel_open(
    session: AsyncSession,
    complaint_id: uuid.UUID,
    *,
    now: dt.datetime,
    actor: str,
    reason: str,
    keep: frozenset[str] = frozenset(),
) -> None:
    for name, clock in sorted((await _open(session, complaint_id)).items()):
        if name not in keep:
            await clocks.cancel(session, clock.id, now=now, actor=actor, reason=reason)


async def handling_clock(session: AsyncSession, complaint_id: uuid.UUID) -> Clock | None:
    return (await _open(session, complaint_id)).get(C7)


async def pause_handling(
    session: AsyncSession, complaint_id: uuid.UUID, *, now: dt.datetime, actor: str, reason: str
) -> None:
    clock = await handling_clock(session, complaint_id)
    if clock is not None:
        await clocks.pause(session, clock.id, now=now, actor=actor, reason=reason)


async def resume_handling(
    session: AsyncSession, complaint_id: uuid.UUID, *, now: dt.datetime, actor: str, reason: str
) -> None:
    clock = await handling_clock(session, complaint_id)
    if clock is not None and clock.paused_since is not None:
        await clocks.resume(session, clock.id, now=now, actor=actor, reason=reason)


async def extend_handling(
    session: AsyncSession,
    complaint_id: uuid.UUID,
    *,
    days: int,
    reason: str,
    approver: str,
    now: dt.datetime,
    actor: str,
) -> None:
    clock = await handling_clock(session, complaint_id)
    if clock is not None:
        await clocks.extend(
            session, clock.id, amount=days, reason=reason, approver=approver, now=now, actor=actor
        )


async def restart_handling(
    session: AsyncSession,
    complaint_id: uuid.UUID,
    *,
    started_at: dt.datetime,
    now: dt.datetime,
    actor: str,
    reason: str,
) -> bool:
    clock = await handling_clock(session, complaint_id)
    if clock is None:
        return False
    await clocks.restart(
        session, clock.id, started_at=started_at, now=now, actor=actor, reason=reason
    )
    return True


async def review_window_end(session: AsyncSession, complaint: Complaint) -> dt.date:
    """The last day the complainant may ask for a review (C9: 30 days from receiving the
    decision), from the complaint's own rule-set version. Not kept as a clock: the window is the
    complainant's, so its passing is no breach of ours."""
    rule = await clocks.definition(session, complaint.rule_set_version, C9A)
    assert complaint.decision_received_on is not None
    due = await calendar_service.due_date(
        session,
        DEFAULT_CALENDAR,
        start=complaint.decision_received_on,
        amount=rule.amount,
        unit=DayUnit(rule.unit),
        roll_forward=rule.roll_forward,
    )
    return due.due_date
