"""Supervision figures: the reports, breach and at-risk lists over 1,000,000 complaints, the
summary's folding speed, and webhook delivery throughput to a receiver on a loopback port.

    .venv/bin/python bench/bench_reports.py [--complaints 1000000] [--runs 20] [--webhooks 5000]
        [--json PATH]

Runs against a scratch database on an embedded PostgreSQL in a temporary folder (migrated to
head, removed afterwards). The data is generated in SQL (``generate_series``): 36 branches of 5
teams, 1,000,000 complaints received over the past year, their C3 and C7 clocks (2,000,000),
outcomes as a call center would have them (most met, some late, some breached, the recent ones
running), and one ``clock_events`` row per breach and stop — which the triggers copy to the change
feed, as in production. The summary is then folded from the feed.

Each report is timed end to end through the HTTP API in this process (ASGI, no network: routing,
token check, SQL, JSON), p50 / p95 over ``--runs`` requests with varying periods. No thresholds:
it measures and prints a Markdown block for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import (  # noqa: E402 - bench/ is on sys.path when this script runs
    MemorySampler,
    inline_parameters,
    machine_line,
    measure,
    postmaster_pid,
    quantiles_ms,
    run_pgbench,
    write_json,
)
from sqlalchemy import event  # noqa: E402

from app.access.passwords import hash_password  # noqa: E402
from app.access.pii import FieldCipher  # noqa: E402
from app.access.secrets import load_key_material  # noqa: E402
from app.access.tokens import issue_local  # noqa: E402
from app.core.clock import utc_now  # noqa: E402
from app.core.config import Environment, Settings  # noqa: E402
from app.db import migrate  # noqa: E402
from app.db.embedded import start_embedded  # noqa: E402
from app.db.session import Database, create_engine_from_settings, make_session_factory  # noqa: E402
from app.main import create_app  # noqa: E402
from app.reports import summary  # noqa: E402
from app.webhooks import signing, worker  # noqa: E402

# 36 branches of 5 teams; the complaint generator below spreads over exactly these.
SETUP = [
    "SELECT setseed(0.20261122)",
    """INSERT INTO branches (id, code, name)
        SELECT gen_random_uuid(), 'B' || lpad(b::text, 3, '0'), '分公司 ' || b
        FROM generate_series(1, 36) b""",
    """INSERT INTO teams (id, branch_id, code, name)
        SELECT gen_random_uuid(), br.id, 'T' || t, '班组 ' || t
        FROM branches br CROSS JOIN generate_series(1, 5) t""",
]

# Complaints received evenly over the year before CAST(:now AS timestamptz) (in insertion order, as in production).
COMPLAINTS = """
WITH b AS (SELECT array_agg(id ORDER BY code) AS ids FROM branches),
     t AS (SELECT array_agg(t.id ORDER BY br.code, t.code) AS ids
           FROM teams t JOIN branches br ON br.id = t.branch_id),
     c AS (SELECT array_agg(code ORDER BY code) AS codes FROM complaint_causes)
INSERT INTO complaints (id, number, branch_id, team_id, status, rule_set_version, channel,
    received_at, registered_by, complainant_name, complainant_relation, product_line,
    cause_code, description, created_at, updated_at)
SELECT gen_random_uuid(), 'TS' || lpad(g::text, 12, '0'), b.ids[1 + g % 36],
    t.ids[1 + (g % 36) * 5 + (g / 36) % 5],
    CASE WHEN r.at < CAST(:now AS timestamptz) - interval '30 days' THEN 'closed' ELSE 'investigating' END,
    1,
    (ARRAY['hotline', 'hotline', 'hotline', 'online', 'letter', 'email', 'walk_in', 'fax'])
        [1 + (g * 7) % 8],
    r.at, 'bench', '张三', 'policyholder',
    (ARRAY['life', 'life', 'health', 'motor', 'motor', 'property', 'accident', 'liability',
           'agriculture', 'credit_guarantee', 'other'])[1 + (g * 13) % 11],
    c.codes[1 + (g * 17 + g / 7) % array_length(c.codes, 1)],
    'bench complaint', r.at, r.at
