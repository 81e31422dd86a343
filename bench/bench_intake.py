"""Hotline intake figures (issue 6): IVR intake under retries, caller lookup over 1M tickets.

    python bench/bench_intake.py [--workers 2] [--requests 12000] [--concurrency 32]
        [--retry-share 0.3] [--intake-rate 200] [--intake-seconds 30] [--tickets 1000000]
        [--lookup-rate 200] [--lookup-seconds 60] [--json PATH]

Starts an embedded PostgreSQL in a temporary folder, migrates it, and runs the service as a
subprocess (``contact-desk serve`` on a free loopback port) against it; httpx.AsyncClient is the
load generator, on the same machine (wrk when installed). Targets: intake >= 800 requests/s at
p99 <= 100 ms with no duplicate tickets; caller lookup p99 < 20 ms at 200 requests/s with
1,000,000 tickets stored. Intake is also measured in an open loop at ``--intake-rate`` calls/s
(no target: the latency a waiting caller feels at a steady rate).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import intake_seed as seed
import openloop  # bench/ is on sys.path when this script runs
import pgbench_scripts
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
from sqlalchemy.ext.asyncio import AsyncEngine

from app.access.pii import FieldCipher, PiiCodec
from app.access.secrets import parse_pii_keys
from app.core.config import Settings
from app.db import migrate
from app.db.embedded import start_embedded
from app.db.session import create_engine_from_settings

ADMIN_PASSWORD = "bench-admin-password-0123456789"
PII_KEYS = "bench1:" + base64.b64encode(b"k" * 32).decode()
PII_HASH_KEY = "bench-hash-key-" + "h" * 40
INTENTS = [
    ("inquiry", 0.35),
    ("claim_report", 0.25),
    ("complaint", 0.10),
    ("status_query", 0.20),
    ("callback_request", 0.10),
]
BRANCHES = ("HQ", "BJ01", "SH01", "GZ01")
DATABASE = "bench_intake"
ROOT = Path(__file__).resolve().parents[1]
RETRY_WINDOW = 64  # a retry repeats one of the last 64 calls sent: often one still in flight


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_of(root: int, database: str) -> tuple[float, float]:
    """CPU seconds used so far by the service (its process and workers) and by the database's
    backends (from /proc: so a figure per request does not depend on other load)."""
    service = database_cpu = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            pid = int(entry.name)
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
            if pid == root or parent == root:
                service += _cpu_seconds(pid)
            elif f"postgres {database} ".encode() in command.replace(b"\0", b" "):
                database_cpu += _cpu_seconds(pid)
        except (OSError, ValueError, IndexError):
            continue
    return service, database_cpu


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def pct(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=100)
    return (
        f"p50 {cuts[49]:.1f} ms, p95 {cuts[94]:.1f} ms, p99 {cuts[98]:.1f} ms,"
        f" max {max(samples):.1f} ms"
    )


def start_service(url: str, port: int, workers: int, log_level: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CONTACT_DESK_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "CONTACT_DESK_PII_KEYS": PII_KEYS,
        "CONTACT_DESK_PII_HASH_KEY": PII_HASH_KEY,
        "CONTACT_DESK_RATE_LIMIT_PER_MINUTE": "100000000",  # one IVR key sends everything
        "CONTACT_DESK_SWEEP_INTERVAL_SECONDS": "0",
        "CONTACT_DESK_DB_POOL_SIZE": "20",
        "CONTACT_DESK_DB_MAX_OVERFLOW": "20",
        "CONTACT_DESK_LOG_LEVEL": log_level,
    }
    command = [sys.executable, "-m", "app.cli", "serve"]
    command += ["--port", str(port), "--workers", str(workers)]
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)


async def wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        for _ in range(300):
            if process.poll() is not None:
                raise RuntimeError("the service exited during start-up")
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the service did not become ready")


async def ivr_key(client: httpx.AsyncClient) -> dict[str, str]:
    token = await client.post(
        "/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD}
    )
    admin = {"Authorization": f"Bearer {token.json()['access_token']}"}
    created = await client.post(
        "/v1/api-keys", json={"name": "bench IVR", "role": "ivr"}, headers=admin
    )
    return {"X-API-Key": created.json()["key"]}


def intake_requests(
    total: int, retry_share: float, policies: int, prefix: str = "bench"
) -> list[dict[str, Any]]:
    """The request sequence: new calls, and retries of recent ones (``retry_share`` of all; a
    retry is the very same payload)."""
    rng = random.Random(f"{prefix}{total}")
    started = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)
    names, weights = zip(*INTENTS, strict=True)
    sent: list[dict[str, Any]] = []
    for i in range(total):
        if sent and rng.random() < retry_share:
            sent.append(rng.choice(sent[-RETRY_WINDOW:]))
            continue
        caller = f"139{rng.randrange(10**8):08d}"
        call: dict[str, Any] = {
            "call_id": f"{prefix}-{i:08d}",
            "caller_number": rng.choice([caller, f"+86 {caller}", f"0086{caller}"]),
            "called_number": "95500",
            "started_at": started.isoformat(),
            "menu_path": "2",
            "intent": rng.choices(names, weights)[0],
            "transcript": "来电内容",
        }
        if rng.random() < 0.3:
            call["policy_number"] = f"PB{rng.randrange(1, policies + 1):010d}"
        sent.append(call)
    return sent


async def run_intake(
    base: str, headers: dict[str, str], calls: list[dict[str, Any]], concurrency: int
) -> tuple[float, list[float], Counter[str], dict[str, list[float]]]:
    latencies: list[float] = []
    by_intent: dict[str, list[float]] = {}
    outcomes: Counter[str] = Counter()
    queue = iter(calls)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=60
    ) as client:

        async def worker() -> None:
            for call in queue:
                t0 = time.perf_counter()
                try:
                    response = await client.post("/v1/ivr/calls", json=call)
                except httpx.TransportError:
                    outcomes["transport error"] += 1
                    continue
                elapsed = (time.perf_counter() - t0) * 1e3
                latencies.append(elapsed)
                by_intent.setdefault(call["intent"], []).append(elapsed)
                replayed = response.headers.get("Idempotent-Replayed") == "true"
                outcomes[f"{response.status_code}{' replayed' if replayed else ''}"] += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    return elapsed, latencies, outcomes, by_intent


WRK_SCRIPT = """
local bodies = {}
local position = 0
local counter = 0
local threads = {}

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  local stride = tonumber(args[2])
  local index = 0
  for line in io.lines(args[1]) do
    if index % stride == id - 1 then
      table.insert(bodies, line)
    end
    index = index + 1
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-API-Key"] = args[3]
  statuses = {}
