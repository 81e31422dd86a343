"""What every benchmark shares: the machine, percentiles, peak memory of process trees, pgbench,
and the machine-readable result that ``bench/run_all.py`` collects (``--json PATH``).

A result is ``{"benchmark": name, "measures": [...], "memory": {...}, "notes": [...]}``; a
measure is a dict with ``name``, ``what``, and whichever of ``rate`` (operations per second),
``unit`` (what ``rate`` counts), ``p50_ms``, ``p95_ms``, ``p99_ms``, ``pgbench_tps``,
``pgbench_what``, ``ratio`` (``rate / pgbench_tps``), ``seconds`` and ``extra`` (free-form
figures) apply.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import threading
from pathlib import Path
from typing import Any


def machine_line() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return (
        f"nproc {os.cpu_count()}, {cpu}, {mem_kb / 1024**2:.1f} GiB RAM,"
        f" {platform.python_implementation()} {platform.python_version()}"
    )


def quantiles_ms(samples: list[float]) -> dict[str, float]:
    """p50, p95 and p99 of latencies in ms (empty when there are fewer than two)."""
    if len(samples) < 2:
        return {}
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {"p50_ms": cuts[49], "p95_ms": cuts[94], "p99_ms": cuts[98]}


def measure(name: str, what: str, **figures: Any) -> dict[str, Any]:
    """One row of a result; ``ratio`` is filled in when both rates are known."""
    row: dict[str, Any] = {"name": name, "what": what}
    row.update({key: value for key, value in figures.items() if value is not None})
    if row.get("rate") and row.get("pgbench_tps"):
        row["ratio"] = row["rate"] / row["pgbench_tps"]
    return row


def write_json(path: str | None, result: dict[str, Any]) -> None:
    if path:
        Path(path).write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")


# --- memory -------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        for task in tasks:
            found += [int(p) for p in (task / "children").read_text().split()]
    except OSError:
        pass
    return found


def process_tree(root: int) -> list[int]:
    pids, queue = [], [root]
    while queue:
        pid = queue.pop()
        pids.append(pid)
        queue += _children(pid)
    return pids


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return _status_kb(pid, "VmRSS")


def postmaster_pid(data_dir: Path) -> int | None:
    try:
        return int((data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


class MemorySampler:
    """Samples process trees (``{"service": pid, "postgres": pid, …}``) every ``interval`` s
    on a thread: the peak of the tree's summed PSS (shared pages counted once, so PostgreSQL's
    shared buffers are not counted per backend) and the largest single process's VmHWM.
    ``own`` names this process and its other children (wrk, pgbench): the load generator, or
    the whole benchmark when the service runs in process."""

    def __init__(
        self, roots: dict[str, int | None], interval: float = 0.5, own: str = "load generator"
    ) -> None:
        self.roots = {name: pid for name, pid in roots.items() if pid}
        self.own = own
        self.interval = interval
        self.peak_kb: dict[str, int] = {}
        self.largest_kb: dict[str, int] = {}
        self._hwm: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def add(self, name: str, pid: int | None) -> None:
        if pid:
            self.roots[name] = pid

    def stop(self) -> None:
        if not self._stop.is_set():
            self._stop.set()
            self._thread.join()
            self.sample()

    def sample(self) -> None:
        groups = {name: process_tree(pid) for name, pid in self.roots.items()}
        taken = {pid for pids in groups.values() for pid in pids}
        groups[self.own] = [
            pid for pid in process_tree(os.getpid()) if pid not in taken or pid == os.getpid()
        ]
        for name, pids in groups.items():
            total = 0
            for pid in pids:
                total += _pss_kb(pid)
                self._hwm[pid] = max(self._hwm.get(pid, 0), _status_kb(pid, "VmHWM"))
                self.largest_kb[name] = max(self.largest_kb.get(name, 0), self._hwm[pid])
            self.peak_kb[name] = max(self.peak_kb.get(name, 0), total)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def result(self) -> dict[str, dict[str, float]]:
        return {
            name: {
                "peak_mb": self.peak_kb[name] / 1024,
                "largest_process_mb": self.largest_kb.get(name, 0) / 1024,
            }
            for name in self.peak_kb
        }


# --- pgbench ------------------------------------------------------------------------------


def pgbench_binary() -> str:
    """pgbench on the PATH, else the one pgserver ships with its PostgreSQL."""
    found = shutil.which("pgbench")
    if found:
        return found
    import pgserver  # type: ignore[import-untyped]

    return str(Path(pgserver.__file__).parent / "pginstall" / "bin" / "pgbench")


def run_pgbench(
    socket_dir: str,
    database: str,
    scripts: list[tuple[Path, int]],
    *,
    clients: int,
    seconds: float | None = None,
    transactions: int | None = None,
) -> dict[str, Any]:
    """Run pgbench scripts (``-f path@weight``) against the embedded server; tx/s and mean
    latency. ``-n``: no vacuum of pgbench's own tables, which do not exist here."""
    command = [pgbench_binary(), "-h", socket_dir, "-U", "postgres", "-n", "-c", str(clients),
               "-j", str(min(clients, 2))]  # fmt: skip
    command += ["-T", str(max(1, round(seconds)))] if seconds else ["-t", str(transactions or 10)]
    for path, weight in scripts:
        command += ["-f", f"{path}@{weight}"]
    done = subprocess.run([*command, database], capture_output=True, text=True, check=False)
    tps = re.search(r"tps = ([\d.]+)", done.stdout)
    latency = re.search(r"latency average = ([\d.]+) ms", done.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    if done.returncode != 0 or tps is None:
        return {"error": (done.stderr or done.stdout).strip().splitlines()[-3:]}
    return {
        "tps": float(tps.group(1)),
        "latency_avg_ms": float(latency.group(1)) if latency else None,
        "failed": int(failed.group(1)) if failed else 0,
        "clients": clients,
    }


def sql_literal(value: Any) -> str:
    """A Python value as a PostgreSQL literal (for pgbench scripts rebuilt from bound
    statements; never for anything sent by the service)."""
    import datetime as dt
    import uuid
    from decimal import Decimal

    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, dt.timedelta):
        return f"'{value.total_seconds()} seconds'"
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return f"'{value.isoformat()}'"
    if isinstance(value, list | tuple):
        return f"ARRAY[{', '.join(sql_literal(v) for v in value)}]" if value else "'{}'"
    if isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False)
    if isinstance(value, uuid.UUID):
        value = str(value)
    return "'" + str(value).replace("'", "''") + "'"


