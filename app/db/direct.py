"""asyncpg's own pool, beside SQLAlchemy's, for statements sent alone on a hot path.

A statement sent alone (no BEGIN, no COMMIT: :meth:`app.db.batch.WriteBatch.execute` with
``alone=True``) needs nothing of the ORM session around it. Through the session it still paid
for one: the connection checked out of SQLAlchemy's pool through the greenlet bridge, switched
to autocommit, executed through SQLAlchemy's cursor adapter, then checked in and reset —
measured at about 0.25 ms of CPU a request, against 0.06 ms for the same statement on an
asyncpg connection of asyncpg's own pool. On a two-core machine where the service's CPU is
the limit, that is a tenth of a registration.

Every engine built by :func:`app.db.session.create_engine_from_settings` gets one, with the
same server and connection settings (time zone, statement timeout, application name). A session
bound to a connection (the tests' rollback fixture) or already in a transaction never uses it:
its statements stay in that transaction.

Failures are asyncpg's own exceptions. :func:`app.db.errors.is_database_unavailable` knows
them, so an outage is still a 503 with ``Retry-After``. A connection the server closed while
it lay idle (a restart) is replaced by asyncpg's pool when next acquired. One lost while a
statement was on it is not retried: the statement may have committed, so the request is a 503
and the client retries it (with its idempotency key, a retry cannot duplicate).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence
from typing import Any

import asyncpg
import orjson
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

# SQLAlchemy's asyncpg dialect names these differently from asyncpg, or adds them itself.
_DIALECT_ONLY = ("prepared_statement_cache_size", "prepared_statement_name_func")


class DirectPool:
    """Opened on first use (the engine may be built before the event loop runs)."""

    def __init__(self, connect_kwargs: dict[str, Any], max_size: int, acquire_timeout: float):
        self._connect_kwargs = connect_kwargs
        self._max_size = max_size
        self._acquire_timeout = acquire_timeout
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def fetchrow(self, sql: str, args: Sequence[Any]) -> asyncpg.Record | None:
        rows = await self.fetch(sql, args)
        return rows[0] if rows else None

    async def fetch(self, sql: str, args: Sequence[Any]) -> list[asyncpg.Record]:
        pool = self._pool or await self._open()
        for attempt in (1, 2):
            async with pool.acquire(timeout=self._acquire_timeout) as connection:
                try:
                    rows: list[asyncpg.Record] = await connection.fetch(sql, *args)
                    return rows
                except asyncpg.exceptions.InternalClientError:
                    # The connection was still taking in an error the server sent while it lay
                    # idle (a shutdown's "terminating connection"); asyncpg refuses before
                    # sending anything, so the statement can go once more on a new connection.
                    connection.terminate()
                    if attempt == 2:
                        raise
                except asyncpg.PostgresError:
                    raise  # the server answered: the connection is in a known state
                except BaseException:
                    # Cut off mid-exchange (connection lost, request cancelled): its state is
                    # unknown, and the pool's reset does nothing (below), so never reuse it.
                    connection.terminate()
                    raise
        raise AssertionError("unreachable")

    async def _open(self) -> asyncpg.Pool:
        async with self._opening:
            if self._pool is None:
                # min_size 0: nothing is opened until needed, and a failed first connect (the
                # database down) is a failed request, not a pool left half built.
                self._pool = await asyncpg.create_pool(
                    min_size=0, max_size=self._max_size, init=_json_as_python,
                    reset=_nothing_to_reset, **self._connect_kwargs,
                )  # fmt: skip
            return self._pool

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()


async def _json_as_python(connection: asyncpg.Connection) -> None:
    # As through SQLAlchemy: json and jsonb values read back as Python objects, not text.
    for name in ("json", "jsonb"):
        await connection.set_type_codec(
            name, schema="pg_catalog", encoder=_json_text, decoder=orjson.loads
        )


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


async def _nothing_to_reset(_connection: asyncpg.Connection) -> None:
    # asyncpg's default reset sends "SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    # RESET ALL" on every release: a round trip a request. Nothing sent through this pool takes
    # advisory locks, opens cursors, listens or sets anything, so there is nothing to undo.
    return None


_pools: weakref.WeakKeyDictionary[Engine, DirectPool] = weakref.WeakKeyDictionary()


def attach(
    engine: AsyncEngine, connect_args: dict[str, Any], max_size: int, acquire_timeout: float
) -> None:
    """Give ``engine`` a direct pool to the same database, with the same connect arguments."""
    _, url_kwargs = engine.dialect.create_connect_args(engine.url)
    kwargs = {**url_kwargs, **connect_args}
    statement_cache = kwargs.pop("prepared_statement_cache_size", None)
    for name in _DIALECT_ONLY:
        kwargs.pop(name, None)
    if statement_cache is not None:
        kwargs["statement_cache_size"] = statement_cache
    _pools[engine.sync_engine] = DirectPool(kwargs, max_size, acquire_timeout)


def pool_for(session: AsyncSession) -> DirectPool | None:
    """The direct pool a statement of ``session`` may go through alone: only while the session
    has sent nothing (no transaction to join) and is bound to an engine that has one."""
    bind = session.bind
    if not isinstance(bind, AsyncEngine) or session.in_transaction():
        return None
    return _pools.get(bind.sync_engine)


async def dispose(engine: AsyncEngine) -> None:
    """Close the engine's direct pool, then the engine's own (both open again when next used,
    as SQLAlchemy's does after ``dispose``)."""
    pool = _pools.get(engine.sync_engine)
    if pool is not None:
        await pool.close()
    await engine.dispose()
