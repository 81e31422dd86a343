"""Queries on inquiries. Every read goes through ``readable_by``: out of scope is not found."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.principal import Principal
from app.access.scope import readable_by
from app.db.keyset import after_key
from app.inquiries.models import NUMBER_SEQUENCE, Inquiry
from app.inquiries.states import AWAITING_ANSWER
from app.tickets import numbers
from app.tickets.items import Criterion, item_query


async def next_number(session: AsyncSession, on: date) -> str:
    """``IQ20261122000123`` (``app.tickets.numbers``)."""
    return await numbers.next_number(session, "IQ", on, NUMBER_SEQUENCE)


async def get(
    session: AsyncSession, principal: Principal, inquiry_id: uuid.UUID, *, lock: bool = False
) -> Inquiry | None:
    query = select(Inquiry).where(
        Inquiry.id == inquiry_id, readable_by(principal, Inquiry.branch_id)
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    inquiry: Inquiry | None = await session.scalar(query)
    return inquiry


@dataclass(frozen=True)
class InquiryFilter:
    status: str | None = None
    branch_id: uuid.UUID | None = None
    channel: str | None = None
    customer_id: uuid.UUID | None = None
    policy_number: str | None = None
    product_line: str | None = None
    first_contact_resolution: bool | None = None
    received_from: datetime | None = None
    received_to: datetime | None = None


def _where(flt: InquiryFilter) -> list[Any]:
    equal = {
        Inquiry.status: flt.status,
        Inquiry.branch_id: flt.branch_id,
        Inquiry.channel: flt.channel,
        Inquiry.customer_id: flt.customer_id,
        Inquiry.policy_number: flt.policy_number,
        Inquiry.product_line: flt.product_line,
        Inquiry.first_contact_resolution: flt.first_contact_resolution,
    }
    conditions: list[Any] = [c == v for c, v in equal.items() if v is not None]
    if flt.received_from is not None:
        conditions.append(Inquiry.received_at >= flt.received_from)
    if flt.received_to is not None:
        conditions.append(Inquiry.received_at < flt.received_to)
    return conditions


async def search(
    session: AsyncSession,
    principal: Principal,
    flt: InquiryFilter,
    *,
    limit: int,
    after: list[Any] | None,
) -> list[Inquiry]:
    query = after_key(
        select(Inquiry).where(readable_by(principal, Inquiry.branch_id), *_where(flt)),
        Inquiry.created_at,
        Inquiry.id,
        after,
    ).limit(limit)
    return list((await session.scalars(query)).all())


def awaiting_answer_query(
    principal: Principal, *, customer_id: Criterion | None, policy_number: Criterion | None
) -> Select[Any] | None:
    """Inquiries still owed an answer, of this customer or policy number, as open items."""
    condition: Any
    if policy_number is not None:
        condition = Inquiry.policy_number == policy_number
    elif customer_id is not None:
        condition = Inquiry.customer_id == customer_id
    else:
        return None
    return item_query(
        "inquiry",
        Inquiry.id,
        Inquiry.number,
        Inquiry.status,
        Inquiry.branch_id,
        Inquiry.received_at,
    ).where(
        condition,
        Inquiry.status.in_(sorted(s.value for s in AWAITING_ANSWER)),
        readable_by(principal, Inquiry.branch_id),
    )
