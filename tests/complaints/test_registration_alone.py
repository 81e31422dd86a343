"""A registration without Idempotency-Key goes as one statement without BEGIN/COMMIT: through a
really committing app, what it answered is what is stored — audit event included."""

from __future__ import annotations

import uuid

from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text

from tests.access.helpers import audit_events
from tests.complaints.helpers import register
from tests.conftest import add_actor


async def test_a_backdated_registration_sent_alone_is_stored_and_audited_once(
    committed_db: FastAPI,
) -> None:
    factory = committed_db.state.db.session_factory
    agent = await add_actor(committed_db, factory, role="agent")
    admin = await add_actor(committed_db, factory, role="admin")
    transport = ASGITransport(app=committed_db, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://testserver") as client:
        received = {
            "received_at": "2026-11-02T10:00:00+08:00",
            "received_at_reason": "letter postmarked earlier",
        }
        complaint = (await register(client, agent.headers, **received)).json()
        events = await audit_events(
            client, admin, action="complaint.backdated", target_id=complaint["id"]
        )
        again = await client.get(f"/v1/complaints/{complaint['id']}", headers=agent.headers)
    assert len(events) == 1
    assert again.status_code == 200
    assert again.json()["clocks"] == complaint["clocks"]
    async with factory() as session:
        stored = await session.scalar(
            text("SELECT count(*) FROM clocks WHERE subject_id = :id"),
            {"id": uuid.UUID(complaint["id"])},
        )
    assert stored == len(complaint["clocks"])
