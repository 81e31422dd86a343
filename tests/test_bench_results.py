"""bench/results.py: targets judged from the figures, the Markdown, and splicing it into
RESULTS.md without touching the hand-written sections. No benchmark runs here."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import results


def registration(**figures: Any) -> dict[str, Any]:
    row = {"name": "registration", "what": "registration", "rate": 700.0, "unit": "req/s",
           "p50_ms": 20.0, "p99_ms": 80.0, "pgbench_tps": 2_000.0, "ratio": 0.35}  # fmt: skip
    return {**row, **figures}


def test_a_registration_meeting_every_figure_is_met() -> None:
    target = results.target_for("complaints", "registration")
    assert results.verdict(registration(), target) == "**yes**"


@pytest.mark.parametrize(
    ("figures", "failed"),
    [({"rate": 599.0}, "rate"), ({"p99_ms": 101.0}, "p99_ms"), ({"ratio": 0.19}, "ratio")],
)
def test_each_missed_figure_is_named(figures: dict[str, float], failed: str) -> None:
    target = results.target_for("complaints", "registration")
    assert results.verdict(registration(**figures), target) == f"**no** ({failed})"


def test_a_missing_figure_is_not_a_pass() -> None:
    row = registration()
    del row["ratio"]
    target = results.target_for("complaints", "registration")
    assert results.verdict(row, target) == "n/a (no ratio)"


def test_a_run_below_the_target_size_does_not_claim_it() -> None:
    target = results.target_for("reports", "report:breaches, 7-day period")
    small = {"name": "report:x", "what": "x", "p95_ms": 10.0, "extra": {"complaints": 20_000}}
    full = {**small, "extra": {"complaints": 1_000_000}}
    assert results.verdict(small, target) == "n/a (run below the target's size)"
    assert results.verdict(full, target) == "**yes**"
    assert results.verdict({**full, "p95_ms": 500.0}, target) == "**no** (p95_ms)"


def test_duplicates_fail_the_intake_target() -> None:
    target = results.target_for("intake", "ivr_intake")
    row = {"name": "ivr_intake", "what": "x", "rate": 900.0, "p99_ms": 50.0,
           "extra": {"duplicates": 1}}  # fmt: skip
    assert results.verdict(row, target) == "**no** (extra.duplicates)"


RUN = {"date": "2026-11-22 09:00 UTC", "mode": "quick", "command": "contact-desk bench --quick",
       "machine": "nproc 2", "postgres": "postgres (PostgreSQL) 16.2", "seconds": 120.0,
       "load_before": (2.0, 2.5, 3.0), "load_after": (3.0, 2.5, 2.0)}  # fmt: skip
RESULT = {"benchmark": "complaints", "title": "Complaints (issue 5)", "command": "python bench/x",
          "seconds_taken": 30.0, "measures": [registration(rate=156.0)],
          "memory": {"service": {"peak_mb": 210.0, "largest_process_mb": 120.0}}}  # fmt: skip


def test_the_markdown_has_the_figures_and_the_computed_verdict() -> None:
    block = results.render(RUN, [RESULT])
    assert block.startswith(results.BEGIN)
    assert block.rstrip().endswith(results.END)
    row = next(line for line in block.splitlines() if line.startswith("| registration |"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[1] == "156 req/s"
    assert cells[4] == "80.0"  # p99
    assert cells[5] == "2,000"  # pgbench
    assert cells[6] == "35 %"
    assert cells[8] == "**no** (rate)"
    assert "service 210 MB" in block
    assert "before: 2.00, 2.50, 3.00" in block


def test_splice_replaces_only_the_generated_block() -> None:
    document = "# Benchmark results\n\nIntro.\n\n## Faults\n\nHand-written.\n"
    first = results.splice(document, results.render(RUN, [RESULT]))
    assert first.index("Intro.") < first.index(results.BEGIN) < first.index("## Faults")
    again = results.splice(first, results.render({**RUN, "date": "2027-01-01"}, [RESULT]))
    assert again.count(results.BEGIN) == 1
    assert "2027-01-01" in again
    assert "2026-11-22 09:00" not in again
    assert again.endswith("## Faults\n\nHand-written.\n")


def test_the_header_shows_the_cpu_check_when_the_run_has_one() -> None:
    assert "CPU check" not in results.render(RUN, [RESULT])
    check = {"before": {"alone_ms": 450.0, "both_busy_ms": 700.0},
             "after": {"alone_ms": 460.0, "both_busy_ms": 1200.0}}  # fmt: skip
    block = results.render({**RUN, "cpu_check": check}, [RESULT])
    assert "before 450 / 700, after 460 / 1,200" in block
