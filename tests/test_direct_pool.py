"""The direct pool (``app.db.direct``) carries the statements sent alone: the complaint
registration's batch, the ticket-number draws. A connection the server closed under it must
not cost a request."""

from __future__ import annotations

import asyncio

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import direct


async def _backend_of(pool: direct.DirectPool) -> int:
    row = await pool.fetchrow("SELECT pg_backend_pid()", ())
    assert row is not None
    return int(row[0])


async def test_a_session_that_sent_nothing_sends_alone_through_the_direct_pool(
    committed: async_sessionmaker[AsyncSession],
) -> None:
    async with committed() as session:
        assert direct.pool_for(session) is not None
        await session.connection()  # now there is a transaction: its statements stay in it
        assert direct.pool_for(session) is None


async def test_a_connection_the_server_closed_while_idle_is_replaced(
    committed: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    async with committed() as session:
        pool = direct.pool_for(session)
    assert pool is not None
    closed = await _backend_of(pool)
    admin = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", closed)
        # pg_terminate_backend only signals: wait until the backend has gone (a restart's
        # connections are closed long before the next request). A statement sent while the
        # backend is still exiting is lost mid-operation, its outcome unknown: a 503, not this.
        for _ in range(200):
            gone = await admin.fetchval(
                "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)", closed
            )
            if gone:
                break
            await asyncio.sleep(0.01)
        assert gone
    finally:
        await admin.close()
    for pause in (0.0, 0.05):  # whether or not the client has read the end of the connection
        await asyncio.sleep(pause)
        assert await _backend_of(pool) != closed
