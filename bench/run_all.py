"""Run every benchmark in sequence and write the figures into bench/RESULTS.md.

    python bench/run_all.py [--quick] [--only NAME ...] [--output PATH]
    contact-desk bench [--quick] [--only NAME ...] [--output PATH]   # the same, from a checkout

Each benchmark runs as its own process (``bench/bench_*.py --json …``), so one that fails
leaves the others' figures. The generated part of the output file lies between the
``bench:begin`` / ``bench:end`` markers; the hand-written sections around it are kept.
``--quick`` runs small sizes (a few seconds each, to check that everything works) and writes
``bench/RESULTS.quick.md`` (git-ignored) unless ``--output`` says otherwise. The figures are
also kept as JSON beside it (``RESULTS.json``): ``--only`` reruns one benchmark and keeps the
others' last figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from common import machine_line  # noqa: E402
from results import render, splice  # noqa: E402

# name → (script, full-size arguments, quick arguments)
BENCHMARKS: dict[str, tuple[str, list[str], list[str]]] = {
    "calendar": ("bench_calendar_arithmetic.py", [], ["--calls", "50000"]),
    "clocks": ("bench_clocks.py", [], ["--clocks", "100000", "--overdue", "2000", "--calls",
                                       "20000", "--runs", "30"]),
    "complaints": ("bench_complaints.py", [], ["--seconds", "3", "--workers", "1"]),
    "intake": ("bench_intake.py", [], [
        "--seconds", "3", "--requests", "300", "--tickets", "20000", "--customers", "5000",
        "--lookup-rate", "50", "--lookup-seconds", "3", "--policies", "1000", "--workers", "1",
        "--intake-rate", "50", "--intake-seconds", "3"]),
    "callbacks": ("bench_callbacks.py", [], [
        "--seconds", "3", "--warmup", "1", "--callable", "3000", "--backlog", "2000",
        "--history", "2000", "--agents", "8", "--claim-runs", "20"]),
    "reports": ("bench_reports.py", [], ["--complaints", "20000", "--runs", "5", "--unfolded",
                                         "200", "--webhooks", "200"]),
}  # fmt: skip


def postgres_version() -> str:
    try:
        import pgserver  # type: ignore[import-untyped]

        binary = Path(pgserver.__file__).parent / "pginstall" / "bin" / "postgres"
        done = subprocess.run([str(binary), "--version"], capture_output=True, text=True)
        return done.stdout.strip() or "unknown"
    except (ImportError, OSError):
        return "unknown"


_LOOP = "x = 0\nfor i in range(3_000_000):\n    x += i * i % 7"


def cpu_check() -> dict[str, float]:
    """How fast this shared machine is right now: a fixed pure-Python loop, alone and on both
    CPUs at once (ms of CPU each). The host's load moves every figure of a run together."""
    command = [sys.executable, "-c", f"import time\nc = time.process_time()\n{_LOOP}\n"
               "print((time.process_time() - c) * 1000)"]  # fmt: skip
    alone = float(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
    pair = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    busy = max(float(p.communicate()[0]) for p in pair)
    return {"alone_ms": alone, "both_busy_ms": busy}


def run_one(name: str, quick: bool, folder: Path) -> dict[str, Any]:
    script, full, small = BENCHMARKS[name]
    target = folder / f"{name}.json"
    command = [sys.executable, str(BENCH / script), *(small if quick else full)]
    shown = "python bench/" + " ".join([script, *(small if quick else full)])
    print(f"\n=== {name}: {shown}", flush=True)
    # The checkout's ``app`` first, whatever the virtualenv has installed.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                                      os.environ.get("PYTHONPATH")]))}  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run([*command, "--json", str(target)], cwd=ROOT, env=env, check=False)
    took = time.perf_counter() - started
    if done.returncode == 0 and target.exists():
        result: dict[str, Any] = json.loads(target.read_text(encoding="utf-8"))
    else:
        result = {"benchmark": name, "measures": [], "error": f"exit status {done.returncode}"}
    result.update(command=shown, seconds_taken=took, date=f"{dt.datetime.now(dt.UTC):%Y-%m-%d}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to check it works")
    parser.add_argument("--only", action="append", choices=sorted(BENCHMARKS),
                        help="run only this benchmark (repeatable)")  # fmt: skip
    parser.add_argument("--output", help="default: bench/RESULTS.md (quick: RESULTS.quick.md)")
    args = parser.parse_args(argv)
    output = Path(args.output or BENCH / ("RESULTS.quick.md" if args.quick else "RESULTS.md"))
    names = args.only or list(BENCHMARKS)
    load_before = os.getloadavg()
    check_before = cpu_check()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="contact-desk-bench-") as folder:
        results = [run_one(name, args.quick, Path(folder)) for name in names]
    run = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "mode": "quick" if args.quick else "full",
        "command": "contact-desk bench" + (" --quick" if args.quick else "")
        + "".join(f" --only {n}" for n in args.only or []),
        "machine": machine_line(),
        "postgres": postgres_version(),
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "seconds": time.perf_counter() - started,
        "cpu_check": {"before": check_before, "after": cpu_check()},
    }  # fmt: skip
    # Figures of benchmarks not run this time (--only) come from the previous run's JSON.
    figures = output.with_suffix(".json")
    previous = json.loads(figures.read_text(encoding="utf-8")) if figures.exists() else []
    ran = {r["benchmark"] for r in results}
    order = {name: i for i, name in enumerate(BENCHMARKS)}
    merged = sorted([*(r for r in previous if r["benchmark"] not in ran), *results],
                    key=lambda r: order.get(r["benchmark"], len(order)))  # fmt: skip
    figures.write_text(json.dumps(merged, indent=1, ensure_ascii=False), encoding="utf-8")
    existing = output.read_text(encoding="utf-8") if output.exists() else ""
    output.write_text(splice(existing, render(run, merged)), encoding="utf-8")
    failed = [r["benchmark"] for r in results if r.get("error")]
    print(f"\nWrote {output}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