def inline_parameters(statement: str, parameters: Any) -> str:
    """``$1 … $n`` of an asyncpg statement replaced by the literals of ``parameters``."""
    values = list(parameters or ())
    return re.sub(r"\$(\d+)", lambda m: sql_literal(values[int(m.group(1)) - 1]), statement)


def inline_binds(sql: str, params: dict[str, Any]) -> str:
    """``:name`` binds of a SQLAlchemy ``text()`` statement replaced by literals (names not in
    ``params`` — pgbench's own ``:variables`` — are left for pgbench)."""
    return re.sub(
        r"(?<![:\w]):(\w+)",
        lambda m: sql_literal(params[m.group(1)]) if m.group(1) in params else m.group(0),
        sql,
    )


def batch_sql(
    rows: list[tuple[str, dict[str, Any]]],
    *,
    updates: tuple[tuple[str, str, dict[str, Any]], ...] = (),
    guard: Any = None,
    claim: tuple[str, dict[str, Any], tuple[str, ...]] | None = None,
) -> str:
    """The one statement ``app.db.batch.WriteBatch`` sends for these rows, with literals: so a
    pgbench script sends exactly what the service sends (values aside)."""
    from app.db import registry  # noqa: F401 - every table on the metadata
    from app.db.base import Base
    from app.db.batch import WriteBatch

    batch = WriteBatch()
    if guard is not None:
        batch.require(guard)
    for table, row in rows:
        batch.insert(Base.metadata.tables[table], row)
    for table, key, row in updates:
        batch.update(Base.metadata.tables[table], key, row)
    if claim is not None:
        batch.claim(Base.metadata.tables[claim[0]], claim[1], claim[2])
    sql, args = batch.statement()
    return inline_positional(sql, args) + ";"


def inline_positional(sql: str, args: tuple[Any, ...]) -> str:
    """The driver's ``$n`` placeholders of a statement sent as written, replaced by literals."""
    # Last first, so that $1 does not eat the front of $10.
    for number in range(len(args), 0, -1):
        sql = sql.replace(f"${number}", sql_literal(args[number - 1]))
    return sql
