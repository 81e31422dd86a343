"""What every ticket kind shows the same way: its clocks, its timeline page, and a date in
plain Chinese for the IVR to read out."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.api.pagination import Page, PageParams, encode_cursor
from app.clocks.models import Clock
from app.clocks.states import state_of
from app.complaints.schemas import ClockOut, TimelineEvent
from app.core.errors import InvalidCursor
from app.events import service as events


def clock_out(clock: Clock) -> ClockOut:
    return ClockOut(
        name=clock.name,
        state=state_of(
            paused=clock.paused_since is not None, stopped=clock.stopped_at is not None
        ).value,
        started_at=clock.started_at,
        due_date=clock.due_date,
        due_at=clock.due_at,
        provisional=clock.provisional,
        breached=clock.breached_at is not None,
        breached_at=clock.breached_at,
        outcome=clock.outcome,
        stopped_at=clock.stopped_at,
    )


async def timeline_page(
    session: AsyncSession, ticket_kind: str, ticket_id: uuid.UUID, page: PageParams
) -> Page[TimelineEvent]:
    """One page of the ticket's events, oldest first (the cursor is the last event id)."""
    after = page.after()
    if after is not None and (len(after) != 1 or not isinstance(after[0], int)):
        raise InvalidCursor()
    rows = await events.timeline(
        session, ticket_kind, ticket_id, after_id=after[0] if after else 0, limit=page.limit + 1
    )
    items = rows[: page.limit]
    next_cursor = encode_cursor([items[-1].id]) if len(rows) > page.limit else None
    return Page[TimelineEvent](
        items=[TimelineEvent.model_validate(e) for e in items], next_cursor=next_cursor
    )


def chinese_date(day: dt.date) -> str:
    """``2026年11月23日``: how the IVR reads a date to a caller."""
    return f"{day.year}年{day.month}月{day.day}日"
