"""Queries on complaints. Every read goes through ``readable_by``: out of scope is not found."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, Sequence, and_, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.principal import Principal
from app.access.scope import readable_by
from app.clocks.models import Clock
from app.complaints.models import ComplainantPhone, Complaint, ComplaintCause, ComplaintNotice
from app.db.keyset import after_key
from app.tickets import numbers
from app.tickets.items import Criterion, item_query

NUMBER_SEQUENCE = Sequence("complaint_number_seq", metadata=Complaint.metadata)


async def next_number(session: AsyncSession, on: date) -> str:
    """``TS20261122000123``: the receipt day and a sequence (``app.tickets.numbers``)."""
    return await numbers.next_number(session, "TS", on, NUMBER_SEQUENCE)


_CAUSES_TTL_SECONDS = 60.0
_active_causes: tuple[float, frozenset[str]] = (0.0, frozenset())


async def cause_exists(session: AsyncSession, code: str) -> bool:
    """Whether ``code`` is an active cause. The list is data that changes rarely: it is read at
    most once a minute per process (a cause added now is accepted within that)."""
    global _active_causes
    loaded_at, codes = _active_causes
    if code in codes and time.monotonic() - loaded_at < _CAUSES_TTL_SECONDS:
        return True
    rows = await session.scalars(select(ComplaintCause.code).where(ComplaintCause.active))
    _active_causes = (time.monotonic(), frozenset(rows.all()))
    return code in _active_causes[1]


async def get(
    session: AsyncSession, principal: Principal, complaint_id: uuid.UUID, *, lock: bool = False
) -> Complaint | None:
    query = select(Complaint).where(
        Complaint.id == complaint_id, readable_by(principal, Complaint.branch_id)
    )
    if lock:
        query = query.with_for_update()
    complaint: Complaint | None = await session.scalar(query)
    return complaint


async def phones_of(session: AsyncSession, complaint_id: uuid.UUID) -> list[ComplainantPhone]:
    rows = await session.scalars(
        select(ComplainantPhone)
        .where(ComplainantPhone.complaint_id == complaint_id)
        .order_by(ComplainantPhone.position)
    )
    return list(rows.all())


async def notices_of(session: AsyncSession, complaint_id: uuid.UUID) -> list[ComplaintNotice]:
    rows = await session.scalars(
        select(ComplaintNotice)
        .where(ComplaintNotice.complaint_id == complaint_id)
        .order_by(ComplaintNotice.sent_at, ComplaintNotice.id)
    )
    return list(rows.all())


@dataclass(frozen=True)
class ComplaintFilter:
    status: str | None = None
    branch_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    channel: str | None = None
    cause_code: str | None = None
    product_line: str | None = None
    received_from: datetime | None = None
    received_to: datetime | None = None
    phone_hash: str | None = None
    id_number_hash: str | None = None
    policy_number: str | None = None
    breached: bool | None = None
    due_before: datetime | None = None
    clock_name: str | None = None
    statuses: frozenset[str] | None = None


def _clock_condition(flt: ComplaintFilter) -> Any | None:
    """EXISTS over the complaint's clocks, for the breached / due-before / clock-name filters."""
    if flt.breached is None and flt.due_before is None and flt.clock_name is None:
        return None
    conditions = [Clock.subject_kind == "complaint", Clock.subject_id == Complaint.id]
    if flt.clock_name is not None:
        conditions.append(Clock.name == flt.clock_name)
    if flt.breached is True:
        conditions.append(Clock.breached_at.is_not(None))
    if flt.due_before is not None:
        conditions += [Clock.stopped_at.is_(None), Clock.due_at < flt.due_before]
    condition = exists().where(and_(*conditions))
    return ~condition if flt.breached is False else condition


def _where(flt: ComplaintFilter) -> list[Any]:
    equal = {
        Complaint.status: flt.status,
        Complaint.branch_id: flt.branch_id,
        Complaint.assignee_id: flt.assignee_id,
        Complaint.channel: flt.channel,
        Complaint.cause_code: flt.cause_code,
        Complaint.product_line: flt.product_line,
        Complaint.policy_number: flt.policy_number,
        Complaint.id_number_hash: flt.id_number_hash,
    }
    conditions: list[Any] = [
        column == value for column, value in equal.items() if value is not None
    ]
    if flt.statuses is not None:
        conditions.append(Complaint.status.in_(sorted(flt.statuses)))
    if flt.received_from is not None:
        conditions.append(Complaint.received_at >= flt.received_from)
    if flt.received_to is not None:
        conditions.append(Complaint.received_at < flt.received_to)
    if flt.phone_hash is not None:
        conditions.append(
            exists().where(
                ComplainantPhone.complaint_id == Complaint.id,
                ComplainantPhone.phone_hash == flt.phone_hash,
            )
        )
    clock_condition = _clock_condition(flt)
    if clock_condition is not None:
        conditions.append(clock_condition)
    return conditions


async def search(
    session: AsyncSession,
    principal: Principal,
    flt: ComplaintFilter,
    *,
    limit: int,
    after: list[Any] | None,
) -> list[Complaint]:
    query = after_key(
        select(Complaint).where(readable_by(principal, Complaint.branch_id), *_where(flt)),
        Complaint.created_at,
        Complaint.id,
        after,
    ).limit(limit)
    return list((await session.scalars(query)).all())


def in_progress_query(
    principal: Principal,
    *,
    phone_hash: Criterion | None,
    policy_number: Criterion | None,
    statuses: frozenset[str],
) -> Select[Any]:
    """The caller's complaints in these statuses, as open items (``app.tickets.items``)."""
    condition = (
        Complaint.policy_number == policy_number
        if policy_number is not None
        else Complaint.id.in_(
            select(ComplainantPhone.complaint_id).where(ComplainantPhone.phone_hash == phone_hash)
        )
    )
    return item_query(
        "complaint",
        Complaint.id,
        Complaint.number,
        Complaint.status,
        Complaint.branch_id,
        Complaint.received_at,
    ).where(
        condition,
        Complaint.status.in_(sorted(statuses)),
        readable_by(principal, Complaint.branch_id),
    )
