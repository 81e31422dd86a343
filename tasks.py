#!/usr/bin/env python3
"""The two commands of the README, using nothing but Python 3.11+.

    python3 tasks.py run    # start the service on the embedded PostgreSQL (http://127.0.0.1:8000)
    python3 tasks.py test   # lint, format check, type check and the whole test suite

Each creates ``.venv`` on first use and reinstalls only when ``pyproject.toml`` changes.
Extra arguments after ``run`` go to ``contact-desk serve``; after ``test``, to pytest.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".install-stamp"


def _say(message: str) -> None:
    print(f"[tasks] {message}", flush=True)


def ensure_environment() -> None:
    if sys.version_info < (3, 11):
        sys.exit("Contact Desk needs Python 3.11 or newer.")
    if not PYTHON.exists():
        _say("creating .venv")
        try:
            venv.create(VENV, with_pip=True)
        except Exception as exc:  # Debian's python3 without python3-venv, for example
            sys.exit(f"Could not create a virtual environment ({exc}). Install python3-venv.")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    _say("installing Contact Desk and its development tools into .venv (first run only)")
    subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run(
        [str(PYTHON), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[dev]"], check=True
    )
    STAMP.write_text(wanted)


def run(args: list[str]) -> int:
    ensure_environment()
    _say("starting the service; the API docs are at http://127.0.0.1:8000/docs")
    command = [str(BIN / "contact-desk"), "serve", *args]
    service = subprocess.Popen(command, cwd=ROOT)
    try:
        return service.wait()
    except KeyboardInterrupt:
        # Ctrl-C in a terminal reaches the service too, and it shuts down by itself, stopping
        # the embedded PostgreSQL last. Killing it here (as subprocess.call does) cut that
        # short and left the database running. Wait for it; pass the signal on only if it is
        # still serving, i.e. when the signal was sent to this process alone.
        try:
            service.wait(timeout=5)
        except subprocess.TimeoutExpired:
            service.send_signal(signal.SIGINT)
        try:
            service.wait(timeout=60)
        except subprocess.TimeoutExpired:
            service.terminate()
            service.wait()
        return 0


def test(args: list[str]) -> int:
    ensure_environment()
    gates = [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["mypy", "app"],
        ["pytest", *args],
    ]
    for gate in gates:
        _say("$ " + " ".join(gate))
        code = subprocess.call([str(PYTHON), "-m", *gate], cwd=ROOT)
        if code != 0:
            _say(f"failed: {' '.join(gate)} (exit {code})")
            return code
    _say("all checks passed")
    return 0


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in {"run", "test"}:
        print(__doc__)
        return 2
    task, rest = sys.argv[1], sys.argv[2:]
    return run(rest) if task == "run" else test(rest)


if __name__ == "__main__":
    sys.exit(main())
