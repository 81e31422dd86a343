"""The IVR retries while the caller waits: concurrent retries make one ticket (real commits,
each request on its own connection)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text

from app.core.clock import BUSINESS_TZ, utc_now
from tests.conftest import add_actor, add_branch
from tests.intake.helpers import api_key, call_payload

TABLE_OF = {
    "inquiry": "inquiries",
    "claim_report": "claim_reports",
    "complaint": "complaints",
    "callback_request": "callbacks",
}


@pytest.mark.parametrize("intent", list(TABLE_OF))
async def test_twenty_concurrent_posts_of_one_call_make_one_ticket(
    committed_db: FastAPI, intent: str
) -> None:
    factory = committed_db.state.db.session_factory
    admin = await add_actor(committed_db, factory, role="admin")
    branch = await add_branch(factory)
    transport = ASGITransport(app=committed_db)
    async with AsyncClient(transport=transport, base_url="http://race") as client:
        ivr = await api_key(client, admin.headers, branch_id=branch.id)
        started = (utc_now() - timedelta(minutes=3)).astimezone(BUSINESS_TZ)
        payload = call_payload(intent=intent, started_at=started.isoformat(), ended_at=None)
        responses = await asyncio.gather(
            *(client.post("/v1/ivr/calls", json=payload, headers=ivr) for _ in range(20))
        )
    assert [r.status_code for r in responses] == [201] * 20, [r.text for r in responses]
    bodies = [r.json() for r in responses]
    assert sorted(b["replayed"] for b in bodies) == [False] + [True] * 19
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 19
    answers = [{**b, "replayed": None} for b in bodies]
    assert all(a == answers[0] for a in answers)
    ticket = bodies[0]["ticket"]
    async with factory() as session:
        # The test's database starts empty: every row of the table is this call's.
        tickets = await session.scalar(
            text(f"SELECT count(*) FROM {TABLE_OF[intent]}")  # noqa: S608
        )
        calls = await session.scalar(
            text("SELECT count(*) FROM ivr_calls WHERE call_id = :c"), {"c": payload["call_id"]}
        )
        events = await session.scalar(
            text("SELECT count(*) FROM ticket_events WHERE ticket_id = :t"), {"t": ticket["id"]}
        )
    assert (tickets, calls, events) == (1, 1, 1)


async def test_first_calls_from_one_new_number_make_one_customer(committed_db: FastAPI) -> None:
    factory = committed_db.state.db.session_factory
    admin = await add_actor(committed_db, factory, role="admin")
    branch = await add_branch(factory)
    transport = ASGITransport(app=committed_db)
    async with AsyncClient(transport=transport, base_url="http://race") as client:
        ivr = await api_key(client, admin.headers, branch_id=branch.id)
        started = (utc_now() - timedelta(minutes=3)).astimezone(BUSINESS_TZ).isoformat()
        responses = await asyncio.gather(
            *(
                client.post(
                    "/v1/ivr/calls",
                    json=call_payload(
                        intent="claim_report",
                        caller_number="139 1111 2222",
                        started_at=started,
                        ended_at=None,
                    ),
                    headers=ivr,
                )
                for _ in range(10)
            )
        )
    assert [r.status_code for r in responses] == [201] * 10
    assert len({r.json()["customer_id"] for r in responses}) == 1
    assert len({r.json()["ticket"]["id"] for r in responses}) == 10
    async with factory() as session:
        assert await session.scalar(text("SELECT count(*) FROM customers")) == 1
