"""Writing the audit log: every administrative change and every reveal of personal data."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.models import AuditEvent
from app.access.principal import Principal
from app.core.clock import utc_now
from app.core.request_context import current_request_id
from app.db.batch import WriteBatch


async def record(
    session: AsyncSession,
    actor: Principal | str,
    action: str,
    *,
    target_kind: str,
    target_id: object | None = None,
    batch: WriteBatch | None = None,
    **details: Any,
) -> None:
    """Append one audit event in the caller's transaction (so it commits with the change), or
    into ``batch``, to go in the same statement as the change it records."""
    row = {
        "at": utc_now(),
        "actor": actor.actor if isinstance(actor, Principal) else actor,
        "action": action,
        "target_kind": target_kind,
        "target_id": None if target_id is None else str(target_id),
        "request_id": current_request_id(),
        "details": details,
    }
    if batch is not None:
        batch.insert(AuditEvent.__table__, row)  # type: ignore[arg-type]
        return
    await session.execute(insert(AuditEvent).values(**row))
