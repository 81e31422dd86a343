"""Fault injection: PostgreSQL restarts and crashes, and a killed service, under retrying load.

    .venv/bin/python scripts/faults.py [--seconds 20] [--scenario all|pg-restart|...]

Starts an embedded PostgreSQL in a temporary folder and ``contact-desk serve --workers 2``
against it. Clients then drive load the way the IVR and the agents' front end retry: IVR intake
(``POST /v1/ivr/calls``, idempotent on the call id) and complaints (registered with an
``Idempotency-Key``, then walked through their transitions, each with its own key and
``If-Match``). A client retries the very same request on a transport error, a timeout or a 503
until it gets an answer. A third of the way in, one fault is injected:

- ``pg-restart``: ``pg_ctl restart -m fast``;
- ``pg-crash``: ``pg_ctl stop -m immediate`` (no checkpoint: crash recovery on start), then start;
- ``kill-service``: SIGKILL to the service's whole process group (both workers), then start it.

Afterwards the database is read directly (asyncpg) and, per scenario, the script prints the
requests sent, the writes acknowledged, acknowledged writes missing from the database,
duplicates, answers other than 2xx or 503-with-Retry-After, transport errors (connection
refused or reset while something is down: no answer at all, counted apart) and the recovery
time: from the fault command to the first success of a request sent once the fault had taken
effect. The clock sweeper and the report folding run every second meanwhile; an ERROR line in
the service's log (a failure not recognised as the database being away) is counted too. Exits 1
if a must-be-0 figure (lost, duplicates, unexpected answers, errors logged) is not 0.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.db.embedded import EmbeddedPostgres, start_embedded  # noqa: E402

ADMIN_PASSWORD = "faults-admin-password-0123456789"  # noqa: S105 - a throwaway database
AGENT_PASSWORD = "faults-agent-password-0123456789"  # noqa: S105
SCENARIOS = ("pg-restart", "pg-crash", "kill-service")
IVR_CLIENTS = 6
COMPLAINT_CLIENTS = 6
INTENTS = ("inquiry", "complaint", "claim_report")
SMS = {"mode": "sms", "delivery": "sent"}
REGISTRATION = {
    "channel": "hotline",
    "complainant": {"name": "张三", "phones": ["13800138000"], "relation": "policyholder"},
    "policy_number": "P-2026-000123", "product_line": "life", "cause_code": "mis_selling",
    "description": "销售误导", "materials_received": ["投诉书"],
}  # fmt: skip
LIFECYCLE = [
    ("request-materials", {"missing": ["保单复印件"], "notice": SMS}),
    ("receive-materials", {"received": ["保单复印件"]}),
    ("accept", {"notice": SMS}),
    ("decide", {"findings": "f", "reasons": "r", "remedies": ["退还保费"]}),
    ("notify", {"kind": "decision", "mode": "written", "delivery": "sent"}),
    ("close", {}),
]


# --- the two processes -------------------------------------------------------------------------


class Postgres:
    """The embedded server, driven with its own ``pg_ctl`` (as pgserver's system user if root)."""

    def __init__(self, folder: Path) -> None:
        self.embedded: EmbeddedPostgres = start_embedded(folder / "pg")
        import pgserver  # type: ignore[import-untyped]

        self.pg_ctl_bin = Path(pgserver.__file__).parent / "pginstall" / "bin" / "pg_ctl"
        self.log = Path(self.embedded._server.log)  # in the data folder: writable by its user

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@/contact_desk?host={self.embedded.socket_dir}"

    def pg_ctl(self, *args: str) -> None:
        command = [str(self.pg_ctl_bin), "-D", str(self.embedded.data_dir), *args]
        user = self.embedded._server.system_user
        # Into a file, not a pipe: a postmaster started here inherits the output and would keep
        # a pipe open for ever.
        with open(self.embedded.data_dir.parent / "pg_ctl.log", "ab") as out:
            subprocess.run(  # noqa: S603 - the server's own pg_ctl, our arguments
                command, check=True, stdout=out, stderr=out, user=user, timeout=120
            )

    def restart_fast(self) -> None:
        # restart reuses the options the server was started with (socket folder, no TCP)
        self.pg_ctl("-w", "-l", str(self.log), "restart", "-m", "fast")

    def stop_immediate(self) -> None:
        self.pg_ctl("-w", "stop", "-m", "immediate")

    def stop(self) -> None:
        # pgserver stops only the postmaster it started itself, not one a restart replaced.
        if self.embedded.is_running():
            self.pg_ctl("-w", "stop", "-m", "fast")
        self.embedded.stop()

    def start(self) -> None:
        socket_dir = self.embedded.socket_dir
        self.pg_ctl("-w", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(self.log), "start")


class Service:
    """``contact-desk serve`` in its own process group, so SIGKILL reaches every worker."""

    def __init__(self, url: str, port: int, workers: int, folder: Path) -> None:
        self.port, self.workers, self.folder = port, workers, folder
        self.env = {
            **os.environ,
            "DATABASE_URL": url,
            "CONTACT_DESK_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "CONTACT_DESK_RATE_LIMIT_PER_MINUTE": "100000000",
            "CONTACT_DESK_RETRY_AFTER_SECONDS": "1",
            # The background loops run often, so the faults meet them too.
            "CONTACT_DESK_SWEEP_INTERVAL_SECONDS": "1",
            "CONTACT_DESK_REPORT_COMPACT_INTERVAL_SECONDS": "1",
            "CONTACT_DESK_LOG_LEVEL": "WARNING",
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.last_start_seconds = 0.0

    def start(self) -> None:
        started = time.monotonic()
        log = open(self.folder / "service.log", "ab")  # noqa: SIM115 - lives as long as the process
        command = [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port)]
        self.process = subprocess.Popen(  # noqa: S603 - our own CLI
            [*command, "--workers", str(self.workers)],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        for _ in range(600):
            if self.process.poll() is not None:
                raise SystemExit(f"service exited; see {self.folder / 'service.log'}")
            try:
                ready = httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=1)
                if ready.status_code == 200:
                    self.last_start_seconds = time.monotonic() - started
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"service not ready; see {self.folder / 'service.log'}")

    def errors_logged(self, since: int) -> list[str]:
        """ERROR lines the service logged after byte ``since`` of its log (a failure it did not
        recognise as the database being unavailable: a sweep, a fold or a request)."""
        with open(self.folder / "service.log", "rb") as log:
            log.seek(since)
            lines = log.read().decode(errors="replace").splitlines()
        return [line[:300] for line in lines if '"level": "ERROR"' in line]

    def log_size(self) -> int:
        return (self.folder / "service.log").stat().st_size

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


