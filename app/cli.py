"""The ``contact-desk`` command: serve, migrate, worker, webhook-worker, reports-rebuild,
export-openapi, bench."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from pydantic import ValidationError

from app.core.config import Settings, get_settings

DEFAULT_OPENAPI_PATH = Path("openapi/openapi.json")
INVALID_SETTINGS = 2
STARTUP_FAILURE = 3  # as uvicorn exits when the application fails to start


def _ensure_database_url() -> object | None:
    """With no DATABASE_URL, start the embedded server here, so all workers share it."""
    settings = get_settings()
    if settings.database_url is not None:
        return None
    from app.db.embedded import start_embedded

    embedded = start_embedded(settings.embedded_pg_data)
    os.environ["DATABASE_URL"] = embedded.url()
    get_settings.cache_clear()
    print(f"Embedded PostgreSQL running, data in {embedded.data_dir}", flush=True)
    return embedded


class _StopRequested(Exception):
    pass


def _raise_stop(signum: int, frame: object) -> None:
    raise _StopRequested(signum)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = get_settings()
    embedded = _ensure_database_url()
    # Uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal to the handler
    # that was there before it. Ours turns it into an exception, so the ``finally`` below runs
    # and the embedded server is stopped cleanly instead of the process dying mid-way.
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    try:
        asyncio.run(_migrate())
        config = uvicorn.Config(
            "app.main:create_app",
            factory=True,
            host=args.host or settings.host,
            port=args.port or settings.port,
            workers=args.workers or settings.workers,
            proxy_headers=True,
            log_config=None,
        )
        if config.workers > 1:
            # Several workers take new connections in turn (app.api.accept), not by a race.
            from app.api.accept import run_workers

            run_workers(config)
        else:
            server = uvicorn.Server(config)
            server.run()
            if not server.started:
                return STARTUP_FAILURE
    except _StopRequested:
        pass
    finally:
        if embedded is not None:
            # A second Ctrl-C must not cut the database's own shutdown short.
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            embedded.stop()  # type: ignore[attr-defined]
    return 0


async def _migrate() -> None:
    from app.db import migrate
    from app.db.session import create_database

    settings = get_settings()
    assert settings.database_url is not None
    db = create_database(settings, settings.database_url)
    try:
        await migrate.upgrade(db.engine)
    finally:
        await db.dispose()


def cmd_migrate(_: argparse.Namespace) -> int:
    embedded = _ensure_database_url()
    try:
        asyncio.run(_migrate())
        print("Database migrated to head.")
    finally:
        if embedded is not None:
            embedded.stop()  # type: ignore[attr-defined]
    return 0


async def _sweep(*, once: bool) -> None:
    from app.clocks import sweeper
    from app.core.clock import utc_now
    from app.db.session import create_database
    from app.reports import summary

    settings = get_settings()
    assert settings.database_url is not None
    db = create_database(settings, settings.database_url)
    try:
        if once:
            batch = settings.sweep_batch_size
            result = await sweeper.sweep(db.session_factory, utc_now(), batch=batch)
            folded = await summary.fold_all(db.session_factory, batch=summary.FOLD_BATCH)
            print(
                f"Swept: {result.breached} breached, {result.warned} warned;"
                f" {folded} feed events folded into the reports."
            )
            return
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        interval = settings.sweep_interval_seconds or 30.0
        folding = settings.report_compact_interval_seconds or 15.0
        print(
            f"Sweeping clocks every {interval:g} s, folding reports every {folding:g} s;"
            " Ctrl-C stops.",
            flush=True,
        )
        await asyncio.gather(
            sweeper.run_periodically(
                db.session_factory, interval=interval, batch=settings.sweep_batch_size, stop=stop
            ),
            summary.run_periodically(db.session_factory, interval=folding, stop=stop),
        )
    finally:
        await db.dispose()


def cmd_worker(args: argparse.Namespace) -> int:
    """Run the clock sweeper and the report folding outside the API. Any number of copies may
    run: the database hands each breach, and each stretch of the feed, to exactly one of them."""
    embedded = _ensure_database_url()
    try:
        if get_settings().migrate_on_start:
            asyncio.run(_migrate())
        asyncio.run(_sweep(once=args.once))
    finally:
        if embedded is not None:
            embedded.stop()  # type: ignore[attr-defined]
    return 0


async def _deliver_webhooks(*, once: bool) -> None:
    from app.access.pii import FieldCipher
    from app.access.secrets import load_key_material
    from app.db.session import create_database
    from app.webhooks import worker

    settings = get_settings()
    assert settings.database_url is not None
    db = create_database(settings, settings.database_url)
    policy = worker.Policy.from_settings(settings)
    try:
        async with db.session_factory() as session:
            cipher = FieldCipher((await load_key_material(session, settings)).pii_keys)
        async with worker.http_client(policy) as client:
            if once:
                result = await worker.run_once(db.session_factory, client, cipher, policy)
                print(
                    f"Webhooks: {result.queued} queued, {result.sent} sent,"
                    f" {result.delivered} delivered."
                )
                return
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stop.set)
            print("Delivering webhooks; Ctrl-C stops.", flush=True)
            await worker.run_periodically(
                db.session_factory,
                client,
                cipher,
                policy,
                interval=settings.webhook_poll_interval_seconds,
                stop=stop,
            )
    finally:
        await db.dispose()


def cmd_webhook_worker(args: argparse.Namespace) -> int:
    """Deliver webhooks outside the API. Any number of copies may run: each delivery is
    claimed by one of them (FOR UPDATE SKIP LOCKED)."""
    embedded = _ensure_database_url()
    try:
        if get_settings().migrate_on_start:
            asyncio.run(_migrate())
        asyncio.run(_deliver_webhooks(once=args.once))
    finally:
        if embedded is not None:
            embedded.stop()  # type: ignore[attr-defined]
    return 0


async def _rebuild_reports() -> int:
    from app.db.session import create_database
    from app.reports import summary

    settings = get_settings()
    assert settings.database_url is not None
    db = create_database(settings, settings.database_url)
    try:
        async with db.session_factory() as session:
            folded = await summary.rebuild(session)
            await session.commit()
        return folded
    finally:
        await db.dispose()


def cmd_reports_rebuild(_: argparse.Namespace) -> int:
    """Rebuild the daily report summary from the whole change feed (e.g. after a new ticket
    source is registered). Reports stay exact while it runs, only slower."""
    embedded = _ensure_database_url()
    try:
        if get_settings().migrate_on_start:
            asyncio.run(_migrate())
        folded = asyncio.run(_rebuild_reports())
        print(f"Report summary rebuilt from {folded} feed events.")
    finally:
        if embedded is not None:
            embedded.stop()  # type: ignore[attr-defined]
    return 0


def openapi_document() -> str:
    from app.main import create_app

    app = create_app(run_lifespan=False)
    return json.dumps(app.openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def cmd_export_openapi(args: argparse.Namespace) -> int:
    target = Path(args.output)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(openapi_document(), encoding="utf-8")
    print(f"Wrote {target}")
    return 0


BENCH_RUNNER = Path(__file__).resolve().parents[1] / "bench" / "run_all.py"


def cmd_bench(args: argparse.Namespace) -> int:
    """Run ``bench/run_all.py``: the benchmarks live in the source checkout, not the package."""
    import subprocess

    if not BENCH_RUNNER.exists():
        print(
            f"contact-desk bench needs a source checkout: {BENCH_RUNNER} is missing "
            "(the benchmarks are not part of the installed package).",
            file=sys.stderr,
        )
        return 2
    forwarded = ["--quick"] if args.quick else []
    for name in args.only or []:
        forwarded += ["--only", name]
    if args.output:
        forwarded += ["--output", args.output]
    command = [sys.executable, str(BENCH_RUNNER), *forwarded]
    # The checkout's own script and this interpreter; arguments are passed as a list.
    done = subprocess.run(command, cwd=BENCH_RUNNER.parents[1], check=False)  # noqa: S603
    return done.returncode


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="contact-desk", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP API (uvicorn)")
    serve.add_argument("--host", help="bind address (default: CONTACT_DESK_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: CONTACT_DESK_PORT or 8000)")
    serve.add_argument("--workers", type=int, help="worker processes (default: 1)")
    serve.set_defaults(func=cmd_serve)

    migrate = commands.add_parser("migrate", help="apply database migrations up to head")
    migrate.set_defaults(func=cmd_migrate)

    worker = commands.add_parser(
        "worker", help="run the clock sweeper (breaches, warnings) and report folding in a loop"
    )
    worker.add_argument("--once", action="store_true", help="sweep once and exit")
    worker.set_defaults(func=cmd_worker)

    webhooks = commands.add_parser("webhook-worker", help="deliver webhooks in a loop")
    webhooks.add_argument("--once", action="store_true", help="one round, then exit")
    webhooks.set_defaults(func=cmd_webhook_worker)

    rebuild = commands.add_parser(
        "reports-rebuild", help="rebuild the report summary from the change feed"
    )
    rebuild.set_defaults(func=cmd_reports_rebuild)

    export = commands.add_parser("export-openapi", help="write the OpenAPI document")
    export.add_argument("--output", default=str(DEFAULT_OPENAPI_PATH))
    export.set_defaults(func=cmd_export_openapi)

    bench = commands.add_parser(
        "bench", help="run every benchmark and write bench/RESULTS.md (needs a source checkout)"
    )
    bench.add_argument("--quick", action="store_true", help="small sizes, a few seconds each")
    bench.add_argument("--only", action="append", help="run only this benchmark (repeatable)")
    bench.add_argument("--output", help="Markdown file to write (default: bench/RESULTS.md)")
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result: int = args.func(args)
    except ValidationError as exc:
        if exc.title != Settings.__name__:
            raise
        # An operator's mistake in the environment: say what is wrong, not a traceback.
        print("contact-desk: the settings are not valid:", file=sys.stderr)
        for error in exc.errors():
            setting = ".".join(str(part) for part in error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            print(f"  {setting}: {message}" if setting else f"  {message}", file=sys.stderr)
        return INVALID_SETTINGS
    return result


if __name__ == "__main__":
    sys.exit(main())
