"""Complaint throughput: registration and full lifecycles at 32 concurrent clients, beside the
raw PostgreSQL ceiling for the same transactions (pgbench), all on this machine in one run.

    .venv/bin/python bench/bench_complaints.py [--seconds 20] [--workers 2] [--json PATH]

Starts an embedded PostgreSQL in a temporary folder and ``contact-desk serve`` against it, then:
1. registration: ``wrk`` (if installed; ``apt-get install wrk``) or the Python client, 32 conns;
2. lifecycles: 32 Python clients, each register → request-materials → receive-materials →
   accept → decide → notify → close, as fast as they can;
3. pgbench: the SQL one registration runs (same statements, same tables), 32 clients.
Prints the figures and a Markdown block for bench/RESULTS.md. No thresholds: it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pgbench_scripts  # noqa: E402 - bench/ is on sys.path when this script runs
from common import (  # noqa: E402 - bench/ is on sys.path when this script runs
    MemorySampler,
    machine_line,
    measure,
    postmaster_pid,
    run_pgbench,
    write_json,
)

from app.db.embedded import start_embedded  # noqa: E402

ADMIN_PASSWORD = "bench-admin-password-123"
CLIENTS = 32
SMS = {"mode": "sms", "delivery": "sent"}

REGISTRATION = {
    "channel": "hotline",
    "complainant": {"name": "张三", "phones": ["13800138000"], "id_number": "110101199003071234",
                    "relation": "policyholder"},
    "policy_number": "P-2026-000123", "product_line": "life", "cause_code": "mis_selling",
    "description": "销售误导", "materials_received": ["投诉书"],
}  # fmt: skip


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def start_service(url: str, port: int, workers: int, folder: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": url, "CONTACT_DESK_ADMIN_PASSWORD": ADMIN_PASSWORD,
           "CONTACT_DESK_RATE_LIMIT_PER_MINUTE": "100000000", "CONTACT_DESK_DB_POOL_SIZE": "20"}  # fmt: skip
    log = open(folder / "service.log", "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", str(workers)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("service did not start; see " + str(folder / "service.log"))


def agent_token(base: str) -> str:
    admin = httpx.post(
        f"{base}/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD}
    )
    headers = {"Authorization": f"Bearer {admin.json()['access_token']}"}
    branch = httpx.get(f"{base}/v1/branches", headers=headers).json()["items"][0]["id"]
    password = "bench-agent-password-123"
    httpx.post(f"{base}/v1/users", headers=headers, json={
        "username": "bench.agent", "display_name": "Bench", "role": "agent",
        "branch_id": branch, "password": password,
    })  # fmt: skip
    token = httpx.post(
        f"{base}/v1/auth/token", data={"username": "bench.agent", "password": password}
    )
    return str(token.json()["access_token"])


def run_wrk(
    base: str, token: str, seconds: int, folder: Path, warmup: float = 0
) -> dict[str, float]:
    """``warmup`` seconds of the same load first, not counted: the service's steady state
    (every pooled connection open, its statements prepared, the caches filled) is measured."""
    script = folder / "register.lua"
    body = json.dumps(REGISTRATION, ensure_ascii=False).replace("\\", "\\\\").replace('"', '\\"')
    script.write_text(
        'wrk.method = "POST"\n'
        f'wrk.body = "{body}"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
        "done = function(summary, latency, requests)\n"
        '  io.write(string.format("JSON {\\"requests\\": %d, \\"errors\\": %d, \\"non2xx\\": %d, '
        '\\"seconds\\": %f, \\"p50\\": %f, \\"p99\\": %f}\\n", summary.requests, '
        "summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, "
        "summary.errors.status, summary.duration / 1e6, latency:percentile(50) / 1000, "
        "latency:percentile(99) / 1000))\n"
        "end\n",
        encoding="utf-8",
    )
    command = ["wrk", "-t2", f"-c{CLIENTS}", "-s", str(script), f"{base}/v1/complaints"]
    if warmup > 0:
        subprocess.run([*command, f"-d{warmup:g}s"], capture_output=True, check=True)
    out = subprocess.run(
        [*command, f"-d{seconds}s"], capture_output=True, text=True, check=True
    ).stdout
    figures = json.loads(re.search(r"JSON (\{.*\})", out).group(1))  # type: ignore[union-attr]
    figures["rps"] = figures["requests"] / figures["seconds"]
    return figures


async def run_python_registration(base: str, token: str, seconds: int) -> dict[str, float]:
    latencies: list[float] = []
    failures = 0
    deadline = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {token}"}

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal failures
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            response = await client.post("/v1/complaints", json=REGISTRATION, headers=headers)
            latencies.append((time.perf_counter() - started) * 1000)
            failures += response.status_code != 201

    limits = httpx.Limits(max_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        started = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(CLIENTS)))
        elapsed = time.perf_counter() - started
    return {"requests": len(latencies), "non2xx": failures, "errors": 0, "seconds": elapsed,
            "rps": len(latencies) / elapsed, "p50": percentile(latencies, 0.5),
            "p99": percentile(latencies, 0.99)}  # fmt: skip


LIFECYCLE = [
    ("request-materials", {"missing": ["保单复印件"], "notice": SMS}),
    ("receive-materials", {"received": ["保单复印件"]}),
    ("accept", {"notice": SMS}),
    ("decide", {"findings": "f", "reasons": "r", "remedies": ["退还保费"]}),
    ("notify", {"kind": "decision", "mode": "written", "delivery": "sent"}),
    ("close", {}),
]


async def run_lifecycles(base: str, token: str, seconds: int) -> dict[str, float]:
    latencies: list[float] = []
    completed = failures = 0
    deadline = time.perf_counter() + seconds
    auth = {"Authorization": f"Bearer {token}"}

    async def one(client: httpx.AsyncClient) -> None:
        nonlocal completed, failures
        started = time.perf_counter()
        response = await client.post("/v1/complaints", json=REGISTRATION, headers=auth)
        latencies.append((time.perf_counter() - started) * 1000)
        body = response.json()
        for action, payload in LIFECYCLE:
            started = time.perf_counter()
            response = await client.post(
                f"/v1/complaints/{body['id']}/{action}", json=payload,
                headers={**auth, "If-Match": f'"v{body["version"]}"'},
            )  # fmt: skip
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                failures += 1
                return
            body = response.json()
        completed += 1

    async def client_loop(client: httpx.AsyncClient) -> None:
        while time.perf_counter() < deadline:
            await one(client)

    limits = httpx.Limits(max_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        started = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(CLIENTS)))
        elapsed = time.perf_counter() - started
    return {"lifecycles": completed, "failures": failures, "seconds": elapsed,
            "lifecycles_per_s": completed / elapsed, "rps": len(latencies) / elapsed,
            "p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99)}  # fmt: skip


def run_pgbench_registration(socket_dir: str, seconds: int, folder: Path) -> dict[str, float]:
    """The registration as the service sends it now (one WITH … INSERT statement, alone),
    32 clients, on the same database."""
    script = folder / "registration.sql"
    ctx = asyncio.run(pgbench_scripts.context(socket_dir, "contact_desk"))
    script.write_text(pgbench_scripts.registration(ctx), encoding="utf-8")
    result = run_pgbench(socket_dir, "contact_desk", [(script, 1)], clients=CLIENTS,
                         seconds=seconds)  # fmt: skip
    if "error" in result:
        raise SystemExit(f"pgbench failed: {result['error']}")
    written = asyncio.run(pgbench_scripts.scalar(
        socket_dir, "contact_desk", "SELECT count(*) FROM complaints WHERE number LIKE 'PB%'"))  # fmt: skip
    if not written:
        raise SystemExit("pgbench's registrations wrote nothing (calendar guard not met?)")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--warmup", type=float, default=5, help="seconds of load not counted")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", help="write the machine-readable result here")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-complaints-"))
    pg = start_embedded(folder / "pg")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    service = start_service(pg.url(), port, args.workers, folder)
    memory = MemorySampler(
        {"service": service.pid, "postgres": postmaster_pid(pg.data_dir)}
    ).__enter__()
    try:
        token = agent_token(base)
        httpx.post(f"{base}/v1/complaints", json=REGISTRATION,
                   headers={"Authorization": f"Bearer {token}"})  # warm-up  # fmt: skip
        if shutil.which("wrk"):
            tool = "wrk"
            registration = run_wrk(base, token, args.seconds, folder, warmup=args.warmup)
        else:
            tool = "httpx"
            registration = asyncio.run(run_python_registration(base, token, args.seconds))
        lifecycle = asyncio.run(run_lifecycles(base, token, args.seconds))
        memory.stop()
        service.send_signal(signal.SIGTERM)
        service.wait(timeout=30)
        ceiling = run_pgbench_registration(pg.socket_dir, args.seconds, folder)
    finally:
        memory.stop()
        if service.poll() is None:
            service.kill()
        pg.stop()
        shutil.rmtree(folder, ignore_errors=True)
    share = registration["rps"] / ceiling["tps"] * 100
    write_json(args.json, {
        "benchmark": "complaints",
        "title": "Complaints (issue 5)",
        "measures": [
            measure("registration", f"registration, POST /v1/complaints ({tool}, {CLIENTS}"
                    f" connections, {args.workers} workers, after {args.warmup:g} s of warm-up)",
                    rate=registration["rps"],
                    unit="req/s", p50_ms=registration["p50"], p99_ms=registration["p99"],
                    pgbench_tps=ceiling["tps"],
                    pgbench_what="the one WITH … INSERT statement of a registration"
                    f" (app.db.batch), sent alone as the service sends it — {CLIENTS} clients,"
                    f" {args.seconds} s",
                    extra={"non_2xx": registration["non2xx"], "errors": registration["errors"]}),
            measure("lifecycle", "full lifecycles, register → … → close (7 requests),"
                    f" {CLIENTS} clients", rate=lifecycle["rps"], unit="req/s",
                    p50_ms=lifecycle["p50"], p99_ms=lifecycle["p99"],
                    extra={"lifecycles_per_s": lifecycle["lifecycles_per_s"],
                           "failures": lifecycle["failures"]}),
        ],
        "memory": memory.result(),
    })  # fmt: skip
    print(json.dumps({"registration": registration, "lifecycle": lifecycle, "pgbench": ceiling},
                     indent=2))  # fmt: skip
    print(f"""
### Complaints (issue 5) — {datetime.now(UTC):%Y-%m-%d}, {machine_line()}
Service `contact-desk serve --workers {args.workers}` on the embedded PostgreSQL 16, load generator
and database on the same 2-core machine; {CLIENTS} concurrent clients, {args.seconds} s per run
(registration after {args.warmup:g} s of the same load, not counted).

| measure | result |
|---|---|
| registration ({tool}, POST /v1/complaints) | {registration["rps"]:.0f} requests/s, p50 {registration["p50"]:.1f} ms, p99 {registration["p99"]:.1f} ms, {registration["non2xx"]} non-2xx |
| pgbench, the same registration transaction ({CLIENTS} clients) | {ceiling["tps"]:.0f} transactions/s, avg {ceiling["latency_avg_ms"]:.1f} ms |
| registration as a share of the pgbench ceiling | {share:.0f} % |
| full lifecycles (register → … → close, 7 requests) | {lifecycle["lifecycles_per_s"]:.1f} lifecycles/s = {lifecycle["rps"]:.0f} requests/s, p50 {lifecycle["p50"]:.1f} ms, p99 {lifecycle["p99"]:.1f} ms, {lifecycle["failures"]} failures |
""")


if __name__ == "__main__":
    main()