# --- clients that retry ------------------------------------------------------------------------


@dataclass
class Tally:
    requests: int = 0
    transport_errors: int = 0
    unavailable: int = 0  # 503 with Retry-After: the answer to retry
    unexpected: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)
    fault_at: float | None = None  # the fault command issued
    down_at: float | None = None  # the server surely down: requests sent later cannot succeed early
    first_success_after: float | None = None
    ivr_acks: dict[str, str] = field(default_factory=dict)  # call id → ticket id
    registrations: dict[str, str] = field(default_factory=dict)  # key → complaint id
    transitions: list[tuple[str, str]] = field(default_factory=list)  # complaint id, action

    @property
    def acknowledged(self) -> int:
        return len(self.ivr_acks) + len(self.registrations) + len(self.transitions)


async def send(
    client: httpx.AsyncClient, tally: Tally, path: str, body: Any, headers: dict[str, str]
) -> httpx.Response | None:
    """POST until an answer that is not "retry": the 2xx, or ``None`` for an unexpected one."""
    while True:
        tally.requests += 1
        sent = time.monotonic()
        try:
            response = await client.post(path, json=body, headers=headers)
        except httpx.TransportError:
            tally.transport_errors += 1
            await asyncio.sleep(0.1)
            continue
        if response.status_code == 503 and "retry-after" in response.headers:
            tally.unavailable += 1
            await asyncio.sleep(min(float(response.headers["retry-after"]), 1.0))
            continue
        if 200 <= response.status_code < 300:
            down_at = tally.down_at
            if down_at is not None and sent >= down_at and tally.first_success_after is None:
                tally.first_success_after = time.monotonic()
            return response
        label = f"{response.status_code} {path.rsplit('/', 1)[-1]}"
        tally.unexpected[label] += 1
        if len(tally.samples) < 5:
            tally.samples.append(f"{label}: {response.text[:300]}")
        return None


