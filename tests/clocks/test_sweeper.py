"""The sweeper records each breach and warning once (several sweepers at once: tests/races)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cli import main
from app.clocks import service, sweeper
from app.clocks.sweeper import breach_batch, warn_batch
from app.core.clock import frozen_at
from app.core.config import Environment, Settings, get_settings
from app.main import create_app, lifespan
from tests.clocks.helpers import (
    ACTOR,
    breached_per_clock,
    event_kinds,
    insert_overdue,
    local,
    start_clock,
)

HOUR = dt.timedelta(hours=1)


async def test_breach_is_recorded_once_for_running_clocks_only(session: AsyncSession) -> None:
    running = await start_clock(session, "C7_handling_decision", started_at=local(2025, 9, 1))
    paused = await start_clock(session, "C7_handling_decision", started_at=local(2025, 9, 1))
    await service.pause(session, paused.id, now=local(2025, 9, 2), actor=ACTOR, reason="appraisal")
    stopped = await start_clock(session, "C7_handling_decision", started_at=local(2025, 9, 1))
    await service.stop(session, stopped.id, now=local(2025, 9, 3), actor=ACTOR)
    not_due = await start_clock(session, "C7_handling_decision", started_at=local(2025, 9, 10))
    now = running.due_at + HOUR
    assert not_due.due_at > now

    assert await breach_batch(session, now, batch=100) == 1
    assert await breach_batch(session, now + HOUR, batch=100) == 0
    await session.refresh(running)
    assert running.breached_at == now
    events = await service.events_of(session, running.id)
    assert events[-1].kind == "breached"
    assert (events[-1].actor, events[-1].at, events[-1].old_due_at) == (
        "system:sweeper",
        now,
        running.due_at,
    )
    for other in (paused, stopped, not_due):
        assert "breached" not in await event_kinds(session, other.id)


async def test_warning_then_breach_each_once(session: AsyncSession) -> None:
    clock = await start_clock(session, "C3_acceptance_notice", started_at=local(2025, 9, 22))
    assert clock.warn_at is not None
    assert await warn_batch(session, clock.warn_at - HOUR, batch=100) == 0
    assert await warn_batch(session, clock.warn_at, batch=100) == 1
    assert await warn_batch(session, clock.warn_at + HOUR, batch=100) == 0
    after_due = clock.due_at + HOUR
    assert await breach_batch(session, after_due, batch=100) == 1
    assert await warn_batch(session, after_due, batch=100) == 0
    assert await event_kinds(session, clock.id) == ["started", "warned", "breached"]


async def test_an_extension_re_arms_a_given_warning(session: AsyncSession) -> None:
    clock = await start_clock(session, "C7_handling_decision", started_at=local(2025, 9, 1))
    assert clock.warn_at is not None
    await warn_batch(session, clock.warn_at, batch=100)
    extended = await service.extend(
        session,
        clock.id,
        amount=30,
        reason="complex",
        approver="u:boss",
        now=clock.warn_at + HOUR,
        actor=ACTOR,
    )
    assert extended.warned_at is None
    assert extended.warn_at is not None
    assert await warn_batch(session, extended.warn_at, batch=100) == 1


async def test_a_paced_backlog_rests_between_full_batches_with_progress_committed(
    committed: async_sessionmaker[AsyncSession],
) -> None:
    await insert_overdue(committed, 5, local(2025, 10, 14))
    rests: list[tuple[float, int]] = []

    async def rest(seconds: float) -> None:
        # While the sweeper rests, its finished batches are visible to everyone else: it holds
        # no transaction and no lock across the pause.
        rests.append((seconds, sum(await breached_per_clock(committed))))

    result = await sweeper.sweep(committed, local(2025, 10, 15), batch=2, rest=rest)
    assert result == sweeper.SweepResult(breached=5, warned=0)
    # Two full batches, each followed by a rest as long as the batch took; the short last batch
    # ends the drain without one.
    assert [breached for _, breached in rests] == [2, 4]
    assert all(seconds > 0 for seconds, _ in rests)
    assert await breached_per_clock(committed) == [1] * 5


async def test_periodic_sweeper_runs_until_stopped(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = await start_clock(session, "C7_handling_decision", started_at=local(2025, 9, 1))
    await session.flush()
    stop = asyncio.Event()
    real_sweep = sweeper.sweep
    rests = []

    async def sweep_then_stop(*args: Any, **kwargs: Any) -> sweeper.SweepResult:
        rests.append(kwargs.get("rest"))
        result = await real_sweep(*args, **kwargs)
        stop.set()
        return result

    monkeypatch.setattr(sweeper, "sweep", sweep_then_stop)
    with frozen_at(clock.due_at + HOUR):
        await sweeper.run_periodically(session_factory, interval=0.01, batch=10, stop=stop)
    assert await event_kinds(session, clock.id) == ["started", "breached"]
    assert rests == [asyncio.sleep], "the service's sweeper paces a backlog"


async def test_worker_command_sweeps_once(
    committed: async_sessionmaker[AsyncSession],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await insert_overdue(committed, 3, local(2025, 10, 14))
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        # The command runs its own event loop, so it gets a thread of its own.
        assert await asyncio.to_thread(main, ["worker", "--once"]) == 0
    finally:
        monkeypatch.delenv("DATABASE_URL")
        get_settings.cache_clear()
    assert "3 breached" in capsys.readouterr().out
    assert await breached_per_clock(committed) == [1, 1, 1]


def _service_settings(database_url: str, interval: float) -> Settings:
    return Settings(
        environment=Environment.TEST,
        database_url=database_url,
        migrate_on_start=False,
        sweep_interval_seconds=interval,
    )


async def test_the_service_sweeps_in_the_background(
    committed: async_sessionmaker[AsyncSession],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await insert_overdue(committed, 2, local(2025, 10, 14))
    swept = asyncio.Event()
    real_sweep = sweeper.sweep

    async def sweep_and_signal(*args: Any, **kwargs: Any) -> sweeper.SweepResult:
        result = await real_sweep(*args, **kwargs)
        if result.breached:
            swept.set()
        return result

    monkeypatch.setattr(sweeper, "sweep", sweep_and_signal)
    app = create_app(_service_settings(database_url, 0.05))
    async with lifespan(app):
        # A guard against hanging forever if the task never starts, not a timing assertion.
        await asyncio.wait_for(swept.wait(), timeout=120)
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "clock-sweeper"]
    assert await breached_per_clock(committed) == [1, 1]


async def test_interval_zero_disables_the_background_sweeper(
    database_url: str,
    committed: async_sessionmaker[AsyncSession],  # removes the lifespan's first-start admin
) -> None:
    app = create_app(_service_settings(database_url, 0))
    async with lifespan(app):
        assert not [t for t in asyncio.all_tasks() if t.get_name() == "clock-sweeper"]
