"""Clock sweepers running side by side (several instances, or a worker beside the service):
each breach is recorded exactly once, and a clock locked by someone else is skipped, not waited
for. Real, committing sessions on separate connections."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.clocks.sweeper import sweep
from app.db.session import make_session_factory
from tests.clocks.helpers import breached_per_clock, count_events, insert_overdue, local

HOUR = dt.timedelta(hours=1)


async def test_concurrent_sweepers_record_each_breach_exactly_once(
    committed: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    clocks = 800
    due_at = local(2025, 10, 14)
    await insert_overdue(committed, clocks, due_at)
    now = due_at + HOUR
    # Four sweepers, each with its own connections, small batches so that they overlap.
    results = await asyncio.gather(
        *(sweep(make_session_factory(engine), now, batch=20) for _ in range(4))
    )
    assert sum(result.breached for result in results) == clocks
    per_clock = await breached_per_clock(committed)
    assert len(per_clock) == clocks
    assert set(per_clock) == {1}
    async with committed() as session:
        marked = await session.scalar(
            text("SELECT count(*) FROM clocks WHERE breached_at IS NOT NULL")
        )
    assert marked == clocks
    assert (await sweep(committed, now + HOUR, batch=20)).breached == 0


async def test_a_locked_clock_is_skipped_not_waited_for(
    committed: async_sessionmaker[AsyncSession],
) -> None:
    due_at = local(2025, 10, 14)
    await insert_overdue(committed, 5, due_at)
    async with committed() as holder:
        locked = await holder.scalar(
            text("SELECT id FROM clocks ORDER BY due_at LIMIT 1 FOR UPDATE")
        )
        # Would block on the held row without SKIP LOCKED (this test would then hang).
        first = await sweep(committed, due_at + HOUR, batch=2)
        assert first.breached == 4
        await holder.rollback()
    second = await sweep(committed, due_at + HOUR, batch=2)
    assert second.breached == 1
    async with committed() as session:
        assert await count_events(session, "breached") == 5
        breached_at = await session.scalar(
            text("SELECT breached_at FROM clocks WHERE id = :id"), {"id": locked}
        )
    assert breached_at == due_at + HOUR
