"""Deep schema fuzzing: the ``schemathesis`` CLI against a real service, several seeds.

    .venv/bin/python scripts/fuzz_deep.py [--seeds 1,2,3] [--max-examples 20] [--max-time 75]

For each seed: a fresh database on an embedded PostgreSQL (in a temporary folder), ``python -m
app.cli serve`` against it, an admin and two agents of two different branches, then two runs of

    st run openapi/openapi.json --phases examples,coverage,fuzzing,stateful  (every check)

with every request signed in (Web Fuzzing Commons auth file: each identity signs in at
``/v1/auth/token``). The first run is agent A's, with agents A and B as ``peers`` for
``object_level_authorization``: each GET of one of A's objects is replayed as B, who must not
get it. The second is the admin's, who may call every operation. Settings and their reasons are in
``schemathesis.toml``; ``tests/fuzz/checks.py`` adds a check of our own. Prints operations,
test cases and failures per check; exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.db.embedded import start_embedded  # noqa: E402

ADMIN_PASSWORD = "fuzz-admin-password-123"  # noqa: S105 - of a throwaway database
AGENT_PASSWORD = "fuzz-agent-password-123"  # noqa: S105
PHASES = "examples,coverage,fuzzing,stateful"
# Whose run, in this order: agent A's (peers A and B) first, because the admin's reaches every
# operation, user administration included, and may reset the agents' passwords.
PASSES = ("agent-a", "admin")
PEERS = ("agent-a", "agent-b")  # agents of two branches, who must not see each other's objects


@dataclass
class SeedResult:
    seed: int
    identity: str
    exit_code: int
    operations: set[str] = field(default_factory=set)
    cases: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    # Errors of schemathesis itself (not findings about the service), e.g. a crash generating.
    errors: list[str] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def http(
    method: str,
    url: str,
    *,
    token: str | None = None,
    json_body: object = None,
    form: dict[str, str] | None = None,
) -> Any:
    headers = {"Accept": "application/json"}
    data = None
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if json_body is not None:
        data = json.dumps(json_body).encode()
        headers["Content-Type"] = "application/json"
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our own service
        return json.loads(response.read() or b"null")


def start_service(url: str, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CONTACT_DESK_ADMIN_PASSWORD": ADMIN_PASSWORD,
        # The fuzzer is one principal sending thousands of requests, and it tries sign-ins with
        # wrong passwords: neither limit is under test here.
        "CONTACT_DESK_RATE_LIMIT_PER_MINUTE": "100000000",
        "CONTACT_DESK_LOGIN_LOCKOUT_AFTER": "1000000",
        "CONTACT_DESK_LOG_LEVEL": "WARNING",
    }
    log = log_path.open("wb")
    process = subprocess.Popen(  # noqa: S603 - this interpreter running this project's CLI
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", "1"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    for _ in range(300):
        if process.poll() is not None:
            break
        try:
            http("GET", f"http://127.0.0.1:{port}/readyz")
            return process
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"service did not start; see {log_path}")


def create_principals(base: str) -> None:
    """Agent A in HQ, agent B in a second branch (the peers); the admin exists from start-up."""
    admin = http(
        "POST", f"{base}/v1/auth/token", form={"username": "admin", "password": ADMIN_PASSWORD}
    )["access_token"]
    hq = http("GET", f"{base}/v1/branches", token=admin)["items"][0]["id"]
    other = http(
        "POST", f"{base}/v1/branches", token=admin, json_body={"code": "FZB", "name": "第二分公司"}
    )["id"]
    for username, branch in (("agent-a", hq), ("agent-b", other)):
        user = {
            "username": username,
            "display_name": username,
            "role": "agent",
            "branch_id": branch,
            "password": AGENT_PASSWORD,
        }
        http("POST", f"{base}/v1/users", token=admin, json_body=user)


def write_config(folder: Path, identity: str) -> Path:
    """The shared schemathesis.toml plus this run's sign-ins (a Web Fuzzing Commons file)."""

    def login(username: str, password: str) -> dict[str, object]:
        return {
            "name": username,
            "loginEndpointAuth": {
                "endpoint": "/v1/auth/token",
                "verb": "POST",
                "contentType": "application/x-www-form-urlencoded",
                "payloadUserPwd": {
                    "username": username,
                    "password": password,
                    "usernameField": "username",
                    "passwordField": "password",
                },
                "token": {
                    "extractFrom": "body",
                    "extractSelector": "/access_token",
                    "sendIn": "header",
                    "sendName": "Authorization",
                    "sendTemplate": "Bearer {token}",
                },
            },
        }

    identities = [
        login("admin", ADMIN_PASSWORD),
        login("agent-a", AGENT_PASSWORD),
        login("agent-b", AGENT_PASSWORD),
    ]
    auth = folder / "auth.json"
    auth.write_text(json.dumps({"auth": identities}, indent=2), encoding="utf-8")
    shared = (ROOT / "schemathesis.toml").read_text(encoding="utf-8")
    config = folder / f"schemathesis-{identity}.toml"
    config.write_text(
        # Each run starts from nothing it learned before, so a seed reproduces.
        f"{shared}\n[cache]\nenabled = false\n\n"
        f'[auth.wfc]\npath = "{auth}"\nuser = "{identity}"\n'
        f"peers = {json.dumps(list(PEERS))}\n"
        # Tokens live 15 minutes; sign in again well before that.
        "refresh_interval = 300\n",
        encoding="utf-8",
    )
    return config


