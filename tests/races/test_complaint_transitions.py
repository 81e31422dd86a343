"""Two agents at once on one complaint: exactly one wins; retries of one transition with one
Idempotency-Key apply it once (real concurrent sessions)."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from app.org.models import Branch
from tests.complaints.helpers import SMS_SENT, act, register
from tests.conftest import add_actor


async def test_fifty_concurrent_accepts_have_one_winner(committed_db: FastAPI) -> None:
    agent = await add_actor(committed_db, committed_db.state.db.session_factory, role="agent")
    transport = ASGITransport(app=committed_db)
    async with AsyncClient(transport=transport, base_url="http://race") as client:
        created = await register(client, agent.headers, materials_complete=True)
        responses = await asyncio.gather(
            *(
                act(client, agent.headers, created, "accept", {"notice": SMS_SENT})
                for _ in range(50)
            )
        )
        statuses = sorted(r.status_code for r in responses)
        assert statuses.count(200) == 1, statuses
        assert set(statuses) <= {200, 409, 412}
        timeline = await client.get(
            f"/v1/complaints/{created.json()['id']}/timeline", headers=agent.headers
        )
        assert [e["action"] for e in timeline.json()["items"]] == ["register", "accept"]


async def test_concurrent_retries_of_one_transition_with_one_key_apply_it_once(
    committed_db: FastAPI,
) -> None:
    agent = await add_actor(committed_db, committed_db.state.db.session_factory, role="agent")
    transport = ASGITransport(app=committed_db)
    async with AsyncClient(transport=transport, base_url="http://race") as client:
        created = await register(client, agent.headers, materials_complete=True)
        headers = {**agent.headers, "Idempotency-Key": "accept-retry-0001"}
        responses = await asyncio.gather(
            *(act(client, headers, created, "accept", {"notice": SMS_SENT}) for _ in range(20))
        )
        assert {r.status_code for r in responses} == {200}, [r.text for r in responses]
        first = responses[0].json()
        assert all(r.json() == first for r in responses)  # every retry gets the first answer
        assert [r.headers.get("idempotent-replayed") for r in responses].count(None) == 1
        timeline = await client.get(
            f"/v1/complaints/{created.json()['id']}/timeline", headers=agent.headers
        )
        assert [e["action"] for e in timeline.json()["items"]] == ["register", "accept"]


async def test_two_agents_correcting_the_phones_at_once_leave_one_consistent_list(
    committed_db: FastAPI,
) -> None:
    factory = committed_db.state.db.session_factory
    first = await add_actor(committed_db, factory, role="agent")
    async with factory() as session:
        branch = await session.get_one(Branch, first.user.branch_id)
    second = await add_actor(committed_db, factory, role="agent", branch=branch)
    transport = ASGITransport(app=committed_db)
    async with AsyncClient(transport=transport, base_url="http://race") as client:
        created = await register(client, first.headers)
        corrections = [
            ("13912345678", first.headers),
            ("13787654321", second.headers),
        ]
        responses = await asyncio.gather(
            *(
                act(client, headers, created, "correct-details",
                    {"reason": "号码录错", "phones": [phone]})
                for phone, headers in corrections
            )
        )  # fmt: skip
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200, 412], [r.text for r in responses]
        winner = next(r for r in responses if r.status_code == 200).json()
        url = f"/v1/complaints/{created.json()['id']}"
        now = (await client.get(url, headers=first.headers)).json()
        assert now["complainant"]["phones"] == winner["complainant"]["phones"]
        assert len(now["complainant"]["phones"]) == 1
        timeline = await client.get(f"{url}/timeline", headers=first.headers)
        actions = [e["action"] for e in timeline.json()["items"]]
        assert actions == ["register", "correct-details"]