FROM generate_series(1, CAST(:n AS integer)) g
CROSS JOIN b CROSS JOIN t CROSS JOIN c
CROSS JOIN LATERAL (
    SELECT CAST(:now AS timestamptz) - interval '365 days' + (g::float8 / CAST(:n AS integer)) * interval '365 days' AS at
) r
"""

# C3 (10 working days, approximated as 14 calendar days here) and C7 (15 calendar days) per
# complaint. Outcomes drawn with random(): old clocks settled (mostly met; some met late, some
# breached), recent ones running or met early.
CLOCKS = """
INSERT INTO clocks (id, subject_kind, subject_id, name, rule_set_version, unit, amount,
    roll_forward, calendar_code, started_at, start_date, due_date, due_at, provisional,
    paused_units, stopped_at, outcome, breached_at, version, created_at, updated_at)
SELECT gen_random_uuid(), 'complaint', c.id, d.name, 1, d.unit, d.amount, true, 'CN',
    c.received_at, s.start_date, s.due_date, s.due_at, false, 0,
    o.stopped_at, o.outcome, o.breached_at, 1, c.received_at, c.received_at
FROM complaints c
CROSS JOIN (VALUES ('C3_acceptance_notice', 'working_days', 10, 14),
                   ('C7_handling_decision', 'calendar_days', 15, 15)) AS d(name, unit, amount, days)
CROSS JOIN LATERAL (
    SELECT (c.received_at AT TIME ZONE 'Asia/Shanghai')::date AS start_date,
           (c.received_at AT TIME ZONE 'Asia/Shanghai')::date + d.days AS due_date,
           (((c.received_at AT TIME ZONE 'Asia/Shanghai')::date + d.days + 1)::timestamp
               AT TIME ZONE 'Asia/Shanghai') AS due_at,
           random() AS r
) s
CROSS JOIN LATERAL (
    SELECT
        CASE WHEN s.due_at + interval '3 days' < CAST(:now AS timestamptz) THEN
                 CASE WHEN s.r < 0.82 THEN c.received_at + (s.due_at - c.received_at) * (s.r / 0.9)
                      WHEN s.r < 0.90 THEN s.due_at + interval '2 hours'
                      WHEN s.r < 0.985 THEN s.due_at + interval '3 days'
                 END
             WHEN s.r < 0.3 THEN LEAST(c.received_at + interval '2 days', CAST(:now AS timestamptz))
        END AS stopped_at,
        CASE WHEN s.due_at + interval '3 days' < CAST(:now AS timestamptz) THEN
                 CASE WHEN s.r < 0.82 THEN 'met' WHEN s.r < 0.985 THEN 'met_late' END
             WHEN s.r < 0.3 THEN 'met'
        END AS outcome,
        CASE WHEN s.due_at + interval '3 days' < CAST(:now AS timestamptz) AND s.r >= 0.90
                 THEN s.due_at + interval '10 minutes'
             WHEN s.due_at + interval '3 days' >= CAST(:now AS timestamptz)
                  AND s.due_at + interval '10 minutes' < CAST(:now AS timestamptz) AND s.r >= 0.3
                 THEN s.due_at + interval '10 minutes'
        END AS breached_at
) o
"""

# Each complaint's registration in its timeline, as the complaint feature writes it.
REGISTRATIONS = """
INSERT INTO ticket_events (ticket_kind, ticket_id, at, actor, action, to_status, data)
SELECT 'complaint', id, received_at, 'bench', 'register', 'under_review',
       jsonb_build_object('number', number)