end

function request()
  position = position % #bodies + 1
  return wrk.format(nil, "/v1/ivr/calls", nil, bodies[position])
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    for code, n in pairs(s) do counts[code] = (counts[code] or 0) + n end
  end
  local parts = {}
  for code, n in pairs(counts) do table.insert(parts, string.format('"%d": %d', code, n)) end
  io.write(string.format(
    'JSON {"requests": %d, "errors": %d, "seconds": %f, "p50": %f, "p99": %f, "max": %f, '
    .. '"statuses": {%s}}\\n',
    summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, table.concat(parts, ", ")))
end
"""


def run_intake_wrk(
    base: str, key: str, calls: list[dict[str, Any]], seconds: int, concurrency: int
) -> dict[str, Any]:
    """``wrk`` (C, 2 threads) sends the calls in order, each thread its share, wrapping round
    if it runs out; the service sees what an IVR farm would send, at no Python cost here."""
    folder = Path(tempfile.mkdtemp(prefix="bench-intake-wrk-"))
    bodies = folder / "calls.jsonl"
    bodies.write_text("\n".join(json.dumps(c, ensure_ascii=False) for c in calls) + "\n")
    script = folder / "intake.lua"
    script.write_text(WRK_SCRIPT)
    threads = 2
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{seconds}s", "-s", str(script), base,
         "--", str(bodies), str(threads), key],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    shutil.rmtree(folder, ignore_errors=True)
    figures: dict[str, Any] = json.loads(out[out.index("JSON ") + 5 :].splitlines()[0])
    figures["rps"] = figures["requests"] / figures["seconds"]
    return figures


async def duplicates(engine: AsyncEngine, sent: list[dict[str, Any]]) -> int:
    distinct_calls = len({c["call_id"] for c in sent})
    creating = len(
        {c["call_id"] for c in sent if c["intent"] in {"inquiry", "claim_report", "complaint"}}
    )
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    """
                    SELECT (SELECT count(*) FROM ivr_calls),
                           (SELECT count(DISTINCT ticket_id) FROM ivr_calls
                            WHERE ticket_kind IN ('inquiry', 'claim_report', 'complaint')),
                           (SELECT count(*) FROM inquiries WHERE registered_by LIKE 'api_key:%')
                         + (SELECT count(*) FROM claim_reports
                            WHERE registered_by LIKE 'api_key:%')
                         + (SELECT count(*) FROM complaints WHERE registered_by LIKE 'api_key:%'),
                           (SELECT count(*) FROM (SELECT 1 FROM ivr_calls
                            GROUP BY client_id, call_id HAVING count(*) > 1) AS d)
                    """
                )
            )
        ).one()
    calls, linked, tickets, repeated = row
    print(
        f"    database: {calls:,} ivr_calls rows for ~{distinct_calls:,} distinct call ids sent;"
        f" {tickets:,} tickets made by the IVR for ~{creating:,} ticket-creating call ids,"
        f" {linked:,} of them linked from their call row"
    )
    # A second ticket for a call could not be linked: the call has one row, with one ticket id.
    print(
        f"    duplicates: {tickets - linked:,} tickets without their own call,"
        f" {repeated} call ids stored twice"
    )
    return int(tickets - linked + repeated)


async def bench_intake(
    base: str, engine: AsyncEngine, args: argparse.Namespace
) -> list[dict[str, Any]]:
    """The closed-loop run (wrk if installed, else httpx) and, with wrk, the open-loop one."""
    async with httpx.AsyncClient(base_url=base) as client:
        headers = await ivr_key(client)
    # Enough to open every pooled connection of both workers and prepare their statements.
    warm = intake_requests(1_500, 0.0, args.policies, prefix="warm")
    await run_intake(base, headers, warm, args.concurrency)
    if shutil.which("wrk"):
        # Enough distinct calls for the run at up to ~1,500 requests/s; sent once each (a
        # wrap-round would only add retries).
        calls = intake_requests(args.seconds * 1_500, args.retry_share, args.policies)
        cpu_before = cpu_of(args.service_pid, DATABASE)
        figures = run_intake_wrk(base, headers["X-API-Key"], calls, args.seconds, args.concurrency)
        cpu_after = cpu_of(args.service_pid, DATABASE)
        per_request = [
            (a - b) / figures["requests"] * 1e3 for a, b in zip(cpu_after, cpu_before, strict=True)
        ]
        # Each wrk thread sent its share from the start: about this many from the front.
        sent = calls[: figures["requests"]]
        print(
            f"(a) IVR intake (wrk, 2 threads), {figures['requests']:,} requests in"
            f" {figures['seconds']:.0f} s, {args.concurrency} concurrent connections,"
            f" {args.retry_share:.0%} retries: {figures['rps']:,.0f} requests/s;"
            f" p50 {figures['p50']:.1f} ms, p99 {figures['p99']:.1f} ms, max {figures['max']:.1f} ms"
        )
        print(
            f"    statuses {figures['statuses']}, transport errors {figures['errors']};"
            f" CPU per request: service {per_request[0]:.2f} ms, PostgreSQL"
            f" {per_request[1]:.2f} ms"
        )
        open_calls, steady = await intake_open_loop(base, headers, args)
        found = await duplicates(engine, warm + sent + open_calls)
        closed = measure(
            "ivr_intake", f"IVR intake, POST /v1/ivr/calls (wrk, {args.concurrency} connections,"
            f" {args.retry_share:.0%} retries, {args.workers} workers)", rate=figures["rps"],
            unit="req/s", p50_ms=figures["p50"], p99_ms=figures["p99"],
            extra={"duplicates": found, "transport_errors": figures["errors"],
                   "service_cpu_ms_per_request": per_request[0],
                   "postgres_cpu_ms_per_request": per_request[1]},
        )  # fmt: skip
        return [closed, steady]
    calls = intake_requests(args.requests, args.retry_share, args.policies)
    cpu_before = cpu_of(args.service_pid, DATABASE)
    elapsed, latencies, outcomes, by_intent = await run_intake(
        base, headers, calls, args.concurrency
    )
    cpu_after = cpu_of(args.service_pid, DATABASE)
    per_request = [(a - b) / len(calls) * 1e3 for a, b in zip(cpu_after, cpu_before, strict=True)]
    print(
        f"(a) IVR intake, {len(calls):,} requests, {args.concurrency} concurrent clients,"
        f" {args.retry_share:.0%} retries: {len(calls) / elapsed:,.0f} requests/s;"
        f" {pct(latencies)}"
    )
    print(
        f"    responses: {dict(sorted(outcomes.items()))}; CPU per request: service"
        f" {per_request[0]:.1f} ms, PostgreSQL {per_request[1]:.1f} ms"
    )
    for intent, samples in sorted(by_intent.items()):
        print(f"    {intent:<17} {len(samples):>6,}: {pct(samples)}")
    rate = len(calls) / elapsed
    figures = quantiles_ms(latencies)
    light = intake_requests(min(1_000, args.requests), args.retry_share, args.policies, "light")
    elapsed, latencies, outcomes, _ = await run_intake(base, headers, light, 4)
    print(
        f"    the same mix at 4 concurrent clients, {len(light):,} requests:"
        f" {len(light) / elapsed:,.0f} requests/s; {pct(latencies)}"
    )
    found = await duplicates(engine, warm + calls + light)
    return [measure(
        "ivr_intake", f"IVR intake, POST /v1/ivr/calls (httpx, {args.concurrency} clients,"
        f" {args.retry_share:.0%} retries, {args.workers} workers)", rate=rate, unit="req/s",
        **figures, extra={"duplicates": found, "service_cpu_ms_per_request": per_request[0],
                          "postgres_cpu_ms_per_request": per_request[1]},
    )]  # fmt: skip


async def intake_open_loop(
    base: str, headers: dict[str, str], args: argparse.Namespace
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The IVR as a hotline loads it: calls arriving at a steady rate whatever the answers do,
    latency counted from when each was due (what a waiting caller feels); the same mix of
    intents and retries as the closed-loop run. Returns the calls sent and the measure."""
    calls = intake_requests(
        int(args.intake_rate * args.intake_seconds), args.retry_share, args.policies, "open"
    )
    bodies = (("/v1/ivr/calls", json.dumps(c, ensure_ascii=False).encode()) for c in calls)
    await asyncio.sleep(2)
    latencies, statuses, _, elapsed, overloaded = await openloop.open_loop(
        base, headers, iter(bodies), args.intake_rate, args.intake_seconds, connections=64
    )
    verdict = " — OVERLOADED, stopped with 1,000 requests behind" if overloaded else ""
    print(
        f"(a2) IVR intake, open loop at {args.intake_rate:g} calls/s offered"
        f" ({len(latencies):,} answered in {elapsed:.0f} s){verdict}: {pct(latencies)};"
        f" statuses {dict(statuses)}"
    )
    row = measure(
        "ivr_intake_open_loop", f"IVR intake, open loop at {args.intake_rate:g} req/s offered,"
        f" {args.retry_share:.0%} retries (latency from when each was due)",
        rate=len(latencies) / elapsed, unit="req/s", **quantiles_ms(latencies),
        extra={"offered_rate": args.intake_rate, "overloaded": int(overloaded),
               "non_201": sum(n for s, n in statuses.items() if s != "201")},
    )  # fmt: skip
    return calls[: len(latencies)], row


