"""The change feed: every domain event once, in a stable order, resumable by cursor."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.api.pagination import decode_cursor, encode_cursor
from app.core.errors import InvalidCursor
from app.core.redaction import redact
from app.feed import repository
from app.feed.models import OutboxEvent
from app.feed.repository import START, Position
from app.feed.schemas import FeedEvent, FeedPage, TicketRef


def encode_position(position: Position) -> str:
    return encode_cursor([position.xact_id, position.id])


def decode_position(cursor: str | None) -> Position:
    if not cursor:
        return START
    key = decode_cursor(cursor)
    if len(key) != 2 or not all(isinstance(part, int) and part >= 0 for part in key):
        raise InvalidCursor("The cursor is not one this service issued.")
    return Position(int(key[0]), int(key[1]))


def _masked(value: Any) -> Any:
    """Free text (reasons, remedies) may quote a phone or ID number: mask it on the way out."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


def render(event: OutboxEvent) -> FeedEvent:
    ticket = None
    if event.ticket_kind is not None and event.ticket_id is not None:
        ticket = TicketRef(kind=event.ticket_kind, id=event.ticket_id)
    return FeedEvent(
        id=event.id,
        cursor=encode_position(Position(event.xact_id, event.id)),
        type=event.type,
        occurred_at=event.occurred_at,
        recorded_at=event.recorded_at,
        ticket=ticket,
        actor=event.actor,
        data=_masked(event.payload),
    )


async def page(session: AsyncSession, cursor: str | None, *, limit: int) -> FeedPage:
    """The events after ``cursor`` (from the beginning without one), oldest first."""
    position = decode_position(cursor)
    rows = await repository.read_after(session, position, limit=limit)
    if rows:
        position = Position(rows[-1].xact_id, rows[-1].id)
    return FeedPage(items=[render(row) for row in rows], next_cursor=encode_position(position))


async def start_position(session: AsyncSession) -> Position:
    """Where a new reader (a webhook subscription) starts: it gets every event of every
    transaction still running or yet to come, and none of those already over."""
    return await repository.horizon_position(session)
