"""Throughput of due-date computations on the packaged CN calendar.

    python bench/bench_calendar_arithmetic.py [--calls N] [--json PATH]

Prints construction time (JSON parse and calendar build, separately) and due dates per second
for a mix of add_working_days / add_calendar_days over random starts 2004-2027 and amounts 1-60.
Target: >= 200,000 computations per second in one process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import time

from common import MemorySampler, measure, write_json

from app.calendar.arithmetic import WorkingCalendar
from app.calendar.official_data import load_official_cn


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20250930)
    parser.add_argument("--json", help="write the machine-readable result here")
    args = parser.parse_args()
    memory = MemorySampler({}, own="benchmark process").__enter__()

    t0 = time.perf_counter()
    data = load_official_cn()
    load_ms = (time.perf_counter() - t0) * 1e3
    builds = []
    for _ in range(20):
        t0 = time.perf_counter()
        calendar = WorkingCalendar(data.days, data.years)
        builds.append((time.perf_counter() - t0) * 1e3)
    print(
        f"load JSON: {load_ms:.1f} ms; build calendar: first {builds[0]:.1f} ms (includes the"
        f" one-time weekday table), then median {statistics.median(builds[1:]):.2f} ms"
        f" ({len(data.days)} exceptions, span 1990-2200)"
    )

    rng = random.Random(args.seed)
    first = dt.date(2004, 1, 1).toordinal()
    last = dt.date(2027, 12, 31).toordinal()
    starts = [dt.date.fromordinal(rng.randint(first, last)) for _ in range(args.calls)]
    amounts = [rng.randint(1, 60) for _ in range(args.calls)]
    kinds = [rng.random() < 0.5 for _ in range(args.calls)]
    wd, cd = calendar.add_working_days, calendar.add_calendar_days

    t0 = time.perf_counter()
    for start, amount, working in zip(starts, amounts, kinds, strict=True):
        if working:
            wd(start, amount)
        else:
            cd(start, amount)
    mixed = time.perf_counter() - t0

    t0 = time.perf_counter()
    for start, amount in zip(starts, amounts, strict=True):
        due = wd(start, amount)
        calendar.is_provisional(start + dt.timedelta(days=1), due)
    with_flag = time.perf_counter() - t0

    print(
        f"mixed add_working_days/add_calendar_days: {args.calls / mixed:,.0f} /s "
        f"({mixed / args.calls * 1e6:.2f} us per call, {args.calls:,} calls)"
    )
    print(f"add_working_days + is_provisional: {args.calls / with_flag:,.0f} /s")
    memory.stop()
    build = {"load_json_ms": load_ms, "first_build_ms": builds[0],
             "build_ms": statistics.median(builds[1:])}  # fmt: skip
    write_json(args.json, {
        "benchmark": "calendar",
        "title": "Calendar arithmetic (issue 4)",
        "measures": [
            measure("due_dates_mixed", f"mixed add_working_days / add_calendar_days,"
                    f" {args.calls:,} calls", rate=args.calls / mixed, unit="/s", extra=build),
            measure("due_dates_with_flag", "add_working_days + is_provisional",
                    rate=args.calls / with_flag, unit="/s"),
        ],
        "memory": memory.result(),
    })  # fmt: skip


if __name__ == "__main__":
    main()
