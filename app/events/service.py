"""Appending to and reading ticket timelines."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.request_context import current_request_id
from app.db.batch import WriteBatch
from app.events.models import TicketEvent


async def append(
    session: AsyncSession,
    *,
    ticket_kind: str,
    ticket_id: uuid.UUID,
    at: datetime,
    actor: str,
    action: str,
    from_status: str | None = None,
    to_status: str | None = None,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
    batch: WriteBatch | None = None,
) -> None:
    """Append one event in the caller's transaction: it commits with the change it records
    (with ``batch``, in the batch's one statement)."""
    row = {
        "ticket_kind": ticket_kind,
        "ticket_id": ticket_id,
        "at": at,
        "actor": actor,
        "action": action,
        "from_status": from_status,
        "to_status": to_status,
        "reason": reason,
        "request_id": current_request_id(),
        "data": data or {},
    }
    if batch is not None:
        batch.insert(TicketEvent.__table__, row)  # type: ignore[arg-type]
        return
    await session.execute(insert(TicketEvent).values(**row))


async def timeline(
    session: AsyncSession, ticket_kind: str, ticket_id: uuid.UUID, *, after_id: int, limit: int
) -> list[TicketEvent]:
    rows = await session.scalars(
        select(TicketEvent)
        .where(
            TicketEvent.ticket_kind == ticket_kind,
            TicketEvent.ticket_id == ticket_id,
            TicketEvent.id > after_id,
        )
        .order_by(TicketEvent.id)
        .limit(limit)
    )
    return list(rows.all())


def first_data(ticket_kind: str, ticket_id: Any, action: str) -> ColumnElement[Any]:
    """The data of a ticket's first event of ``action`` (null if it has none), as a scalar
    subquery for a statement over many tickets (``ticket_id``: a column of that statement)."""
    return (
        select(TicketEvent.data)
        .where(
            TicketEvent.ticket_kind == ticket_kind,
            TicketEvent.ticket_id == ticket_id,
            TicketEvent.action == action,
        )
        .order_by(TicketEvent.id)
        .limit(1)
        .scalar_subquery()
    )