FROM complaints ORDER BY received_at
"""

# One ledger entry per breach and stop; the triggers copy each to the change feed.
SETTLEMENT_EVENTS = """
INSERT INTO clock_events (clock_id, kind, at, actor, old_due_at, new_due_at, data)
SELECT id, kind, at, actor, due_at, due_at, data FROM (
    SELECT id, 'breached' AS kind, breached_at AS at, 'system:sweeper' AS actor, due_at,
           '{}'::jsonb AS data
    FROM clocks WHERE breached_at IS NOT NULL
    UNION ALL
    SELECT id, 'stopped', stopped_at, 'bench', due_at, jsonb_build_object('outcome', outcome)
    FROM clocks WHERE stopped_at IS NOT NULL
) e
ORDER BY at
"""

# The same for a few thousand more outcomes, left unfolded (what a report reads live).
LATE_SETTLEMENTS = """
WITH stopped AS (
    UPDATE clocks SET stopped_at = CAST(:now AS timestamptz), outcome = 'met', version = version + 1
    WHERE id IN (SELECT id FROM clocks
                 WHERE stopped_at IS NULL AND breached_at IS NULL AND due_at > CAST(:now AS timestamptz)
                 ORDER BY due_at LIMIT CAST(:count AS integer))
    RETURNING id, due_at
)
INSERT INTO clock_events (clock_id, kind, at, actor, old_due_at, new_due_at, data)
SELECT id, 'stopped', CAST(:now AS timestamptz), 'bench', due_at, due_at, '{"outcome": "met"}'::jsonb FROM stopped
"""

WEBHOOK_EVENTS = """
INSERT INTO ticket_events (ticket_kind, ticket_id, at, actor, action, data)
SELECT 'complaint', gen_random_uuid(), CAST(:now AS timestamptz), 'bench', 'bench', jsonb_build_object('n', g)
FROM generate_series(1, CAST(:count AS integer)) g
"""

RECEIVER = """
import os
from app.webhooks import signing

SECRET = os.environ["BENCH_WEBHOOK_SECRET"]


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
    stamp = headers.get("x-contactdesk-timestamp", "0")
    ok = signing.verify(SECRET, timestamp=stamp, body=body, now=float(stamp),
                        signature_header=headers.get("x-contactdesk-signature", ""))
    await send({"type": "http.response.start", "status": 204 if ok else 401, "headers": []})
    await send({"type": "http.response.body", "body": b""})