async def pgbench_intake(socket_dir: str, args: argparse.Namespace) -> dict[str, Any]:
    """The intake transactions on the same database: a new caller's inquiry (all the new
    calls, whatever their intent) and a retried call, in the run's proportions."""
    folder = Path(tempfile.mkdtemp(prefix="bench-intake-pgbench-"))
    ctx = await pgbench_scripts.context(socket_dir, DATABASE)
    (folder / "new.sql").write_text(pgbench_scripts.intake_new(ctx), encoding="utf-8")
    (folder / "replay.sql").write_text(pgbench_scripts.intake_replay(), encoding="utf-8")
    replays = round(args.retry_share * 100)
    scripts = [(folder / "new.sql", 100 - replays), (folder / "replay.sql", replays)]
    result = await asyncio.to_thread(
        run_pgbench, socket_dir, DATABASE, scripts, clients=args.concurrency,
        seconds=args.seconds,
    )  # fmt: skip
    written = await pgbench_scripts.scalar(
        socket_dir, DATABASE, "SELECT count(*) FROM inquiries WHERE number LIKE 'IQ_%' AND"
        " registered_by = 'api_key:00000000-0000-4000-9000-000000000002'")  # fmt: skip
    shutil.rmtree(folder, ignore_errors=True)
    what = (f"{100 - replays} % a new caller's inquiry (the call's context, which finds or"
            " creates the customer; one WITH … INSERT statement with the call row as its claim;"
            f" no BEGIN/COMMIT, as the service sends them), {replays} % a retried call (the"
            f" context, which finds the stored answer); {args.concurrency} clients,"
            f" {args.seconds} s")  # fmt: skip
    print(f"    pgbench, the intake transactions: {result}; {written:,} inquiries written")
    if not written:
        result = {"error": "pgbench's inquiries wrote nothing"}
    return {**result, "what": what}


