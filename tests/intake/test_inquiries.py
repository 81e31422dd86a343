"""Inquiries through the HTTP API: registration, first-contact resolution, the answer clock,
If-Match, the table, convert-to-complaint, timeline, filters and branch scoping."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import frozen_at
from app.org.models import Branch
from tests.conftest import Actor, add_actor, add_branch
from tests.intake.helpers import PHONE, act, clock

pytestmark = pytest.mark.usefixtures("client")

NOW = datetime(2026, 11, 20, 1, 5, tzinfo=UTC)  # Friday 09:05 in Beijing


@pytest.fixture
async def branch(session_factory: async_sessionmaker[AsyncSession]) -> Branch:
    return await add_branch(session_factory)


@pytest.fixture
async def agent(
    app: FastAPI, session_factory: async_sessionmaker[AsyncSession], branch: Branch
) -> Actor:
    return await add_actor(app, session_factory, role="agent", branch=branch)


async def _register(client: AsyncClient, agent: Actor, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": "hotline",
        "caller_phone": "138 0013 8000",
        "question": "犹豫期是多少天？",
        **overrides,
    }
    with frozen_at(NOW):
        response = await client.post("/v1/inquiries", json=body, headers=agent.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_answered_in_the_contact_is_a_first_contact_resolution(
    client: AsyncClient, agent: Actor
) -> None:
    created = await _register(client, agent, answer="15天。")
    assert created["status"] == "answered"
    assert created["first_contact_resolution"] is True
    assert created["clocks"] == []
    assert created["number"].startswith("IQ20261120")


async def test_open_then_answered_in_the_contact(client: AsyncClient, agent: Actor) -> None:
    created = await _register(client, agent)
    assert created["status"] == "open"
    assert clock(created, "inquiry_answer")["due_date"] == "2026-11-23"
    with frozen_at(NOW):
        answered = await act(
            client, agent.headers, "inquiries", created, "answer", {"answer": "15天"}
        )
    assert answered.status_code == 200, answered.text
    body = answered.json()
    assert body["first_contact_resolution"] is True
    assert clock(body, "inquiry_answer")["outcome"] == "met"
    assert answered.headers["ETag"] == '"v2"'


async def test_deferred_answered_late_and_closed(client: AsyncClient, agent: Actor) -> None:
    created = await _register(client, agent)
    with frozen_at(NOW):
        pending = await act(
            client, agent.headers, "inquiries", created, "defer", {"reason": "查询"}
        )
    assert pending.json()["status"] == "pending"
    with frozen_at(datetime(2026, 11, 24, 2, 0, tzinfo=UTC)):
        answered = await act(
            client, agent.headers, "inquiries", pending, "answer", {"answer": "已查询"}
        )
        closed = await act(client, agent.headers, "inquiries", answered, "close")
    assert answered.json()["first_contact_resolution"] is False
    assert clock(answered, "inquiry_answer")["outcome"] == "met_late"
    assert closed.json()["status"] == "closed"
    timeline = await client.get(f"/v1/inquiries/{created['id']}/timeline", headers=agent.headers)
    assert [e["action"] for e in timeline.json()["items"]] == [
        "register",
        "defer",
        "answer",
        "close",
    ]


async def test_stale_missing_and_illegal(client: AsyncClient, agent: Actor) -> None:
    created = await _register(client, agent)
    with frozen_at(NOW):
        await act(client, agent.headers, "inquiries", created, "defer")
        stale = await act(client, agent.headers, "inquiries", created, "answer", {"answer": "x"})
        missing = await client.post(
            f"/v1/inquiries/{created['id']}/close", json={}, headers=agent.headers
        )
        illegal = await act(client, agent.headers, "inquiries", created, "close", etag='"v2"')
    assert stale.status_code == 412
    assert missing.status_code == 428
    assert illegal.status_code == 409
    assert illegal.json()["code"] == "invalid_transition"


async def test_allowed_actions_follow_the_table(client: AsyncClient, agent: Actor) -> None:
    created = await _register(client, agent)
    actions = await client.get(f"/v1/inquiries/{created['id']}/actions", headers=agent.headers)
    assert {a["action"] for a in actions.json()} == {"answer", "defer", "convert-to-complaint"}


async def test_convert_to_complaint_links_both_ways(client: AsyncClient, agent: Actor) -> None:
    created = await _register(client, agent, policy_number="P-2026-000123")
    body = {
        "complainant": {"name": "张三丰", "phones": [PHONE], "relation": "policyholder"},
        "cause_code": "mis_selling",
    }
    with frozen_at(NOW):
        converted = await act(
            client, agent.headers, "inquiries", created, "convert-to-complaint", body
        )
    assert converted.status_code == 200, converted.text
    inquiry = converted.json()
    assert inquiry["status"] == "converted"
    assert clock(inquiry, "inquiry_answer")["outcome"] == "cancelled"
    complaint_id = inquiry["converted_complaint_id"]
    complaint = (await client.get(f"/v1/complaints/{complaint_id}", headers=agent.headers)).json()
    assert complaint["description"] == "犹豫期是多少天？"
    assert complaint["policy_number"] == "P-2026-000123"
    assert complaint["channel"] == "hotline"
    history = await client.get(f"/v1/complaints/{complaint_id}/timeline", headers=agent.headers)
    linked = [e for e in history.json()["items"] if e["action"] == "converted_from_inquiry"]
    assert linked[0]["data"] == {"inquiry_id": created["id"], "inquiry_number": created["number"]}
    own = await client.get(f"/v1/inquiries/{created['id']}/timeline", headers=agent.headers)
    assert own.json()["items"][-1]["data"]["complaint_id"] == complaint_id


async def test_list_filters(client: AsyncClient, agent: Actor) -> None:
    open_one = await _register(client, agent)
    answered = await _register(client, agent, answer="好的", caller_phone="13912345678")

    async def ids(**params: object) -> list[str]:
        response = await client.get("/v1/inquiries", params=params, headers=agent.headers)
        assert response.status_code == 200, response.text
        return [i["id"] for i in response.json()["items"]]

    assert await ids(status="open") == [open_one["id"]]
    assert await ids(first_contact_resolution=True) == [answered["id"]]
    assert await ids(phone="+86 139 1234 5678") == [answered["id"]]
    assert await ids(phone="00861380013 8000") == [open_one["id"]]
    assert len(await ids(limit=1)) == 1
    bad = await client.get("/v1/inquiries", params={"phone": "12"}, headers=agent.headers)
    assert bad.status_code == 422
    assert bad.json()["field"] == "phone"


async def test_idempotency_key_replays_creation(client: AsyncClient, agent: Actor) -> None:
    body = {"channel": "online", "question": "如何变更受益人？"}
    headers = {**agent.headers, "Idempotency-Key": "inq-key-0001"}
    with frozen_at(NOW):
        first = await client.post("/v1/inquiries", json=body, headers=headers)
        again = await client.post("/v1/inquiries", json=body, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]


async def test_another_branch_cannot_read_or_act(
    client: AsyncClient,
    app: FastAPI,
    agent: Actor,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    created = await _register(client, agent)
    stranger = await add_actor(app, session_factory, role="agent")
    url = f"/v1/inquiries/{created['id']}"
    for path in (url, f"{url}/timeline", f"{url}/actions"):
        response = await client.get(path, headers=stranger.headers)
        assert response.status_code == 404, path
    acted = await act(client, stranger.headers, "inquiries", created, "answer", {"answer": "x"})
    assert acted.status_code == 404
    listed = await client.get("/v1/inquiries", headers=stranger.headers)
    assert created["id"] not in [i["id"] for i in listed.json()["items"]]
    other_branch = await client.post(
        "/v1/inquiries",
        json={"channel": "online", "question": "?", "branch_id": str(agent.user.branch_id)},
        headers=stranger.headers,
    )
    assert other_branch.status_code == 422
    assert other_branch.json()["field"] == "branch_id"


async def test_an_inquiry_dated_before_any_rule_set_is_422(
    client: AsyncClient, agent: Actor
) -> None:
    """Its answer clock has no rules; this was 404, which POST /v1/inquiries does not declare."""
    body = {
        "channel": "hotline",
        "question": "犹豫期是多少天？",
        "received_at": "1999-01-04T09:00:00+08:00",
        "received_at_reason": "补录纸质来信",
    }
    response = await client.post("/v1/inquiries", json=body, headers=agent.headers)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "no_rule_set_in_force"