"""


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(samples, n=20, method="inclusive")
    return cuts[9], cuts[18], max(samples)


async def execute(engine: AsyncEngine, sql: str, **params: Any) -> float:
    t0 = time.perf_counter()
    async with engine.begin() as connection:
        await connection.execute(text("SET LOCAL statement_timeout = 0"))
        await connection.execute(text(sql), params)
    return time.perf_counter() - t0


async def vacuum(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("SET statement_timeout = 0"))
        await autocommit.execute(text("VACUUM ANALYZE"))


async def populate(engine: AsyncEngine, n: int, now: dt.datetime) -> list[str]:
    notes = []
    for sql in SETUP:
        await execute(engine, sql)
    took = await execute(engine, COMPLAINTS, n=n, now=now)
    notes.append(f"{n:,} complaints: {took:.0f} s")
    took = await execute(engine, CLOCKS, now=now)
    notes.append(f"{2 * n:,} clocks: {took:.0f} s")
    took = await execute(engine, REGISTRATIONS)
    notes.append(f"{n:,} registrations in the timeline (and the feed): {took:.0f} s")
    took = await execute(engine, SETTLEMENT_EVENTS)
    notes.append(f"breach and stop ledger entries (and the feed): {took:.0f} s")
    t0 = time.perf_counter()
    await vacuum(engine)
    notes.append(f"VACUUM ANALYZE: {time.perf_counter() - t0:.0f} s")
    async with engine.connect() as connection:
        counts = (
            await connection.execute(
                text(
                    "SELECT (SELECT count(*) FROM clocks WHERE breached_at IS NOT NULL),"
                    " (SELECT count(*) FROM clocks WHERE stopped_at IS NULL),"
                    " (SELECT count(*) FROM outbox_events)"
                )
            )
        ).one()
    notes.append(f"{counts[0]:,} breached clocks, {counts[1]:,} running, {counts[2]:,} feed rows")
    return notes


async def users(db: Database, settings: Settings) -> dict[str, dict[str, str]]:
    """An admin (all branches) and a supervisor of one branch, with tokens."""
    password = hash_password("bench-password-123")
    headers: dict[str, dict[str, str]] = {}
    async with db.session_factory() as session:
        keys = await load_key_material(session, settings)
        branch = await session.scalar(text("SELECT id FROM branches ORDER BY code LIMIT 1"))
        for role in ("admin", "supervisor"):
            user_id = uuid.uuid4()
            await session.execute(
                text(
                    "INSERT INTO users (id, username, display_name, role, branch_id, password_hash)"
                    " VALUES (:id, :name, :name, :role, :branch, :hash)"
                ),
                {"id": user_id, "name": f"bench-{role}", "role": role, "branch": branch,
                 "hash": password},
            )  # fmt: skip
            token = issue_local(
                keys.jwt_secret,
                user_id=str(user_id),
                credentials_version=1,  # a new user, never reset
                now=utc_now(),
                minutes=600,
            )
            headers[role] = {"Authorization": f"Bearer {token}"}
        await session.commit()
    return headers


class StatementLog:
    """The SQL a request sends (asyncpg statements with their parameters), while ``on``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.on = False
        self.statements: list[str] = []
        event.listen(engine.sync_engine, "before_cursor_execute", self._record)

    def _record(self, conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if self.on:
            self.statements.append(inline_parameters(statement, parameters))


async def pgbench_request(
    log: StatementLog, call: Callable[[int], Awaitable[httpx.Response]], socket_dir: str,
    runs: int, folder: Path,
) -> dict[str, Any]:  # fmt: skip
    """The statements one request sent, replayed by pgbench (1 client, ``runs`` times)."""
    log.statements.clear()
    log.on = True
    try:
        await call(0)
    finally:
        log.on = False
    script = folder / "report.sql"
    body = "".join(s.strip().rstrip(";") + ";\n" for s in log.statements)
    script.write_text("BEGIN;\n" + body + "COMMIT;\n", encoding="utf-8")
    result = await asyncio.to_thread(
        run_pgbench, socket_dir, "bench_reports", [(script, 1)], clients=1,
        transactions=max(runs, 5),
    )  # fmt: skip
    return {**result, "statements": len(log.statements)}


async def timed(
    runs: int, call: Callable[[int], Awaitable[httpx.Response]]
) -> tuple[list[float], int]:
    samples, size = [], 0
    await call(-1)  # one warm-up request (plans, caches), not counted
    for run in range(runs):
        t0 = time.perf_counter()
        response = await call(run)
        samples.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, response.text
        size = len(response.content)
    return samples, size


async def bench_reports(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], now: dt.datetime, runs: int,
    pgbench: tuple[StatementLog, str, Path] | None = None, suffix: str = "",
) -> list[dict[str, Any]]:  # fmt: skip
    rng = random.Random(7)
    today = now.date()
    results = []

    def days_ago(days: int) -> dt.datetime:
        return now - dt.timedelta(days=days)

    def quarter(run: int) -> dict[str, str]:
        start = today - dt.timedelta(days=95 + (run % 10) * 25)
        return {"from": start.isoformat(), "to": (start + dt.timedelta(days=90)).isoformat()}

    year = {"from": (today - dt.timedelta(days=364)).isoformat(), "to": today.isoformat()}

    cases: list[tuple[str, str, str, Callable[[int], dict[str, Any]], dict[str, str]]] = [
        ("breaches, 7-day period, first page (50)", "admin", "/v1/sla/breaches",
         lambda r: {"from": days_ago(rng.randint(10, 300)).isoformat(),
                    "to": days_ago(rng.randint(3, 9)).isoformat()}, {}),
        ("breaches, 30-day period, one branch", "supervisor", "/v1/sla/breaches",
         lambda r: {"from": days_ago(40 + r * 5).isoformat(), "to": days_ago(10 + r * 5).isoformat()}, {}),
        ("breaches, 30-day period, C7 + product line filter", "admin", "/v1/sla/breaches",
         lambda r: {"from": days_ago(40 + r * 5).isoformat(), "to": days_ago(10 + r * 5).isoformat(),
                    "clock_name": "C7_handling_decision", "product_line": "motor"}, {}),
        ("breaches, 1 day as CSV (all rows)", "admin", "/v1/sla/breaches",
         lambda r: {"from": days_ago(20 + r).isoformat(), "to": days_ago(19 + r).isoformat()},
         {"Accept": "text/csv"}),
        ("at-risk, within 2 working days (50)", "admin", "/v1/sla/at-risk",
         lambda r: {"within": 2}, {}),
        ("at-risk, within 5 working days, one branch", "supervisor", "/v1/sla/at-risk",
         lambda r: {"within": 5}, {}),
        ("at-risk, within 24 hours, C7 only", "admin", "/v1/sla/at-risk",
         lambda r: {"within": 24, "unit": "hours", "clock_name": "C7_handling_decision"}, {}),
        ("service indicators, a quarter by month, all branches", "admin",
         "/v1/reports/service-indicators", lambda r: {**quarter(r), "period": "month"}, {}),
        ("service indicators, a quarter by week, grouped by branch", "admin",
         "/v1/reports/service-indicators",
         lambda r: {**quarter(r), "period": "week", "group_by": "branch"}, {}),
        ("service indicators, a year by month, grouped by team", "admin",
         "/v1/reports/service-indicators",
         lambda r: {**year, "period": "month", "group_by": "team"}, {}),
        ("service indicators, a year by day, grouped by cause, one branch", "supervisor",
         "/v1/reports/service-indicators",
         lambda r: {**year, "period": "day", "group_by": "cause"}, {}),
        ("complaint statistics, a quarter, 4 dimensions", "admin", "/v1/reports/complaints",
         lambda r: {**quarter(r), "premium_100m_yuan": 120.5, "policies_10k": 860}, {}),
        ("complaint statistics, a year, 4 dimensions", "admin", "/v1/reports/complaints",
         lambda r: year, {}),
        ("complaint statistics, a year, by cause and branch", "admin", "/v1/reports/complaints",
         lambda r: {**year, "by": ["cause", "branch"]}, {}),
        ("complaint statistics, a year, one branch", "supervisor", "/v1/reports/complaints",
         lambda r: year, {}),
        ("complaint statistics, a quarter as CSV", "admin", "/v1/reports/complaints",
         lambda r: quarter(r), {"Accept": "text/csv"}),
    ]  # fmt: skip
    for label, who, path, params, extra in cases:

        def call(run: int, path: str = path, who: str = who, params: Any = params,
                 extra: dict[str, str] = extra) -> Awaitable[httpx.Response]:  # fmt: skip
            return client.get(path, params=params(max(run, 0)), headers={**headers[who], **extra})

        samples, size = await timed(runs, call)
        p50, p95, _ = percentiles(samples)
        row = measure(f"report:{label}{suffix}", f"{label} ({who}){suffix}",
                      rate=1e3 / statistics.mean(samples), unit="req/s (one at a time)",
                      **quantiles_ms(samples), extra={"bytes": size, "runs": runs})  # fmt: skip
        if pgbench is not None:
            ceiling = await pgbench_request(pgbench[0], call, pgbench[1], runs, pgbench[2])
            row["pgbench_what"] = (
                "the SQL statements one request sends (captured from the engine, parameters"
                " inlined) in one transaction, 1 client"
            )
            if ceiling.get("tps"):
                row.update(pgbench_tps=ceiling["tps"], ratio=row["rate"] / ceiling["tps"])
            else:
                row["extra"]["pgbench_error"] = " ".join(ceiling.get("error", []))[:200]
                print(f"  pgbench failed: {ceiling}", flush=True)
        results.append(row)
        ceiling = f", pgbench {row['pgbench_tps']:,.0f} tx/s" if "pgbench_tps" in row else ""
        print(f"  {label}: p50 {p50:.1f} ms, p95 {p95:.1f} ms{ceiling}", flush=True)
    return results