async def seed_tickets(engine: AsyncEngine, args: argparse.Namespace) -> None:
    codec = PiiCodec(FieldCipher(parse_pii_keys(PII_KEYS)), PII_HASH_KEY.encode())
    t0 = time.perf_counter()
    per = args.tickets // 10
    counts = {"inquiries": per * 4, "claims": per * 3, "complaints": args.tickets - per * 7}
    params = {"customers": args.customers, "branches": len(BRANCHES)}
    async with engine.begin() as connection:
        await connection.execute(text("SET LOCAL statement_timeout = 0"))
        await connection.execute(seed.CUSTOMERS, {"customers": args.customers})
        raw = await connection.get_raw_connection()
        await raw.driver_connection.copy_records_to_table(
            "customer_phones",
            records=list(seed.phone_rows(codec, args.customers)),
            columns=["phone_hash", "customer_id", "phone_enc"],
        )
        await connection.execute(seed.INQUIRIES, {**params, "count": counts["inquiries"]})
        await connection.execute(seed.CLAIM_REPORTS, {**params, "count": counts["claims"]})
        await connection.execute(seed.COMPLAINTS, {**params, "count": counts["complaints"]})
        await connection.execute(
            seed.COMPLAINANT_PHONES, {"customers": args.customers, "count": counts["complaints"]}
        )
        await connection.execute(seed.CLOCKS)
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("SET statement_timeout = 0"))
        await autocommit.execute(text("VACUUM ANALYZE"))
        # Write the bulk load out now, so the lookups below are not measured against the
        # checkpoint that would otherwise flush it in the middle of them.
        await autocommit.execute(text("CHECKPOINT"))
        total = await autocommit.scalar(
            text(
                "SELECT (SELECT count(*) FROM inquiries) + (SELECT count(*) FROM claim_reports)"
                " + (SELECT count(*) FROM complaints)"
            )
        )
        clocks = await autocommit.scalar(text("SELECT count(*) FROM clocks"))
    print(
        f"    seeded {args.customers:,} customers with phones, {total:,} tickets in the database"
        f" ({counts}; one in ten open), {clocks:,} clocks; analysed, in"
        f" {time.perf_counter() - t0:.0f} s"
    )


