"""Queries on claim reports. Every read goes through ``readable_by``: out of scope is not found."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.principal import Principal
from app.access.scope import readable_by
from app.claims.models import NUMBER_SEQUENCE, ClaimReport
from app.claims.states import OPEN
from app.db.keyset import after_key
from app.tickets import numbers
from app.tickets.items import Criterion, item_query


async def next_number(session: AsyncSession, on: date) -> str:
    """``CR20261122000123`` (``app.tickets.numbers``)."""
    return await numbers.next_number(session, "CR", on, NUMBER_SEQUENCE)


async def get(
    session: AsyncSession, principal: Principal, report_id: uuid.UUID, *, lock: bool = False
) -> ClaimReport | None:
    query = select(ClaimReport).where(
        ClaimReport.id == report_id, readable_by(principal, ClaimReport.branch_id)
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    report: ClaimReport | None = await session.scalar(query)
    return report


async def id_by_number(
    session: AsyncSession, principal: Principal, number: str
) -> uuid.UUID | None:
    found: uuid.UUID | None = await session.scalar(
        select(ClaimReport.id).where(
            ClaimReport.number == number, readable_by(principal, ClaimReport.branch_id)
        )
    )
    return found


async def claim_number_taken(
    session: AsyncSession, claim_number: str, report_id: uuid.UUID
) -> bool:
    other = await session.scalar(
        select(ClaimReport.id).where(
            ClaimReport.claim_number == claim_number, ClaimReport.id != report_id
        )
    )
    return other is not None


@dataclass(frozen=True)
class ClaimReportFilter:
    status: str | None = None
    branch_id: uuid.UUID | None = None
    channel: str | None = None
    customer_id: uuid.UUID | None = None
    policy_number: str | None = None
    claim_number: str | None = None
    product_line: str | None = None
    reported_from: datetime | None = None
    reported_to: datetime | None = None


def _where(flt: ClaimReportFilter) -> list[Any]:
    equal = {
        ClaimReport.status: flt.status,
        ClaimReport.branch_id: flt.branch_id,
        ClaimReport.channel: flt.channel,
        ClaimReport.customer_id: flt.customer_id,
        ClaimReport.policy_number: flt.policy_number,
        ClaimReport.claim_number: flt.claim_number,
        ClaimReport.product_line: flt.product_line,
    }
    conditions: list[Any] = [c == v for c, v in equal.items() if v is not None]
    if flt.reported_from is not None:
        conditions.append(ClaimReport.reported_at >= flt.reported_from)
    if flt.reported_to is not None:
        conditions.append(ClaimReport.reported_at < flt.reported_to)
    return conditions


async def search(
    session: AsyncSession,
    principal: Principal,
    flt: ClaimReportFilter,
    *,
    limit: int,
    after: list[Any] | None,
) -> list[ClaimReport]:
    query = after_key(
        select(ClaimReport).where(readable_by(principal, ClaimReport.branch_id), *_where(flt)),
        ClaimReport.created_at,
        ClaimReport.id,
        after,
    ).limit(limit)
    return list((await session.scalars(query)).all())


def open_query(
    principal: Principal, *, customer_id: Criterion | None, policy_number: Criterion | None
) -> Select[Any] | None:
    """Reports not closed or cancelled, of this customer or policy number, as open items."""
    condition: Any
    if policy_number is not None:
        condition = ClaimReport.policy_number == policy_number
    elif customer_id is not None:
        condition = ClaimReport.customer_id == customer_id
    else:
        return None
    return item_query(
        "claim_report",
        ClaimReport.id,
        ClaimReport.number,
        ClaimReport.status,
        ClaimReport.branch_id,
        ClaimReport.reported_at,
    ).where(
        condition,
        ClaimReport.status.in_(sorted(s.value for s in OPEN)),
        readable_by(principal, ClaimReport.branch_id),
    )