async def bench_webhooks(
    db: Database, engine: AsyncEngine, client: httpx.AsyncClient, headers: dict[str, str],
    settings: Settings, count: int, folder: Path,
) -> list[dict[str, Any]]:  # fmt: skip
    port = free_port()
    (folder / "bench_receiver.py").write_text(RECEIVER)
    created = await client.post(
        "/v1/webhooks",
        json={"name": "bench", "url": f"http://127.0.0.1:{port}/hook", "event_types": ["*"]},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    env = {**os.environ, "BENCH_WEBHOOK_SECRET": secret, "PYTHONPATH": f"{folder}:{ROOT}"}
    receiver = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "uvicorn", "bench_receiver:app", "--port", str(port),
        "--log-level", "warning", "--no-access-log", env=env, cwd=folder,
    )  # fmt: skip
    lines: list[dict[str, Any]] = []
    try:
        async with httpx.AsyncClient() as probe:
            for _ in range(200):
                try:
                    await probe.get(f"http://127.0.0.1:{port}/", timeout=1)
                    break
                except httpx.HTTPError:
                    await asyncio.sleep(0.1)
        ceiling = await http_ceiling(port, secret)
        print(f"  HTTP ceiling, plain httpx to the same receiver, 50 concurrent: {ceiling:,.0f}/s")
        lines.append(measure("webhooks:http_ceiling", "plain httpx to the same receiver, 50"
                             " concurrent, no database", rate=ceiling, unit="req/s"))  # fmt: skip
        async with db.session_factory() as session:
            cipher = FieldCipher((await load_key_material(session, settings)).pii_keys)
        for batch, workers in ((50, 1), (50, 2), (200, 2)):
            await execute(engine, WEBHOOK_EVENTS, now=utc_now(), count=count)
            policy = worker.Policy(
                timeout=10, batch=batch, max_attempts=5, retry_base=10, retry_cap=60
            )
            t0 = time.perf_counter()
            delivered = await deliver_all(db, cipher, policy, workers)
            took = time.perf_counter() - t0
            by_status = text("SELECT status, count(*) FROM webhook_deliveries GROUP BY status")
            async with engine.connect() as connection:
                states = dict((await connection.execute(by_status)).tuples().all())
            line = (
                f"{count:,} events, batch {batch}, {workers} worker(s): {delivered:,} delivered"
                f" in {took:.1f} s = {delivered / took:,.0f} deliveries/s"
                f" (deliveries by status so far: {states})"
            )
            print("  " + line, flush=True)
            lines.append(measure(f"webhooks:{batch}x{workers}", f"webhook deliveries, batch"
                                 f" {batch}, {workers} worker(s)", rate=delivered / took,
                                 unit="deliveries/s", extra={"delivered": delivered}))  # fmt: skip
    finally:
        receiver.terminate()
        await receiver.wait()
    return lines