def _lookup_paths(customers: int, seed_value: int) -> Iterator[str]:
    """Caller lookups of seeded callers, the phone written in one of four formats."""
    rng = random.Random(seed_value)
    formats = ("+86 {a} {b} {c}", "{a}-{b}-{c}", "0086{a}{b}{c}", "{a}{b}{c}")
    while True:
        digits = str(seed.FIRST_PHONE + rng.randrange(1, customers + 1))
        phone = rng.choice(formats).format(a=digits[:3], b=digits[3:7], c=digits[7:])
        yield f"/v1/ivr/callers/{phone}"


async def bench_lookup(base: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=base) as client:
        headers = await ivr_key(client)
    paths = _lookup_paths(args.customers, 7)
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=120
    ) as client:
        sequential = []
        cpu_before = cpu_of(args.service_pid, DATABASE)
        for _ in range(500):
            t0 = time.perf_counter()
            response = await client.get(next(paths))
            assert response.status_code == 200, response.text
            sequential.append((time.perf_counter() - t0) * 1e3)
        cpu_after = cpu_of(args.service_pid, DATABASE)
        per_request = [(a - b) / 500 * 1e3 for a, b in zip(cpu_after, cpu_before, strict=True)]
        size = {"tickets": args.tickets}
        found = [measure(
            "caller_lookup_sequential", "caller lookup GET /v1/ivr/callers/{phone}, one at a"
            " time", rate=1e3 / statistics.mean(sequential[100:]), unit="req/s",
            **quantiles_ms(sequential[100:]),
            extra={**size, "service_cpu_ms_per_request": per_request[0]})]  # fmt: skip
        print(
            f"(b) caller lookup, one request at a time (500): {pct(sequential[100:])};"
            f" CPU per request: service {per_request[0]:.1f} ms, PostgreSQL {per_request[1]:.1f} ms"
        )
        light = (25.0, min(30.0, args.lookup_seconds))
        for rate, seconds in ((args.lookup_rate, args.lookup_seconds), light):
            await asyncio.sleep(2)
            # A lean generator (bench/openloop.py), not httpx: at ~1 ms of CPU per request
            # httpx took a core's share from the service and fell behind its own schedule.
            latencies, statuses, items, elapsed, overloaded = await openloop.open_loop(
                base, headers, paths, rate, seconds, connections=64
            )
            verdict = " — OVERLOADED, stopped with 1,000 requests behind" if overloaded else ""
            print(
                f"    open loop at {rate:g} requests/s ({len(latencies):,} answered in"
                f" {elapsed:.0f} s, {len(latencies) / elapsed:,.0f}/s){verdict}: {pct(latencies)}"
            )
            print(
                f"    statuses {dict(statuses)}; open items per caller: mean"
                f" {statistics.mean(items):.2f}, max {max(items)}"
            )
            name = "caller_lookup_open_loop" if rate == args.lookup_rate else "caller_lookup_light"
            found.append(measure(
                name, f"caller lookup, open loop at {rate:g} req/s offered (latency from when"
                " each was due)", rate=len(latencies) / elapsed, unit="req/s",
                **quantiles_ms(latencies),
                extra={**size, "offered_rate": rate, "overloaded": int(overloaded)}))  # fmt: skip
    return found


