"""Callback work queue figures: claim-next + attempt throughput with concurrent agents.

    python bench/bench_callbacks.py [--agents 32] [--seconds 30] [--callable 20000]
        [--backlog 80000] [--history 200000] [--workers 1] [--pool 40] [--json PATH]

A scratch database on an embedded PostgreSQL in a temporary folder (migrated to head, removed
afterwards) holds ``--callable`` callbacks that are due and callable now and ``--backlog``
rescheduled ones whose next attempt is later (the claim query must step over them), due over
the next 30 days in the eight kinds, and ``--history`` closed ones due over the past 180 days
(which the queue index leaves out), each with a sealed phone. The service runs as
``contact-desk serve`` in its own process on a free loopback port; the load generator is
``httpx.AsyncClient`` here. Each agent loops: ``POST /v1/callbacks/claim-next``, then
``POST /v1/callbacks/{id}/attempts`` (70 % no answer, 15 % busy → rescheduled; 15 % refused →
completed). Prints requests/s, callbacks worked/s and p50/p99 latencies per endpoint.

So that the figures do not depend on the hour the benchmark runs at, the scratch database's
contact policies are widened to callable all day, every day (the real seeds stop at 20:00).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pgbench_scripts  # bench/ is on sys.path when this script runs
from common import (
    MemorySampler,
    machine_line,
    measure,
    postmaster_pid,
    quantiles_ms,
    run_pgbench,
    write_json,
)
from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine

from app.access.models import User
from app.access.pii import FieldCipher, PiiCodec
from app.access.principal import Principal
from app.access.secrets import load_key_material
from app.access.tokens import issue_local
from app.callbacks import repository
from app.core.config import Settings
from app.db import migrate
from app.db.embedded import start_embedded
from app.db.session import create_engine_from_settings, make_session_factory
from app.org.models import Branch

ROOT = Path(__file__).resolve().parents[1]
KINDS = (
    "satisfaction",
    "mis_selling_check",
    "complaint_followup",
    "risk_service",
    "consumer_protection",
    "new_policy",
    "claim_paid",
    "ivr_request",
)

INSERT_CALLBACKS = text(
    """
    INSERT INTO callbacks (id, number, kind, state, origin, branch_id, customer_name,
        policy_number, not_before, due_at, priority, next_attempt_at, attempts_made,
        attempts_on_method, last_attempt_at, created_by, created_at, updated_at)
    SELECT gen_random_uuid(), 'HFBENCH' || lpad(g::text, 9, '0'),
        (CAST(:kinds AS text[]))[1 + g % 8],
        CASE WHEN g <= :callable THEN 'scheduled' ELSE 'rescheduled' END,
        'manual', :branch, '客户' || g, 'P-BENCH-' || g, p.now - interval '1 day',
        p.now + random() * interval '30 days', 1 + g % 5,
        CASE WHEN g <= :callable THEN p.now - interval '1 hour'
             ELSE p.now + (1 + random() * 48) * interval '1 hour' END,
        CASE WHEN g <= :callable THEN 0 ELSE 1 END,
        CASE WHEN g <= :callable THEN 0 ELSE 1 END,
        CASE WHEN g <= :callable THEN NULL ELSE p.now - interval '1 hour' END,
        'bench', p.now - interval '1 day', p.now - interval '1 day'
    FROM (SELECT CAST(:now AS timestamptz) AS now) AS p,
         generate_series(1, CAST(:total AS integer)) AS g
    """
)
INSERT_HISTORY = text(
    """
    INSERT INTO callbacks (id, number, kind, state, origin, branch_id, customer_name,
        policy_number, not_before, due_at, priority, next_attempt_at, attempts_made,
        outcome, closed_at, created_by, created_at, updated_at)
    SELECT gen_random_uuid(), 'HFHIST' || lpad(g::text, 9, '0'),
        (CAST(:kinds AS text[]))[1 + g % 8], 'completed', 'manual', :branch, '客户' || g,
        'P-HIST-' || g, d.due_at - interval '5 days', d.due_at, 3, d.due_at - interval '5 days',
        1, 'reached', d.due_at - interval '1 day', 'bench', d.due_at - interval '5 days',
        d.due_at - interval '1 day'
    FROM (SELECT CAST(:now AS timestamptz) AS now) AS p,
         generate_series(1, CAST(:total AS integer)) AS g,
         LATERAL (SELECT p.now - (1 + random() * 180) * interval '1 day' AS due_at) AS d
    """
)
INSERT_PHONES = text(
    """
    INSERT INTO callback_phones (callback_id, position, phone_enc, phone_hash)
    SELECT id, 0, :enc, :hash FROM callbacks
    """
)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its child processes (uvicorn workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total, pids = 0.0, [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for each in pids:
        fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def bench_agent(branch_id: uuid.UUID) -> Principal:
    return Principal(
        kind="user",
        id=uuid.uuid4(),
        name="bench",
        role="agent",
        branch_id=branch_id,
        team_id=None,
        permissions=frozenset(),
    )


def claim_plan(branch_id: uuid.UUID, now: dt.datetime) -> str:
    """EXPLAIN of the query claim-next runs, as the service builds it."""
    query = repository.claim_query(bench_agent(branch_id), now=now, kinds=list(KINDS), team_id=None)
    sql = query.compile(
        dialect=postgresql.dialect(),
        compile_kwargs={"literal_binds": True, "render_postcompile": True},
    )
    return f"EXPLAIN {sql}"


async def seed(
    engine: AsyncEngine,
    settings: Settings,
    *,
    agents: int,
    callable_: int,
    backlog: int,
    history: int,
) -> tuple[list[dict[str, str]], uuid.UUID]:
    """Branch, agents (with tokens), callbacks and phones; returns the agents' headers."""
    factory = make_session_factory(engine)
    now = dt.datetime.now(dt.UTC)
    async with factory() as session:
        keys = await load_key_material(session, settings)  # generated once, kept in the DB
        branch = Branch(id=uuid.uuid4(), code="BENCH", name="压测分公司")
        session.add(branch)
        await session.flush()
        users = [
            User(
                id=uuid.uuid4(),
                username=f"bench-agent-{i:03d}",
                display_name="压测坐席",
                role="agent",
                branch_id=branch.id,
            )
            for i in range(agents)
        ]
        session.add_all(users)
        await session.commit()
    codec = PiiCodec(FieldCipher(keys.pii_keys), keys.pii_hash_key)
    t0 = time.perf_counter()
    async with engine.begin() as connection:
        await connection.execute(text("SET LOCAL statement_timeout = 0"))
        await connection.execute(
            text(
                "UPDATE callback_contact_policies SET callable_from = '00:00',"
                " callable_to = '23:59:59.999999', working_days_only = false"
            )
        )
        await connection.execute(
            INSERT_CALLBACKS,
            {
                "kinds": list(KINDS),
                "callable": callable_,
                "branch": branch.id,
                "now": now,
                "total": callable_ + backlog,
            },
        )
        await connection.execute(
            INSERT_HISTORY,
            {"kinds": list(KINDS), "branch": branch.id, "now": now, "total": history},
        )
        await connection.execute(
            INSERT_PHONES,
            {
                "enc": codec.seal("+8613800138000", purpose=codec.PHONE),
                "hash": codec.lookup("+8613800138000", purpose=codec.PHONE),
            },
        )
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("VACUUM ANALYZE callbacks"))
        await autocommit.execute(text("VACUUM ANALYZE callback_phones"))
        plan = (await autocommit.execute(text(claim_plan(branch.id, now)))).scalars()
        plan_line = " / ".join(
            re.sub(r"'[^']*'(::[a-z ]+)?", "…", line.strip().split("  (cost")[0])
            for line in plan
            if "->" in line or "Index Cond" in line
        )
    print(
        f"    seeded {callable_:,} callable + {backlog:,} rescheduled + {history:,} closed"
        f" callbacks and {agents} agents in {time.perf_counter() - t0:.1f} s"
    )
    print(f"    claim-next plan: {plan_line}")
    # New users, never reset: credentials version 1.
    tokens = [
        issue_local(keys.jwt_secret, user_id=str(u.id), credentials_version=1, now=now, minutes=240)
        for u in users
    ]
    return [{"Authorization": f"Bearer {token}"} for token in tokens], branch.id