async def http_ceiling(port: int, secret: str, requests: int = 2_000) -> float:
    """The same receiver driven by plain httpx, 50 at a time, no database: the HTTP ceiling."""
    body = b'{"type":"complaint.bench","data":{"n":1}}'
    headers = signing.headers(secret, int(time.time()), body)
    limits = httpx.Limits(max_connections=50, max_keepalive_connections=50)
    async with httpx.AsyncClient(limits=limits) as client:
        t0 = time.perf_counter()
        for _ in range(requests // 50):
            sent = [client.post(f"http://127.0.0.1:{port}/", content=body, headers=headers)
                    for _ in range(50)]  # fmt: skip
            assert {r.status_code for r in await asyncio.gather(*sent)} == {204}
        took = time.perf_counter() - t0
    return requests / took


async def deliver_all(
    db: Database, cipher: FieldCipher, policy: worker.Policy, workers: int
) -> int:
    delivered = 0

    async def one() -> None:
        nonlocal delivered
        async with worker.http_client(policy) as http_client:
            while True:
                result = await worker.run_once(db.session_factory, http_client, cipher, policy)
                delivered += result.delivered
                if result.sent == 0:
                    return

    await asyncio.gather(*(one() for _ in range(workers)))
    return delivered


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def plans(engine: AsyncEngine) -> list[str]:
    """The access path of the statements behind the lists (EXPLAIN's first index line)."""
    found = []
    queries = {
        "breaches": "SELECT id FROM clocks WHERE subject_kind = 'complaint'"
        " AND breached_at >= now() - interval '30 days'"
        " AND breached_at < now() - interval '23 days' ORDER BY breached_at, id LIMIT 51",
        "at-risk": "SELECT id FROM clocks WHERE subject_kind = 'complaint' AND stopped_at IS NULL"
        " AND breached_at IS NULL AND paused_since IS NULL AND due_at <= now() + interval '3 days'"
        " ORDER BY due_at, id LIMIT 51",
        "statistics": "SELECT cause_code, count(*) FROM complaints WHERE received_at >="
        " now() - interval '90 days' GROUP BY 1",
    }
    async with engine.connect() as connection:
        for name, sql in queries.items():
            plan = (await connection.execute(text("EXPLAIN " + sql))).scalars().all()
            line = next((p.strip() for p in plan if "Index" in p), plan[0].strip())
            found.append(f"{name}: {line}")
    return found


async def run(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="contact-desk-bench-reports-"))
    server = start_embedded(folder / "pg", database="bench_reports")
    url = server.url("bench_reports")
    settings = Settings(
        environment=Environment.TEST,
        database_url=url,
        db_statement_timeout_ms=600_000,
        rate_limit_per_minute=10_000_000,
        log_level="WARNING",
    )
    engine = create_engine_from_settings(settings, url)
    db = Database(engine=engine, session_factory=make_session_factory(engine))
    print(f"Machine: {machine_line()}; {dt.date.today().isoformat()}", flush=True)  # noqa: DTZ011
    memory = MemorySampler(
        {"postgres": postmaster_pid(server.data_dir)}, own="benchmark process"
    ).__enter__()
    log = StatementLog(engine)
    try:
        await migrate.upgrade(engine)
        now = utc_now()
        for note in await populate(engine, args.complaints, now):
            print("  " + note, flush=True)
        t0 = time.perf_counter()
        folded = await summary.fold_all(db.session_factory, batch=summary.FOLD_BATCH)
        took = time.perf_counter() - t0
        fold_rate = folded / took
        print(f"  folded {folded:,} feed events into the summary in {took:.0f} s"
              f" ({folded / took:,.0f} events/s)", flush=True)  # fmt: skip
        # One ordinary small transaction folded after the bulk ones, so the summaries' cursor sits
        # on a transaction of its own, as in production (the bulk load wrote the whole feed in
        # three transactions, which no planner estimate of "events after the cursor" survives).
        await execute(engine, WEBHOOK_EVENTS, now=utc_now(), count=1)
        await summary.fold_all(db.session_factory, batch=summary.FOLD_BATCH)
        await vacuum(engine)
        for line in await plans(engine):
            print("  plan " + line, flush=True)
        app = create_app(settings, run_lifespan=False)
        app.state.db = db
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            headers = await users(db, settings)
            print("Reports, summary folded:", flush=True)
            measures = await bench_reports(
                client, headers, now, args.runs, (log, server.socket_dir, folder)
            )
            took = await execute(engine, LATE_SETTLEMENTS, now=utc_now(), count=args.unfolded)
            print(f"Reports with {args.unfolded:,} outcomes not folded yet:", flush=True)
            measures += await bench_reports(
                client, headers, now, args.runs, suffix=f", {args.unfolded:,} outcomes unfolded"
            )
            print("Webhooks:", flush=True)
            measures += await bench_webhooks(db, engine, client, headers["admin"], settings,
                                             args.webhooks, folder)  # fmt: skip
        memory.stop()
        for row in measures:
            if row["name"].startswith("report:"):
                row["extra"]["complaints"] = args.complaints
        write_json(args.json, {
            "benchmark": "reports", "title": "Supervision: reports and webhooks (issue 8)",
            "measures": [*measures, measure("fold", "summary folding", rate=fold_rate,
                                            unit="events/s", extra={"events": folded})],
            "memory": memory.result(),
        })  # fmt: skip
    finally:
        memory.stop()
        await engine.dispose()
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--complaints", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--unfolded", type=int, default=5_000)
    parser.add_argument("--webhooks", type=int, default=5_000)
    parser.add_argument("--json", help="write the machine-readable result here")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