async def seed_reference(engine: AsyncEngine, policies: int) -> None:
    async with engine.begin() as connection:
        for code in BRANCHES[1:]:
            await connection.execute(
                text("INSERT INTO branches (id, code, name) VALUES (gen_random_uuid(), :c, :c)"),
                {"c": code},
            )
        await connection.execute(seed.POLICIES, {"policies": policies, "branches": len(BRANCHES)})


async def run(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="contact-desk-bench-intake-"))
    pg = start_embedded(folder / "pg", database=DATABASE)
    url = pg.url(DATABASE)
    engine = create_engine_from_settings(
        Settings(database_url=url, db_statement_timeout_ms=3_600_000), url
    )
    service: subprocess.Popen[bytes] | None = None
    memory = MemorySampler({"postgres": postmaster_pid(pg.data_dir)}).__enter__()
    try:
        await migrate.upgrade(engine)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        service = start_service(url, port, args.workers, args.log_level)
        memory.add("service", service.pid)
        await wait_ready(base, service)
        args.service_pid = service.pid
        await seed_reference(engine, args.policies)
        print(f"Machine: {machine_line()}; {dt.date.today().isoformat()}")  # noqa: DTZ011
        print(
            f"Service: contact-desk serve --workers {args.workers} (log level {args.log_level}),"
            " embedded PostgreSQL 16 and the load generator on the same machine"
        )
        intake, *steady = await bench_intake(base, engine, args)
        ceiling = await pgbench_intake(pg.socket_dir, args)
        intake.update(pgbench_tps=ceiling.get("tps"), pgbench_what=ceiling["what"])
        if ceiling.get("tps"):
            intake["ratio"] = intake["rate"] / ceiling["tps"]
        measures = [intake, *steady]
        if not args.skip_lookup:
            await seed_tickets(engine, args)
            measures += await bench_lookup(base, args)
        memory.stop()
        write_json(args.json, {"benchmark": "intake", "title": "Hotline intake (issue 6)",
                               "measures": measures, "memory": memory.result()})  # fmt: skip
    finally:
        memory.stop()
        if service is not None:
            service.terminate()
            service.wait(timeout=30)
        await engine.dispose()
        pg.stop()
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--requests", type=int, default=12_000, help="without wrk")
    parser.add_argument("--seconds", type=int, default=20, help="with wrk")
    parser.add_argument("--skip-lookup", action="store_true")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--retry-share", type=float, default=0.3)
    parser.add_argument("--policies", type=int, default=10_000)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--intake-rate", type=float, default=200, help="open-loop IVR calls/s")
    parser.add_argument("--intake-seconds", type=float, default=30)
    parser.add_argument("--lookup-rate", type=float, default=200)
    parser.add_argument("--lookup-seconds", type=float, default=60)
    parser.add_argument("--json", help="write the machine-readable result here")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
