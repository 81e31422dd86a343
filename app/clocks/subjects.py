"""Clock operations by subject and name, for ticket features that keep no clock ids: stop the
open clock called X, cancel every open clock, and the next due clock of many tickets at once."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.clocks import service
from app.clocks.models import Clock
from app.clocks.states import SubjectKind


async def _open(session: AsyncSession, subject: service.Subject) -> dict[str, Clock]:
    clocks = await service.clocks_for_subject(session, subject)
    return {c.name: c for c in clocks if c.stopped_at is None}


async def stop_open(
    session: AsyncSession,
    subject: service.Subject,
    name: str,
    *,
    now: dt.datetime,
    actor: str,
    reason: str,
) -> bool:
    """Stop the open clock ``name`` (met or met late); ``False`` if none is open."""
    clock = (await _open(session, subject)).get(name)
    if clock is None:
        return False
    await service.stop(session, clock.id, now=now, actor=actor, reason=reason)
    return True


async def cancel_open(
    session: AsyncSession,
    subject: service.Subject,
    *,
    now: dt.datetime,
    actor: str,
    reason: str,
    only: frozenset[str] | None = None,
) -> list[str]:
    """Cancel the open clocks (all, or those named in ``only``); returns their names."""
    cancelled = []
    for name, clock in sorted((await _open(session, subject)).items()):
        if only is None or name in only:
            await service.cancel(session, clock.id, now=now, actor=actor, reason=reason)
            cancelled.append(name)
    return cancelled


async def next_due(
    session: AsyncSession, subjects: Mapping[SubjectKind, Collection[uuid.UUID]]
) -> dict[tuple[str, uuid.UUID], Clock]:
    """The open clock due first on each subject, in one query (``ix_clocks_subject``)."""
    groups = [
        and_(Clock.subject_kind == kind.value, Clock.subject_id.in_(list(ids)))
        for kind, ids in subjects.items()
        if ids
    ]
    if not groups:
        return {}
    query = (
        select(Clock)
        .where(or_(*groups), Clock.stopped_at.is_(None))
        .order_by(Clock.subject_kind, Clock.subject_id, Clock.due_at)
        .distinct(Clock.subject_kind, Clock.subject_id)
    )
    return {(c.subject_kind, c.subject_id): c for c in (await session.scalars(query)).all()}


def next_due_lateral(kind: Any, subject_id: Any) -> Any:
    """A LATERAL subquery: the open clock due first on the subject (``kind``, ``subject_id``)
    of the enclosing query (``ix_clocks_subject``), to join onto a list of tickets."""
    return (
        select(
            Clock.name.label("clock_name"),
            Clock.due_date,
            Clock.due_at,
            Clock.provisional,
            Clock.breached_at,
        )
        .where(
            Clock.subject_kind == kind, Clock.subject_id == subject_id, Clock.stopped_at.is_(None)
        )
        .order_by(Clock.due_at)
        .limit(1)
        .lateral("next_clock")
    )
