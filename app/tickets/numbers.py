"""Ticket numbers: ``IQ20261122000123`` — a prefix, the receipt day and a sequence value (at
least six digits; gaps are fine, repeats are not).

Values are drawn from the sequence a block at a time: one round trip per block rather than one
per ticket, so a new ticket's rows can all go to the database in one statement
(``app.db.batch``). Each process holds its own block, so numbers from two processes interleave
and a process that stops leaves its unused values as gaps — both fine for a reference number
(the receipt time orders tickets; a rolled-back insert left a gap anyway).
"""

from __future__ import annotations

import datetime as dt
from collections import deque

from sqlalchemy import Engine, Sequence, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import direct

BLOCK = 20

# Per engine and sequence (tests use several databases in one process): a value is only ever
# used in the database that issued it. Keyed by the engine object itself: hashing its URL
# renders the URL as text, on every call.
_blocks: dict[tuple[Engine, str], deque[int]] = {}


async def next_number(session: AsyncSession, prefix: str, on: dt.date, sequence: Sequence) -> str:
    engine = session.sync_session.get_bind().engine
    values = _blocks.setdefault((engine, sequence.name), deque())
    if not values:
        values.extend(sorted(await _draw(session, sequence)))
    return f"{prefix}{on:%Y%m%d}{values.popleft():06d}"


async def _draw(session: AsyncSession, sequence: Sequence) -> list[int]:
    pool = direct.pool_for(session)
    if pool is not None:
        # Sequence values are not transactional: drawing them outside the request's session
        # keeps that session free of a transaction, so its batch can still go alone.
        row = await pool.fetchrow(_DRAW, (sequence.name, BLOCK))
        assert row is not None
        return list(row[0])
    drawn = await session.scalars(
        select(sequence.next_value()).select_from(func.generate_series(1, BLOCK))
    )
    return [int(value) for value in drawn.all()]


_DRAW = "SELECT array_agg(nextval($1::regclass)) FROM generate_series(1, $2)"
