"""The sweeper: records breaches and warnings as facts, once, however many instances run.

Each batch is one statement in one short transaction: candidate rows are picked with
``FOR UPDATE SKIP LOCKED`` (another sweeper's rows are skipped, not waited for), updated with
the conditions repeated (a row another sweeper just committed no longer qualifies), and the
ledger event is inserted from the UPDATE's ``RETURNING`` rows — so a clock is breached, and its
``breached`` event written, exactly once. Breaches are never cleared by anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import utc_now
from app.db.errors import is_database_unavailable

logger = logging.getLogger(__name__)

SWEEPER_ACTOR = "system:sweeper"

_RUNNING = "c.stopped_at IS NULL AND c.paused_since IS NULL"

BREACH_BATCH = text(
    f"""
    WITH candidates AS (
        SELECT c.id FROM clocks c
        WHERE c.due_at < :now AND c.breached_at IS NULL AND {_RUNNING}
        ORDER BY c.due_at
        LIMIT :batch
        FOR UPDATE SKIP LOCKED
    ), breached AS (
        UPDATE clocks c
        SET breached_at = :now, version = c.version + 1, updated_at = :now
        FROM candidates
        WHERE c.id = candidates.id
          AND c.due_at < :now AND c.breached_at IS NULL AND {_RUNNING}
        RETURNING c.id, c.due_at
    )
    INSERT INTO clock_events (clock_id, kind, at, actor, old_due_at, new_due_at, data)
    SELECT id, 'breached', :now, :actor, due_at, due_at, '{{}}'::jsonb FROM breached
    """  # noqa: S608 - only constant fragments are interpolated; values are bound parameters
)

WARN_BATCH = text(
    f"""
    WITH candidates AS (
        SELECT c.id FROM clocks c
        WHERE c.warn_at IS NOT NULL AND c.warn_at <= :now AND c.warned_at IS NULL
          AND c.breached_at IS NULL AND {_RUNNING}
        ORDER BY c.warn_at
        LIMIT :batch
        FOR UPDATE SKIP LOCKED
    ), warned AS (
        UPDATE clocks c
        SET warned_at = :now, version = c.version + 1, updated_at = :now
        FROM candidates
        WHERE c.id = candidates.id
          AND c.warn_at <= :now AND c.warned_at IS NULL AND c.breached_at IS NULL AND {_RUNNING}
        RETURNING c.id, c.due_at, c.warn_at
    )
    INSERT INTO clock_events (clock_id, kind, at, actor, old_due_at, new_due_at, data)
    SELECT id, 'warned', :now, :actor, due_at, due_at, jsonb_build_object('warn_at', warn_at)
    FROM warned
    """  # noqa: S608 - only constant fragments are interpolated; values are bound parameters
)


@dataclass(frozen=True, slots=True)
class SweepResult:
    breached: int
    warned: int


async def breach_batch(session: AsyncSession, now: dt.datetime, *, batch: int) -> int:
    """Record up to ``batch`` breaches in ``session``'s transaction; returns how many."""
    params = {"now": now, "batch": batch, "actor": SWEEPER_ACTOR}
    result = await session.execute(BREACH_BATCH, params)
    return int(result.rowcount)  # type: ignore[attr-defined]


async def warn_batch(session: AsyncSession, now: dt.datetime, *, batch: int) -> int:
    """Record up to ``batch`` warnings in ``session``'s transaction; returns how many."""
    params = {"now": now, "batch": batch, "actor": SWEEPER_ACTOR}
    result = await session.execute(WARN_BATCH, params)
    return int(result.rowcount)  # type: ignore[attr-defined]


Rest = Callable[[float], Awaitable[None]]


async def _drain(
    session_factory: async_sessionmaker[AsyncSession],
    step: Callable[..., Awaitable[int]],
    now: dt.datetime,
    batch: int,
    rest: Rest | None,
) -> int:
    total = 0
    while True:
        started = time.perf_counter()
        async with session_factory() as session:
            count: int = await step(session, now, batch=batch)
            await session.commit()
        total += count
        if count < batch:
            return total
        if rest is not None:
            await rest(time.perf_counter() - started)


async def sweep(
    session_factory: async_sessionmaker[AsyncSession],
    now: dt.datetime,
    *,
    batch: int,
    rest: Rest | None = None,
) -> SweepResult:
    """Breaches first (a clock past due needs no warning), then warnings; one committed
    transaction per batch, so locks are held briefly and progress survives a failure.

    With ``rest``, a backlog is drained at a pace: after each full batch the sweeper awaits
    ``rest(seconds the batch took)`` before the next one.
    """
    breached = await _drain(session_factory, breach_batch, now, batch, rest)
    warned = await _drain(session_factory, warn_batch, now, batch, rest)
    return SweepResult(breached=breached, warned=warned)


async def run_periodically(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    interval: float,
    batch: int,
    stop: asyncio.Event | None = None,
) -> None:
    """Sweep every ``interval`` seconds until ``stop`` is set (or the task is cancelled).

    A failed sweep is logged and retried at the next tick: the sweeper must outlive a database
    restart. A backlog (after downtime, or a bulk import) is drained at half duty: each full
    batch took 60-116 ms of database work for 1,000 clocks in a probe with 95,000 past due, and
    every worker runs a sweeper, so back-to-back batches would take the cores from the agents'
    requests for seconds. Resting as long as each batch took halves that share; a breach is
    recorded a few seconds later, with the sweep's own time either way.
    """
    stop = stop or asyncio.Event()
    while not stop.is_set():
        try:
            result = await sweep(session_factory, utc_now(), batch=batch, rest=asyncio.sleep)
            if result.breached or result.warned:
                logger.info(
                    "sweep recorded", extra={"breached": result.breached, "warned": result.warned}
                )
        except Exception as exc:
            if is_database_unavailable(exc):
                logger.warning("sweep skipped: database unavailable")
            else:
                logger.exception("sweep failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