async def ivr_client(
    client: httpx.AsyncClient, tally: Tally, prefix: str, deadline: float, api_key: str
) -> None:
    for n in itertools.count():
        if time.monotonic() >= deadline:
            return
        call_id = f"{prefix}-{n:06d}"
        call = {
            "call_id": call_id, "caller_number": f"139{hash(call_id) % 10**8:08d}",
            "called_number": "95500", "started_at": datetime.now(UTC).isoformat(),
            "menu_path": "2", "intent": INTENTS[n % len(INTENTS)], "transcript": "来电内容",
        }  # fmt: skip
        response = await send(client, tally, "/v1/ivr/calls", call, {"X-API-Key": api_key})
        if response is not None:
            tally.ivr_acks[call_id] = response.json()["ticket"]["id"]


async def complaint_client(
    client: httpx.AsyncClient, tally: Tally, prefix: str, deadline: float, token: str
) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    for n in itertools.count():
        if time.monotonic() >= deadline:
            return
        key = f"{prefix}-{n:06d}"
        response = await send(
            client, tally, "/v1/complaints", REGISTRATION, {**auth, "Idempotency-Key": key}
        )
        if response is None:
            continue
        complaint = response.json()
        tally.registrations[key] = complaint["id"]
        for action, payload in LIFECYCLE:
            headers = {
                **auth,
                "Idempotency-Key": f"{key}-{action}",
                "If-Match": f'"v{complaint["version"]}"',
            }
            path = f"/v1/complaints/{complaint['id']}/{action}"
            response = await send(client, tally, path, payload, headers)
            if response is None:
                break
            complaint = response.json()
            tally.transitions.append((complaint["id"], action))


# --- checking the database ---------------------------------------------------------------------


@dataclass
class Findings:
    missing: int
    duplicates: int
    details: list[str]
    errors_logged: list[str] = field(default_factory=list)


async def check(dsn: str, tally: Tally) -> Findings:
    connection = await asyncpg.connect(dsn)
    try:
        return await _check(connection, tally)
    finally:
        await connection.close()


