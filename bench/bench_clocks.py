"""Clock engine figures: due-date maths, a full sweep over 1,000,000 clocks, supervisor queries.

    python bench/bench_clocks.py [--clocks 1000000] [--overdue 20000] [--calls 300000] [--json PATH]

Runs against a scratch database on an embedded PostgreSQL in a temporary folder (migrated to
head, removed afterwards). Targets: >= 200,000 due dates/s through ``app.clocks.due``; one full
sweep (20,000 breaches) < 5 s; p95 of the breach and at-risk queries < 50 ms over 1,000,000 clocks.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from common import MemorySampler, machine_line, measure, postmaster_pid, quantiles_ms, write_json
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.calendar import service as calendar_service
from app.clocks import repository, sweeper
from app.clocks.due import Terms, compute_due
from app.clocks.states import Unit
from app.core.clock import utc_now
from app.core.config import Settings
from app.db import migrate
from app.db.embedded import start_embedded
from app.db.session import create_engine_from_settings, make_session_factory

# Running clocks: the first --overdue are past due; the rest are due over the next 60 days.
# The remaining rows are stopped clocks of the past year, one in six of them breached.
INSERT_CLOCKS = text(
    """
    INSERT INTO clocks (id, subject_kind, subject_id, name, rule_set_version, unit, amount,
        roll_forward, calendar_code, started_at, start_date, due_date, due_at, provisional,
        warn_at, warned_at, stopped_at, outcome, breached_at)
    SELECT gen_random_uuid(), 'complaint', gen_random_uuid(), 'C7_handling_decision', 1,
        'calendar_days', 15, true, 'CN', d.due_at - interval '15 days',
        (d.due_at - interval '15 days')::date, d.due_at::date, d.due_at, false,
        d.due_at - interval '1 day',
        CASE WHEN d.running AND d.due_at < p.now THEN d.due_at - interval '1 day' END,
        CASE WHEN NOT d.running THEN d.due_at - interval '2 hours' END,
        CASE WHEN d.running THEN NULL WHEN d.late THEN 'met_late' ELSE 'met' END,
        CASE WHEN d.late THEN d.due_at + interval '10 minutes' END
    FROM (SELECT CAST(:now AS timestamptz) AS now) AS p,
         generate_series(1, CAST(:total AS integer)) AS g,
         LATERAL (
            SELECT g <= :running AS running,
                   g > :running AND g % 6 = 0 AS late,
                   CASE
                     WHEN g <= :overdue THEN p.now - (g * 40) * interval '1 second'
                     WHEN g <= :running THEN p.now + (random() * 60) * interval '1 day'
                     ELSE p.now - (random() * 365 + 1) * interval '1 day'
                   END AS due_at
         ) AS d
    """
)


async def bench_due_dates(factory: async_sessionmaker[AsyncSession], calls: int) -> float:
    async with factory() as session:
        view = await calendar_service.get_view(session, "CN")
    rng = random.Random(20251014)
    first = dt.datetime(2004, 1, 1, tzinfo=dt.UTC)
    span = int((dt.datetime(2026, 12, 31, tzinfo=dt.UTC) - first).total_seconds())
    units = [Unit.WORKING_DAYS, Unit.CALENDAR_DAYS]
    terms = []
    for _ in range(calls):
        started = first + dt.timedelta(seconds=rng.randrange(span))
        terms.append(
            Terms(
                unit=rng.choice(units),
                amount=rng.randint(1, 60),
                roll_forward=True,
                started_at=started,
                start_date=view.local_date(started),
                paused_units=rng.choice((0, 0, 0, rng.randint(1, 10))),
            )
        )
    t0 = time.perf_counter()
    for item in terms:
        compute_due(view, item)
    elapsed = time.perf_counter() - t0
    print(
        f"(a) due.compute_due (working/calendar days, with due_at and provisional): "
        f"{calls / elapsed:,.0f} /s ({elapsed / calls * 1e6:.2f} us each, {calls:,} calls)"
    )
    return calls / elapsed


async def populate(engine: AsyncEngine, *, total: int, overdue: int, now: dt.datetime) -> None:
    running = overdue + (total - overdue) * 2 // 5
    t0 = time.perf_counter()
    async with engine.begin() as connection:
        await connection.execute(text("SET LOCAL statement_timeout = 0"))
        await connection.execute(
            INSERT_CLOCKS, {"now": now, "total": total, "running": running, "overdue": overdue}
        )
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("SET statement_timeout = 0"))
        await autocommit.execute(text("VACUUM ANALYZE clocks"))
    print(
        f"    inserted {total:,} clocks ({running:,} running, {overdue:,} overdue) and analysed"
        f" in {time.perf_counter() - t0:.1f} s"
    )


async def bench_sweep(
    factory: async_sessionmaker[AsyncSession], now: dt.datetime
) -> tuple[float, dict[str, Any]]:
    batch = Settings.model_construct().sweep_batch_size
    t0 = time.perf_counter()
    result = await sweeper.sweep(factory, now, batch=batch)
    elapsed = time.perf_counter() - t0
    print(
        f"(b) one full sweep: {result.breached:,} breaches and {result.warned:,} warnings"
        f" recorded in {elapsed:.2f} s (batches of {batch:,})"
    )
    t0 = time.perf_counter()
    again = await sweeper.sweep(factory, now, batch=batch)
    print(
        f"    next sweep with nothing to do: {(time.perf_counter() - t0) * 1e3:.1f} ms"
        f" ({again.breached} breaches)"
    )
    return elapsed, {"breaches": result.breached, "warnings": result.warned}


def percentiles(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=100)
    return f"p50 {cuts[49]:.2f} ms, p95 {cuts[94]:.2f} ms, max {max(samples):.2f} ms"


async def bench_queries(
    factory: async_sessionmaker[AsyncSession], now: dt.datetime, runs: int
) -> tuple[list[float], list[float]]:
    rng = random.Random(7)
    breach_ms: list[float] = []
    risk_ms: list[float] = []
    async with factory() as session:
        for _ in range(runs):
            start = now - dt.timedelta(days=rng.uniform(7, 365))
            t0 = time.perf_counter()
            rows = await repository.breached_between(
                session, start, start + dt.timedelta(days=7), limit=50
            )
            breach_ms.append((time.perf_counter() - t0) * 1e3)
            assert len(rows) == 50
            t0 = time.perf_counter()
            rows = await repository.at_risk(
                session, now, dt.timedelta(days=rng.uniform(1, 5)), limit=50
            )
            risk_ms.append((time.perf_counter() - t0) * 1e3)
            assert len(rows) == 50
        plans = []
        for sql in (
            "SELECT * FROM clocks WHERE breached_at IS NOT NULL AND breached_at >= now() - "
            "interval '30 days' AND breached_at < now() - interval '23 days' "
            "ORDER BY breached_at, id LIMIT 50",
            "SELECT * FROM clocks WHERE stopped_at IS NULL AND breached_at IS NULL AND "
            "paused_since IS NULL AND due_at >= now() AND due_at < now() + interval '3 days' "
            "ORDER BY due_at, id LIMIT 50",
        ):
            plan = (await session.execute(text("EXPLAIN " + sql))).scalars().all()
            plans.append(next(line.strip() for line in plan if "Index" in line or "Scan" in line))
    print(
        f"(c) breach query (7-day period, ordered, LIMIT 50), {runs} runs: {percentiles(breach_ms)}"
    )
    print(f"    plan: {plans[0]}")
    print(f"    at-risk query (running, due within 1-5 days, LIMIT 50), {runs} runs: "
          f"{percentiles(risk_ms)}")  # fmt: skip
    print(f"    plan: {plans[1]}")
    return breach_ms, risk_ms


async def run(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="contact-desk-bench-"))
    server = start_embedded(folder / "pg", database="bench_clocks")
    settings = Settings(database_url=server.url("bench_clocks"), db_statement_timeout_ms=600_000)
    engine = create_engine_from_settings(settings, server.url("bench_clocks"))
    memory = MemorySampler(
        {"postgres": postmaster_pid(server.data_dir)}, own="benchmark process"
    ).__enter__()
    try:
        await migrate.upgrade(engine)
        factory = make_session_factory(engine)
        print(f"Machine: {machine_line()}; {dt.date.today().isoformat()}")  # noqa: DTZ011
        due_rate = await bench_due_dates(factory, args.calls)
        now = utc_now()
        await populate(engine, total=args.clocks, overdue=args.overdue, now=now)
        swept, counts = await bench_sweep(factory, now)
        breach_ms, risk_ms = await bench_queries(factory, now, args.runs)
        memory.stop()
        size = {"clocks": args.clocks, "runs": args.runs}
        write_json(args.json, {
            "benchmark": "clocks",
            "title": "Clocks (issue 4)",
            "measures": [
                measure("compute_due", f"app.clocks.due.compute_due, {args.calls:,} clocks",
                        rate=due_rate, unit="/s"),
                measure("sweep", f"one full sweep of {args.clocks:,} clocks", seconds=swept,
                        extra={**counts, "clocks": args.clocks}),
                measure("breach_query", "breach query, 7-day period, LIMIT 50",
                        **quantiles_ms(breach_ms), extra=size),
                measure("at_risk_query", "at-risk query, due within 1-5 days, LIMIT 50",
                        **quantiles_ms(risk_ms), extra=size),
            ],
            "memory": memory.result(),
        })  # fmt: skip
    finally:
        memory.stop()
        await engine.dispose()
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clocks", type=int, default=1_000_000)
    parser.add_argument("--overdue", type=int, default=20_000)
    parser.add_argument("--calls", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--json", help="write the machine-readable result here")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