def run_schemathesis(
    base: str, identity: str, seed: int, args: argparse.Namespace, folder: Path
) -> SeedResult:
    st = Path(sys.executable).with_name("st")
    config = write_config(folder, identity)
    report = folder / f"events-{seed}-{identity}.ndjson"
    command = [
        str(st) if st.exists() else "st",
        "--config-file",
        str(config),
        "run",
        str(ROOT / "openapi" / "openapi.json"),
        "--url",
        base,
        "--phases",
        PHASES,
        "--seed",
        str(seed),
        "--max-examples",
        str(args.max_examples),
        "--max-time",
        str(args.max_time),
        "--workers",
        str(args.workers),
        "--request-timeout",
        "30",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
        "--no-color",
    ]
    log = folder / f"schemathesis-{seed}-{identity}.log"
    # Our own check (tests/fuzz/checks.py), importable from the project root.
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz.checks", "PYTHONPATH": str(ROOT)}
    with log.open("wb") as out:
        code = subprocess.run(  # noqa: S603 - the schemathesis CLI of this interpreter
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        ).returncode
    result = SeedResult(seed=seed, identity=identity, exit_code=code)
    parse_events(report, result)
    if code != 0 or result.failures:
        sys.stdout.write(failure_section(log.read_text(encoding="utf-8", errors="replace")))
    return result


def failure_section(output: str) -> str:
    """The CLI's own account of each failure and error, with a curl line to reproduce it."""
    start = min(
        (i for i in (output.find("= FAILURES ="), output.find("= ERRORS =")) if i >= 0), default=-1
    )
    if start < 0:
        return output[-4000:]
    end = output.find("= WARNINGS =", start)
    return output[start : end if end > 0 else None] + "\n"


def parse_events(report: Path, result: SeedResult) -> None:
    """Operations, test cases and failures per check from schemathesis's NDJSON event stream."""
    if not report.exists():
        return
    seen: set[tuple[str, str, str]] = set()
    for line in report.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        error = event.get("NonFatalError")
        if isinstance(error, dict):
            value = error.get("value") or {}
            result.errors.append(
                f"{error.get('label')}: {value.get('type')}: {value.get('message')}"
            )
        scenario = event.get("ScenarioFinished")
        if not isinstance(scenario, dict):
            continue
        recorder = scenario.get("recorder") or {}
        label = recorder.get("label") or "?"
        if label != "Stateful tests":
            result.operations.add(label)
        result.cases += len(recorder.get("cases") or {})
        for checks in (recorder.get("checks") or {}).values():
            for check in checks:
                if check.get("status") != "failure":
                    continue
                failure = (check.get("failure_info") or {}).get("failure") or {}
                operation = failure.get("operation") or label
                key = (check.get("name", "?"), operation, failure.get("title", ""))
                if key in seen:
                    continue
                seen.add(key)
                result.failures[key[0]] += 1
                result.examples.append(f"{key[0]}: {operation}: {key[2]}")


def fresh_database(pg: Any, seed: int) -> str:
    name = f"fuzz_seed_{seed}"
    pg._server.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE);')
    pg._server.psql(f'CREATE DATABASE "{name}";')
    return str(pg.url(name))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated seeds, one run each")
    parser.add_argument("--max-examples", type=int, default=20, help="per operation and phase")
    parser.add_argument("--max-time", type=int, default=75, help="seconds per run (2 per seed)")
    # One worker: a seed then replays the same requests, and CPython 3.11's ast module is not
    # thread-safe (schemathesis compiled patterns in two threads: "AST constructor recursion
    # depth mismatch").
    parser.add_argument("--workers", type=int, default=1, help="schemathesis workers")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    seeds = [int(seed) for seed in args.seeds.split(",") if seed.strip()]
    folder = Path(tempfile.mkdtemp(prefix="fuzz-deep-"))
    pg = start_embedded(folder / "pg")
    results: list[SeedResult] = []
    started = time.monotonic()
    try:
        for seed in seeds:
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            service = start_service(fresh_database(pg, seed), port, folder / f"service-{seed}.log")
            try:
                create_principals(base)
                for identity in PASSES:
                    results.append(run_schemathesis(base, identity, seed, args, folder))
            finally:
                service.send_signal(signal.SIGTERM)
                try:
                    service.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    service.kill()
    finally:
        pg.stop()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    return report(results, time.monotonic() - started, folder if args.keep else None)


def report(results: list[SeedResult], seconds: float, kept: Path | None) -> int:
    """Print the figures; 1 if anything failed, 2 if only schemathesis itself had errors."""
    print(f"\n== schemathesis deep run: {len(results)} runs in {seconds:.0f} s ==")
    failures = errors = 0
    for result in results:
        total = sum(result.failures.values())
        failures += total
        errors += len(result.errors)
        per_check = ", ".join(f"{name} {count}" for name, count in sorted(result.failures.items()))
        print(
            f"seed {result.seed} as {result.identity}: {len(result.operations)} operations, "
            f"{result.cases} test cases, {total} failures"
            f"{f' ({per_check})' if per_check else ''}, {len(result.errors)} tool errors, "
            f"st exit {result.exit_code}"
        )
        for line in [*result.examples, *(f"tool error: {e}" for e in result.errors)]:
            print(f"   - {line}")
    if kept is not None:
        print(f"logs and reports kept in {kept}")
    # A run that stopped short (configuration, sign-in) shows neither; it fails too.
    unexplained = any(r.exit_code != 0 and not r.failures and not r.errors for r in results)
    if failures or unexplained:
        return 1
    return 2 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
