"""The ``ivr_calls`` table: claim a call id, read a stored answer, store the answer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import DateTime, bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.batch import WriteBatch
from app.ivr.models import IvrCall

# Written out (not the dialect's insert(), whose ON CONFLICT form SQLAlchemy does not cache):
# this runs on every IVR request.
_CLAIM = text(
    """
    INSERT INTO ivr_calls (id, client_id, call_id, fingerprint, intent, status,
        caller_phone_enc, caller_phone_hash, called_number, started_at, ended_at, menu_path,
        policy_number, id_digits_hash, recording_ref, transcript)
    VALUES (:id, :client_id, :call_id, :fingerprint, :intent, :status,
        :caller_phone_enc, :caller_phone_hash, :called_number, :started_at, :ended_at, :menu_path,
        :policy_number, :id_digits_hash, :recording_ref, :transcript)
    ON CONFLICT (client_id, call_id) DO NOTHING
    RETURNING id, (SELECT b.id FROM branches b WHERE b.code = :default_branch) AS default_branch_id
    """
).bindparams(
    bindparam("started_at", type_=DateTime(timezone=True)),
    bindparam("ended_at", type_=DateTime(timezone=True)),
)


@dataclass(frozen=True, slots=True)
class Claimed:
    row_id: uuid.UUID
    default_branch_id: uuid.UUID | None
    """The branch of the default intake code (read in the same round trip, for calls that
    neither a policy nor the API key place)."""


async def claim(session: AsyncSession, *, default_branch: str, **values: Any) -> Claimed | None:
    """Insert the call; ``None`` if (client, call id) exists. A concurrent retry's insert waits
    here on the first one's uncommitted row, and returns ``None`` once that commits."""
    row = (
        await session.execute(
            _CLAIM, {"id": uuid.uuid4(), "default_branch": default_branch, **values}
        )
    ).one_or_none()
    return None if row is None else Claimed(row.id, row.default_branch_id)


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


def record_outcome(batch: WriteBatch, row_id: uuid.UUID, **values: Any) -> None:
    """The call's outcome and stored answer, in the same statement as the ticket it made."""
    batch.update(IvrCall.__table__, "id", {"id": row_id, **values})  # type: ignore[arg-type]
