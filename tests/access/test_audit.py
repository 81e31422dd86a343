"""Every administrative change is in the audit log, and the log cannot be rewritten."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.access.helpers import audit_events, create_api_key
from tests.conftest import Actor, add_branch


async def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code in {200, 201}, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_each_change_is_audited_with_actor_and_target(
    client: AsyncClient, admin: Actor, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    branch = await add_branch(session_factory)
    headers = admin.headers
    if_match = {**headers, "If-Match": '"v1"'}
    user = await _ok(
        await client.post(
            "/v1/users",
            json={"username": "audited", "display_name": "甲", "role": "agent",
                  "branch_id": str(branch.id)},
            headers=headers,
        )
    )  # fmt: skip
    await _ok(await client.patch(f"/v1/users/{user['id']}", json={"role": "supervisor"},
                                 headers=if_match))  # fmt: skip
    await _ok(await client.post(f"/v1/users/{user['id']}/reset-password", json={},
                                headers=headers))  # fmt: skip
    team = await _ok(
        await client.post(
            "/v1/teams", json={"branch_id": str(branch.id), "code": "AUD", "name": "乙"},
            headers=headers,
        )
    )  # fmt: skip
    await _ok(await client.patch(f"/v1/teams/{team['id']}", json={"name": "丙"}, headers=if_match))
    key = await create_api_key(client, admin)
    await _ok(await client.post(f"/v1/api-keys/{key['id']}/revoke", headers=headers))

    expected = [
        ("api_key.revoked", "api_key", key["id"]),
        ("api_key.created", "api_key", key["id"]),
        ("team.updated", "team", team["id"]),
        ("team.created", "team", team["id"]),
        ("user.password_reset", "user", user["id"]),
        ("user.updated", "user", user["id"]),
        ("user.created", "user", user["id"]),
    ]
    events = await audit_events(client, admin, actor=f"user:{admin.id}")
    assert [(e["action"], e["target_kind"], e["target_id"]) for e in events] == expected
    assert all(e["actor"] == f"user:{admin.id}" for e in events)
    assert all(e["request_id"] for e in events)
    updated = next(e for e in events if e["action"] == "user.updated")
    assert updated["details"]["changes"] == {"role": "supervisor"}


async def test_revoking_twice_is_audited_once(client: AsyncClient, admin: Actor) -> None:
    key = await create_api_key(client, admin)
    for _ in range(2):
        await _ok(await client.post(f"/v1/api-keys/{key['id']}/revoke", headers=admin.headers))
    events = await audit_events(client, admin, action="api_key.revoked", target_id=key["id"])
    assert len(events) == 1


async def test_audit_log_pages_newest_first(
    client: AsyncClient, admin: Actor, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    created = [(await create_api_key(client, admin, name=f"key {n}"))["id"] for n in range(5)]
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"action": "api_key.created", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/v1/audit-events", params=params, headers=admin.headers)).json()
        seen.extend(e["target_id"] for e in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(created))


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET action = 'forged' WHERE id = :id",
        "DELETE FROM audit_events WHERE id = :id",
        "TRUNCATE audit_events",
    ],
)
async def test_audit_log_is_append_only_in_the_database(
    client: AsyncClient, admin: Actor, session: AsyncSession, statement: str
) -> None:
    await create_api_key(client, admin)
    (event,) = await audit_events(client, admin, action="api_key.created")
    with pytest.raises(DBAPIError, match="append-only"):
        async with session.begin_nested():
            await session.execute(text(statement), {"id": event["id"]})
    (after,) = await audit_events(client, admin, action="api_key.created")
    assert after == event