async def _check(db: asyncpg.Connection, tally: Tally) -> Findings:
    details: list[str] = []
    linked = dict(
        await db.fetch(
            "SELECT call_id, ticket_id::text FROM ivr_calls WHERE call_id = ANY($1::text[])",
            list(tally.ivr_acks),
        )
    )
    missing_calls = [c for c, ticket in tally.ivr_acks.items() if linked.get(c) != ticket]
    tickets = await db.fetchval(
        """SELECT count(*) FROM (SELECT id FROM inquiries UNION ALL SELECT id FROM complaints
           UNION ALL SELECT id FROM claim_reports) AS t WHERE id::text = ANY($1::text[])""",
        list(tally.ivr_acks.values()),
    )
    missing_tickets = len(set(tally.ivr_acks.values())) - tickets
    # Every ticket the IVR key registered belongs to exactly one call.
    ivr_orphans = await db.fetchval(
        """SELECT count(*) FROM (SELECT id FROM inquiries WHERE registered_by LIKE 'api_key:%'
           UNION ALL SELECT id FROM complaints WHERE registered_by LIKE 'api_key:%'
           UNION ALL SELECT id FROM claim_reports WHERE registered_by LIKE 'api_key:%') AS t
           WHERE NOT EXISTS (SELECT 1 FROM ivr_calls c WHERE c.ticket_id = t.id)"""
    )
    registered = await db.fetch(
        "SELECT key, response_body->>'id' AS id FROM idempotency_keys"
        " WHERE scope LIKE '%:complaints:register' AND key = ANY($1::text[])",
        list(tally.registrations),
    )
    stored = {row["key"]: row["id"] for row in registered}
    missing_keys = [k for k, cid in tally.registrations.items() if stored.get(k) != cid]
    present = await db.fetchval(
        "SELECT count(*) FROM complaints WHERE id::text = ANY($1::text[])",
        list(tally.registrations.values()),
    )
    missing_complaints = len(tally.registrations) - present
    # Every complaint an agent registered is the one answer of one Idempotency-Key.
    complaint_orphans = await db.fetchval(
        """SELECT count(*) FROM complaints c WHERE registered_by LIKE 'user:%' AND NOT EXISTS
           (SELECT 1 FROM idempotency_keys k WHERE k.scope LIKE '%:complaints:register'
            AND k.response_body->>'id' = c.id::text)"""
    )
    events = Counter(
        {
            (row["ticket_id"], row["action"]): row["n"]
            for row in await db.fetch(
                "SELECT ticket_id::text, action, count(*) AS n FROM ticket_events"
                " WHERE ticket_kind = 'complaint' AND ticket_id::text = ANY($1::text[])"
                " GROUP BY 1, 2",
                list(tally.registrations.values()),
            )
        }
    )
    missing_transitions = sum(1 for t in tally.transitions if events[t] == 0)
    repeated_transitions = sum(n - 1 for n in events.values() if n > 1)
    for name, value in [
        ("IVR calls acknowledged but not stored with their ticket", len(missing_calls)),
        ("IVR tickets acknowledged but missing", missing_tickets),
        ("IVR tickets without their call (duplicates)", ivr_orphans),
        ("registration keys acknowledged but not stored", len(missing_keys)),
        ("complaints acknowledged but missing", missing_complaints),
        ("complaints without their Idempotency-Key (duplicates)", complaint_orphans),
        ("transitions acknowledged but not in the timeline", missing_transitions),
        ("transitions recorded more than once (duplicates)", repeated_transitions),
    ]:
        if value:
            details.append(f"{name}: {value}")
    missing = (
        len(missing_calls)
        + missing_tickets
        + len(missing_keys)
        + missing_complaints
        + missing_transitions
    )
    return Findings(missing, ivr_orphans + complaint_orphans + repeated_transitions, details)


# --- one scenario ------------------------------------------------------------------------------


async def inject(scenario: str, pg: Postgres, service: Service, tally: Tally) -> None:
    tally.fault_at = time.monotonic()
    if scenario == "pg-restart":
        tally.down_at = tally.fault_at  # one command: its stop part takes effect at once
        await asyncio.to_thread(pg.restart_fast)
    elif scenario == "pg-crash":
        await asyncio.to_thread(pg.stop_immediate)
        tally.down_at = time.monotonic()
        await asyncio.sleep(2)  # an outage long enough for requests to meet it
        await asyncio.to_thread(pg.start)
    else:
        await asyncio.to_thread(service.kill)
        tally.down_at = time.monotonic()
        await asyncio.sleep(1)
        await asyncio.to_thread(service.start)


