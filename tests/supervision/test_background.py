"""The service delivers webhooks and folds the report summary in the background when told to;
the ``webhook-worker`` and ``reports-rebuild`` commands do the same work from outside."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.cli import main
from app.core.config import Environment, Settings, get_settings
from app.main import create_app, lifespan
from app.reports.models import SUMMARY_CURSOR, ReportCursor, SlaSummary, TicketMonth
from tests.complaints.helpers import SMS_SENT, act, register
from tests.conftest import add_actor
from tests.intake.helpers import act as intake_act
from tests.supervision.helpers import http
from tests.supervision.receiver import LoopbackReceiver, serving


async def _subscribe(app: FastAPI, headers: dict[str, str], url: str) -> dict[str, Any]:
    async with http(app) as client:
        response = await client.post(
            "/v1/webhooks",
            json={"name": "BI", "url": url, "event_types": ["complaint.*", "clock.stopped"]},
            headers=headers,
        )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _complaint_accepted(app: FastAPI, headers: dict[str, str]) -> None:
    async with http(app) as client:
        created = await register(client, headers, materials_complete=True)
        accepted = await act(client, headers, created, "accept", {"notice": SMS_SENT})
        assert accepted.status_code == 200


async def _inquiry_answered(app: FastAPI, headers: dict[str, str]) -> None:
    """An inquiry registered open and answered: its answer clock stops, met."""
    async with http(app) as client:
        body = {"channel": "hotline", "question": "犹豫期是多少天？"}
        created = await client.post("/v1/inquiries", json=body, headers=headers)
        assert created.status_code == 201, created.text
        answered = await intake_act(
            client, headers, "inquiries", created, "answer", {"answer": "15天"}
        )
        assert answered.status_code == 200, answered.text


async def test_the_service_delivers_and_folds_in_the_background(
    committed_db: FastAPI, database_url: str
) -> None:
    settings = Settings(
        environment=Environment.TEST,
        database_url=database_url,
        migrate_on_start=False,
        sweep_interval_seconds=0,
        report_compact_interval_seconds=0.05,
        webhook_worker_enabled=True,
        webhook_poll_interval_seconds=0.05,
    )
    service = create_app(settings)
    async with lifespan(service), serving(LoopbackReceiver()) as receiver:
        names = {task.get_name() for task in asyncio.all_tasks()}
        assert {"report-folding", "webhook-worker"} <= names
        assert "clock-sweeper" not in names
        admin = await add_actor(service, service.state.db.session_factory, role="admin")
        receiver.secret = (await _subscribe(service, admin.headers, receiver.url))["secret"]
        await _complaint_accepted(service, admin.headers)

        async def delivered(count: int) -> None:
            while len(receiver.bodies) < count:
                receiver.arrived.clear()
                await receiver.arrived.wait()

        # A guard against hanging if the task never runs, not a timing assertion.
        await asyncio.wait_for(delivered(3), timeout=120)  # register, stop of C3, accept

        async def folded() -> None:
            while True:
                async with service.state.db.session_factory() as session:
                    rows = (await session.scalars(select(SlaSummary.clock_name))).all()
                if rows:
                    return
                await asyncio.sleep(0.05)

        await asyncio.wait_for(folded(), timeout=120)
    assert receiver.rejected == 0
    assert not {"report-folding", "webhook-worker"} & {t.get_name() for t in asyncio.all_tasks()}


async def test_the_commands_deliver_and_rebuild(
    committed_db: FastAPI,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    admin = await add_actor(committed_db, committed_db.state.db.session_factory, role="admin")
    async with serving(LoopbackReceiver()) as receiver:
        receiver.secret = (await _subscribe(committed_db, admin.headers, receiver.url))["secret"]
        await _complaint_accepted(committed_db, admin.headers)
        monkeypatch.setenv("DATABASE_URL", database_url)
        get_settings.cache_clear()
        try:
            # Each command runs its own event loop, so it gets a thread of its own.
            assert await asyncio.to_thread(main, ["webhook-worker", "--once"]) == 0
            await _inquiry_answered(committed_db, admin.headers)
            assert await asyncio.to_thread(main, ["reports-rebuild"]) == 0
        finally:
            monkeypatch.delenv("DATABASE_URL")
            get_settings.cache_clear()
    output = capsys.readouterr().out
    assert "3 queued, 3 sent, 3 delivered" in output
    assert "Report summary rebuilt from" in output
    assert len(receiver.bodies) == 3
    async with committed_db.state.db.session_factory() as session:
        cursor = await session.get_one(ReportCursor, SUMMARY_CURSOR)
        names = set((await session.scalars(select(SlaSummary.clock_name))).all())
        received = set((await session.scalars(select(TicketMonth.subject_kind))).all())
    assert cursor.after_xact > 0
    # The inquiry's answer clock, and the inquiry as a first-contact-resolution case.
    assert names == {"C3_acceptance_notice", "inquiry_answer", "first_contact_resolution_rate"}
    assert received == {"complaint", "inquiry"}
