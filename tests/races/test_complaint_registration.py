"""Retries of one registration with one Idempotency-Key, sent at once through a really
committing app: one complaint, every answer the same, and a key reused for another body is
refused (the key's record is the registration statement's claim)."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text

from tests.complaints.helpers import complaint_payload
from tests.conftest import add_actor


async def test_concurrent_retries_with_one_key_register_one_complaint(
    committed_db: FastAPI,
) -> None:
    factory = committed_db.state.db.session_factory
    agent = await add_actor(committed_db, factory, role="agent")
    keyed = {**agent.headers, "Idempotency-Key": "register-race-0001"}
    transport = ASGITransport(app=committed_db)
    async with AsyncClient(transport=transport, base_url="http://race") as client:
        responses = await asyncio.gather(
            *(
                client.post("/v1/complaints", json=complaint_payload(), headers=keyed)
                for _ in range(12)
            )
        )
        assert [r.status_code for r in responses] == [201] * 12
        assert len({r.json()["id"] for r in responses}) == 1
        assert len({r.json()["number"] for r in responses}) == 1
        replayed = [r.headers.get("idempotent-replayed") for r in responses]
        assert replayed.count("true") == 11
        other = await client.post(
            "/v1/complaints", json=complaint_payload(description="另一件事"), headers=keyed
        )
        assert other.status_code == 422, other.text
        assert other.json()["code"] == "idempotency_key_reused"
    async with factory() as session:
        assert await session.scalar(text("SELECT count(*) FROM complaints")) == 1
        assert await session.scalar(text("SELECT count(*) FROM idempotency_keys")) == 1