async def bench_claim_query(engine: AsyncEngine, branch_id: uuid.UUID, runs: int) -> list[float]:
    """The claim query alone (lock the next callable row, then roll back), one connection."""
    factory = make_session_factory(engine)
    agent, samples = bench_agent(branch_id), []
    for _ in range(runs):
        async with factory() as session:
            t0 = time.perf_counter()
            found = await repository.lock_next_claimable(
                session, agent, now=dt.datetime.now(dt.UTC), kinds=list(KINDS), team_id=None
            )
            samples.append((time.perf_counter() - t0) * 1e3)
            assert found is not None
            await session.rollback()
    print(f"    claim query alone (checkout, SELECT … FOR UPDATE SKIP LOCKED LIMIT 1, rollback):"
          f" {cuts(samples)}")  # fmt: skip
    return samples


def start_service(url: str, port: int, *, workers: int, pool: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CONTACT_DESK_ENVIRONMENT": "development",
        "CONTACT_DESK_MIGRATE_ON_START": "false",
        "CONTACT_DESK_SWEEP_INTERVAL_SECONDS": "0",
        "CONTACT_DESK_RATE_LIMIT_PER_MINUTE": "10000000",
        "CONTACT_DESK_DB_POOL_SIZE": str(pool),
        "CONTACT_DESK_DB_MAX_OVERFLOW": "0",
        "CONTACT_DESK_ADMIN_PASSWORD": "bench-admin-password-not-used-anywhere",
    }
    command = [
        sys.executable,
        "-m",
        "app.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    # Request logs (INFO, one JSON line each) are written as in production, to /dev/null.
    return subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


async def wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        for _ in range(600):
            if process.poll() is not None:
                raise RuntimeError(f"the service exited with {process.returncode}")
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the service did not become ready in 60 s")


@dataclass
class Tally:
    claim_ms: list[float] = field(default_factory=list)
    attempt_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    worked: int = 0
    empty: int = 0

    def count(self, status: int) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1


OUTCOMES = ["no_answer"] * 14 + ["busy"] * 3 + ["refused"] * 3


async def agent(client: httpx.AsyncClient, headers: dict[str, str], until: float, tally: Tally,
                rng: random.Random) -> None:  # fmt: skip
    while time.perf_counter() < until:
        t0 = time.perf_counter()
        held = await client.post("/v1/callbacks/claim-next", headers=headers)
        tally.claim_ms.append((time.perf_counter() - t0) * 1e3)
        tally.count(held.status_code)
        if held.status_code == 204:
            tally.empty += 1
            return
        if held.status_code != 200:
            continue
        body = held.json()
        t0 = time.perf_counter()
        done = await client.post(
            f"/v1/callbacks/{body['id']}/attempts",
            json={"method": "phone", "outcome": rng.choice(OUTCOMES)},
            headers={**headers, "If-Match": held.headers["ETag"]},
        )
        tally.attempt_ms.append((time.perf_counter() - t0) * 1e3)
        tally.count(done.status_code)
        tally.worked += done.status_code == 200


async def load(base: str, headers: list[dict[str, str]], seconds: float) -> tuple[Tally, float]:
    tally = Tally()
    limits = httpx.Limits(max_connections=len(headers), max_keepalive_connections=len(headers))
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        until = time.perf_counter() + seconds
        t0 = time.perf_counter()
        await asyncio.gather(
            *(agent(client, h, until, tally, random.Random(i)) for i, h in enumerate(headers))
        )
        elapsed = time.perf_counter() - t0
    return tally, elapsed


def cuts(samples: list[float]) -> str:
    if len(samples) < 2:
        return "n/a"
    q = statistics.quantiles(samples, n=100)
    return f"p50 {q[49]:.1f} ms, p99 {q[98]:.1f} ms (n = {len(samples):,})"


def report(
    tally: Tally, elapsed: float, service_cpu: float, generator_cpu: float
) -> dict[str, Any]:
    requests = len(tally.claim_ms) + len(tally.attempt_ms)
    print(f"    CPU per request: service {service_cpu / requests * 1e3:.1f} ms,"
          f" load generator {generator_cpu / requests * 1e3:.1f} ms;"
          f" load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    print(f"    {requests:,} requests in {elapsed:.1f} s: {requests / elapsed:,.0f} requests/s;"
          f" {tally.worked / elapsed:,.1f} callbacks worked/s (claim + attempt)")  # fmt: skip
    print(f"    claim-next: {cuts(tally.claim_ms)}")
    print(f"    attempts:   {cuts(tally.attempt_ms)}")
    print(f"    all:        {cuts(tally.claim_ms + tally.attempt_ms)}")
    print(f"    statuses: {dict(sorted(tally.statuses.items()))}; agents that emptied the queue:"
          f" {tally.empty}")  # fmt: skip
    return measure(
        "claim_and_attempt", "callbacks worked: claim-next then an attempt, per agent",
        rate=tally.worked / elapsed, unit="callbacks/s",
        **quantiles_ms(tally.claim_ms + tally.attempt_ms),
        extra={"requests_per_s": requests / elapsed,
               "claim_p99_ms": quantiles_ms(tally.claim_ms).get("p99_ms"),
               "attempt_p99_ms": quantiles_ms(tally.attempt_ms).get("p99_ms"),
               "service_cpu_ms_per_request": service_cpu / requests * 1e3,
               "non_200": sum(n for s, n in tally.statuses.items() if s != 200)},
    )  # fmt: skip


async def pgbench_queue(
    server_socket: str, engine: AsyncEngine, branch_id: uuid.UUID, args: argparse.Namespace
) -> dict[str, Any]:
    """claim-next + attempt as SQL on the same queue, one pgbench client per agent."""
    async with engine.connect() as connection:
        agent = await connection.scalar(
            text("SELECT id FROM users WHERE username = 'bench-agent-000'")
        )
    folder = Path(tempfile.mkdtemp(prefix="bench-callbacks-pgbench-"))
    script = folder / "claim_attempt.sql"
    script.write_text(
        pgbench_scripts.callback_claim_attempt(str(branch_id), str(agent), list(KINDS)),
        encoding="utf-8",
    )
    result = await asyncio.to_thread(
        run_pgbench, server_socket, "bench_callbacks", [(script, 1)], clients=args.agents,
        seconds=args.seconds,
    )  # fmt: skip
    shutil.rmtree(folder, ignore_errors=True)
    print(f"    pgbench, claim-next + attempt transactions, {args.agents} clients: {result}")
    return result


async def run(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="contact-desk-bench-"))
    server = start_embedded(folder / "pg", database="bench_callbacks")
    url = server.url("bench_callbacks")
    settings = Settings(database_url=url, db_statement_timeout_ms=600_000)
    engine = create_engine_from_settings(settings, url)
    service: subprocess.Popen[bytes] | None = None
    memory = MemorySampler({"postgres": postmaster_pid(server.data_dir)}).__enter__()
    try:
        await migrate.upgrade(engine)
        print(f"Machine: {machine_line()}; {dt.date.today().isoformat()}")  # noqa: DTZ011
        headers, branch_id = await seed(
            engine,
            settings,
            agents=args.agents,
            callable_=args.callable,
            backlog=args.backlog,
            history=args.history,
        )
        port = free_port()
        service = start_service(url, port, workers=args.workers, pool=args.pool)
        base = f"http://127.0.0.1:{port}"
        memory.add("service", service.pid)
        await wait_ready(base, service)
        print(f"    service: {args.workers} worker(s), pool {args.pool}; {args.agents} agents")
        await load(base, headers, args.warmup)  # connections, caches, prepared statements
        cpu_before, own_before = cpu_seconds(service.pid), time.process_time()
        tally, elapsed = await load(base, headers, args.seconds)
        service_cpu = cpu_seconds(service.pid) - cpu_before
        queue = report(tally, elapsed, service_cpu, time.process_time() - own_before)
        memory.stop()
        claim_ms = await bench_claim_query(engine, branch_id, runs=args.claim_runs)
        ceiling = await pgbench_queue(server.socket_dir, engine, branch_id, args)
        queue["pgbench_what"] = (
            "claim-next (held one?, queue head FOR UPDATE SKIP LOCKED, hold, timeline, phones,"
            " clocks) and an attempt (lock, attempt row, reschedule, timeline, read-backs):"
            f" two transactions, {args.agents} clients, {args.seconds:g} s"
        )
        if ceiling.get("tps"):
            queue.update(pgbench_tps=ceiling["tps"], ratio=queue["rate"] / ceiling["tps"])
        measures = [queue, measure("claim_query", "the claim query alone (checkout, SELECT …"
                                   " FOR UPDATE SKIP LOCKED LIMIT 1, rollback)",
                                   **quantiles_ms(claim_ms))]  # fmt: skip
        write_json(args.json, {"benchmark": "callbacks", "title": "Callbacks (issue 7)",
                               "measures": measures, "memory": memory.result()})  # fmt: skip
    finally:
        memory.stop()
        if service is not None:
            service.send_signal(signal.SIGTERM)
            service.wait(timeout=30)
        await engine.dispose()
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--callable", type=int, default=20_000)
    parser.add_argument("--backlog", type=int, default=80_000)
    parser.add_argument("--history", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--pool", type=int, default=40)
    parser.add_argument("--claim-runs", type=int, default=200)
    parser.add_argument("--json", help="write the machine-readable result here")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
