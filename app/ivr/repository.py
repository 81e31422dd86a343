"""The ``ivr_calls`` table: claim a call id, read a stored answer, store the answer."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.ivr.models import IvrCall


async def claim(session: AsyncSession, **values: Any) -> uuid.UUID | None:
    """Insert the call; ``None`` if (client, call id) exists. A concurrent retry's insert waits
    here on the first one's uncommitted row, and returns ``None`` once that commits."""
    call_id: uuid.UUID | None = await session.scalar(
        insert(IvrCall)
        .values(id=uuid.uuid4(), **values)
        .on_conflict_do_nothing(index_elements=[IvrCall.client_id, IvrCall.call_id])
        .returning(IvrCall.id)
    )
    return call_id


async def stored_answer(
    session: AsyncSession, client_id: uuid.UUID, call_id: str
) -> tuple[str, dict[str, Any]] | None:
    """The fingerprint and answer of a call already processed."""
    row = (
        await session.execute(
            select(IvrCall.fingerprint, IvrCall.response).where(
                IvrCall.client_id == client_id, IvrCall.call_id == call_id
            )
        )
    ).one_or_none()
    if row is None or row.response is None:
        return None
    return row.fingerprint, row.response


async def record_outcome(session: AsyncSession, row_id: uuid.UUID, **values: Any) -> None:
    await session.execute(update(IvrCall).where(IvrCall.id == row_id).values(**values))