async def run_scenario(
    scenario: str, seconds: float, pg: Postgres, service: Service, credentials: dict[str, str]
) -> tuple[Tally, Findings]:
    tally = Tally()
    log_from = service.log_size()
    base = f"http://127.0.0.1:{service.port}"
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=IVR_CLIENTS + COMPLAINT_CLIENTS)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=10) as client:
        stamp = f"{scenario}-{int(time.time())}"
        clients: list[Awaitable[None]] = [
            ivr_client(client, tally, f"{stamp}-ivr{i}", deadline, credentials["api_key"])
            for i in range(IVR_CLIENTS)
        ]
        clients += [
            complaint_client(client, tally, f"{stamp}-c{i}", deadline, credentials["token"])
            for i in range(COMPLAINT_CLIENTS)
        ]
        load = asyncio.gather(*clients)
        await asyncio.sleep(seconds / 3)
        await inject(scenario, pg, service, tally)
        await asyncio.wait_for(load, timeout=seconds + 120)
    await asyncio.sleep(2)  # a sweep and a fold after the load, to see that they still work
    findings = await check(pg.dsn, tally)
    findings.errors_logged = service.errors_logged(log_from)
    return tally, findings


def credentials(base: str) -> dict[str, str]:
    admin_token = httpx.post(
        f"{base}/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD}
    ).json()["access_token"]
    admin = {"Authorization": f"Bearer {admin_token}"}
    branch = httpx.get(f"{base}/v1/branches", headers=admin).json()["items"][0]["id"]
    httpx.post(f"{base}/v1/users", headers=admin, json={
        "username": "faults.agent", "display_name": "Faults", "role": "agent",
        "branch_id": branch, "password": AGENT_PASSWORD,
    })  # fmt: skip
    token = httpx.post(
        f"{base}/v1/auth/token", data={"username": "faults.agent", "password": AGENT_PASSWORD}
    ).json()["access_token"]
    key = httpx.post(
        f"{base}/v1/api-keys", json={"name": "faults IVR", "role": "ivr"}, headers=admin
    ).json()["key"]
    return {"token": token, "api_key": key}


def report(scenario: str, tally: Tally, findings: Findings, service_start: float) -> dict[str, Any]:
    recovery = None
    if tally.fault_at is not None and tally.first_success_after is not None:
        recovery = round(tally.first_success_after - tally.fault_at, 2)
    return {
        "scenario": scenario,
        "requests": tally.requests,
        "acknowledged_writes": tally.acknowledged,
        "lost": findings.missing,
        "duplicates": findings.duplicates,
        "unexpected_responses": sum(tally.unexpected.values()),
        "unexpected_by_status": dict(tally.unexpected),
        "unexpected_samples": tally.samples,
        "503_with_retry_after": tally.unavailable,
        "transport_errors": tally.transport_errors,
        "recovery_seconds": recovery,
        "service_start_seconds": round(service_start, 2) if scenario == "kill-service" else None,
        "errors_logged": len(findings.errors_logged),
        "error_samples": findings.errors_logged[:3],
        "details": findings.details,
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20, help="load per scenario")
    parser.add_argument("--scenario", choices=[*SCENARIOS, "all"], default="all")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="contact-desk-faults-"))
    pg = Postgres(folder)
    service = Service(pg.embedded.url(), free_port(), args.workers, folder)
    results: list[dict[str, Any]] = []
    try:
        service.start()
        creds = credentials(f"http://127.0.0.1:{service.port}")
        for scenario in SCENARIOS if args.scenario == "all" else (args.scenario,):
            tally, findings = asyncio.run(run_scenario(scenario, args.seconds, pg, service, creds))
            results.append(report(scenario, tally, findings, service.last_start_seconds))
            print(json.dumps(results[-1], ensure_ascii=False), flush=True)
    finally:
        service.stop()
        pg.stop()
    print(f"\nlogs in {folder}")
    print("| scenario | requests | acknowledged writes | lost | duplicates | unexpected responses"
          " | errors logged | 503 + Retry-After | transport errors | recovery |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['scenario']} | {r['requests']} | {r['acknowledged_writes']} | {r['lost']}"
              f" | {r['duplicates']} | {r['unexpected_responses']} | {r['errors_logged']}"
              f" | {r['503_with_retry_after']} | {r['transport_errors']}"
              f" | {r['recovery_seconds']} s |")  # fmt: skip
    must_be_zero = ("lost", "duplicates", "unexpected_responses", "errors_logged")
    failed = [r for r in results if any(r[name] for name in must_be_zero)]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
