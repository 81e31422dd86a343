"""Administration of users and teams: create, list, get, change with If-Match, reset passwords."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.org.models import Branch
from tests.access.helpers import assert_problem, audit_events, sign_in
from tests.conftest import PASSWORD, Actor, add_actor, add_branch


@pytest.fixture
async def branch(session_factory: async_sessionmaker[AsyncSession]) -> Branch:
    return await add_branch(session_factory)


async def create_user(
    client: AsyncClient, admin: Actor, branch: Branch, username: str, **fields: Any
) -> Response:
    body = {
        "username": username,
        "display_name": "张三",
        "role": "agent",
        "branch_id": str(branch.id),
        **fields,
    }
    return await client.post("/v1/users", json=body, headers=admin.headers)


async def test_created_user_gets_a_generated_password_once(
    client: AsyncClient, admin: Actor, branch: Branch
) -> None:
    response = await create_user(client, admin, branch, "zhang.san")
    assert response.status_code == 201, response.text
    user = response.json()
    password = user["initial_password"]
    assert isinstance(password, str)
    assert len(password) >= 12
    assert "password_hash" not in user
    assert (user["role"], user["active"], user["version"]) == ("agent", True, 1)

    assert (await sign_in(client, "zhang.san", password)).status_code == 200
    fetched = await client.get(f"/v1/users/{user['id']}", headers=admin.headers)
    assert "initial_password" not in fetched.json()
    assert password not in fetched.text


async def test_a_given_password_is_not_echoed(
    client: AsyncClient, admin: Actor, branch: Branch
) -> None:
    chosen = "a chosen long password"
    response = await create_user(client, admin, branch, "li.si", password=chosen)
    assert response.status_code == 201
    assert response.json()["initial_password"] is None
    assert chosen not in response.text
    assert (await sign_in(client, "li.si", chosen)).status_code == 200


async def test_short_password_is_422(client: AsyncClient, admin: Actor, branch: Branch) -> None:
    response = await create_user(client, admin, branch, "wang.wu", password="short")
    assert_problem(response, 422, "validation_failed")


async def test_duplicate_username_is_409_whatever_its_case(
    client: AsyncClient, admin: Actor, branch: Branch
) -> None:
    assert (await create_user(client, admin, branch, "zhao.liu")).status_code == 201
    for name in ("zhao.liu", "Zhao.Liu"):
        again = await create_user(client, admin, branch, name)
        body = assert_problem(again, 409, "already_exists")
        assert body["field"] == "username"


async def test_unknown_branch_or_team_is_422(
    client: AsyncClient, admin: Actor, branch: Branch
) -> None:
    other = Branch(id=uuid.uuid4(), code="X", name="x")
    assert_problem(await create_user(client, admin, other, "qian.qi"), 422, "invalid_input")
    response = await create_user(client, admin, branch, "qian.ba", team_id=str(uuid.uuid4()))
    assert_problem(response, 422, "invalid_input")


async def test_team_of_another_branch_is_422(
    client: AsyncClient,
    admin: Actor,
    branch: Branch,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    elsewhere = await add_branch(session_factory)
    team = await client.post(
        "/v1/teams",
        json={"branch_id": str(elsewhere.id), "code": "T1", "name": "一组"},
        headers=admin.headers,
    )
    response = await create_user(client, admin, branch, "sun.jiu", team_id=team.json()["id"])
    assert_problem(response, 422, "invalid_input")


async def test_moving_a_user_keeps_team_and_branch_consistent(
    client: AsyncClient,
    admin: Actor,
    branch: Branch,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    team = await client.post(
        "/v1/teams",
        json={"branch_id": str(branch.id), "code": "T1", "name": "一组"},
        headers=admin.headers,
    )
    user = (await create_user(client, admin, branch, "move.me", team_id=team.json()["id"])).json()
    elsewhere = await add_branch(session_factory)
    url = f"/v1/users/{user['id']}"

    keeps_old_team = await client.patch(
        url, json={"branch_id": str(elsewhere.id)}, headers={**admin.headers, "If-Match": '"v1"'}
    )
    assert_problem(keeps_old_team, 422, "invalid_input")

    moved = await client.patch(
        url,
        json={"branch_id": str(elsewhere.id), "team_id": None},
        headers={**admin.headers, "If-Match": '"v1"'},
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["branch_id"], moved.json()["team_id"]) == (str(elsewhere.id), None)


async def test_list_filters_and_pages(
    client: AsyncClient,
    admin: Actor,
    branch: Branch,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    other = await add_branch(session_factory)
    mine = set()
    for n in range(5):
        role = "supervisor" if n % 2 else "agent"
        created = await create_user(client, admin, branch, f"page.user{n}", role=role)
        mine.add(created.json()["id"])
    await create_user(client, admin, other, "elsewhere.user")

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"branch_id": str(branch.id), "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/v1/users", params=params, headers=admin.headers)).json()
        assert len(page["items"]) <= 2
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(mine)

    supervisors = await client.get(
        "/v1/users",
        params={"branch_id": str(branch.id), "role": "supervisor"},
        headers=admin.headers,
    )
    assert {u["role"] for u in supervisors.json()["items"]} == {"supervisor"}
    assert len(supervisors.json()["items"]) == 2

    disabled_id = sorted(mine)[0]
    changed = await client.patch(
        f"/v1/users/{disabled_id}",
        json={"active": False},
        headers={**admin.headers, "If-Match": "*"},
    )
    assert changed.status_code == 200
    inactive = await client.get("/v1/users", params={"active": "false"}, headers=admin.headers)
    assert [u["id"] for u in inactive.json()["items"]] == [disabled_id]

    bad_role = await client.get("/v1/users", params={"role": "ivr"}, headers=admin.headers)
    assert_problem(bad_role, 422, "validation_failed")


async def test_get_has_an_etag_and_change_needs_if_match(
    client: AsyncClient, admin: Actor, branch: Branch
) -> None:
    user = (await create_user(client, admin, branch, "zhou.shi")).json()
    url = f"/v1/users/{user['id']}"
    fetched = await client.get(url, headers=admin.headers)
    assert fetched.status_code == 200
    assert fetched.headers["etag"] == '"v1"'

    missing = await client.patch(url, json={"role": "supervisor"}, headers=admin.headers)
    assert_problem(missing, 428, "if_match_required")

    changed = await client.patch(
        url, json={"role": "supervisor"}, headers={**admin.headers, "If-Match": '"v1"'}
    )
    assert changed.status_code == 200, changed.text
    assert changed.headers["etag"] == '"v2"'
    assert changed.json()["role"] == "supervisor"

    stale = await client.patch(
        url, json={"display_name": "周十"}, headers={**admin.headers, "If-Match": '"v1"'}
    )
    body = assert_problem(stale, 412, "stale_version")
    assert body["current_etag"] == '"v2"'
    assert (await client.get(url, headers=admin.headers)).json()["display_name"] == "张三"

    unknown = await client.patch(
        f"/v1/users/{uuid.uuid4()}",
        json={"role": "agent"},
        headers={**admin.headers, "If-Match": "*"},
    )
    assert_problem(unknown, 404, "not_found")


async def test_a_role_change_takes_effect_on_the_next_request(
    client: AsyncClient,
    app: FastAPI,
    session_factory: async_sessionmaker[AsyncSession],
    admin: Actor,
) -> None:
    agent = await add_actor(app, session_factory, role="agent")
    assert (await client.get("/v1/audit-events", headers=agent.headers)).status_code == 403
    promoted = await client.patch(
        f"/v1/users/{agent.id}",
        json={"role": "quality_inspector"},
        headers={**admin.headers, "If-Match": '"v1"'},
    )
    assert promoted.status_code == 200
    assert (await client.get("/v1/me", headers=agent.headers)).json()["role"] == (
        "quality_inspector"
    )
    assert (await client.get("/v1/audit-events", headers=agent.headers)).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"version": 5},
        {"password_hash": "x"},
        {"username": "renamed"},
        {"id": "00000000-0000-0000-0000-000000000000"},
        {"external_subject": "idp|someone"},
        {"role": "ivr"},
        {"role": None},
        {"display_name": None},
        {"active": None},
        {"branch_id": None},
    ],
)
async def test_unknown_read_only_or_null_fields_are_422(
    client: AsyncClient, admin: Actor, branch: Branch, body: dict[str, Any]
) -> None:
    user = (await create_user(client, admin, branch, "wu.shiyi")).json()
    url = f"/v1/users/{user['id']}"
    response = await client.patch(url, json=body, headers={**admin.headers, "If-Match": '"v1"'})
    assert_problem(response, 422)
    after = (await client.get(url, headers=admin.headers)).json()
    user.pop("initial_password")
    assert after == user  # nothing changed


async def test_reset_password_replaces_the_old_one(
    client: AsyncClient,
    app: FastAPI,
    session_factory: async_sessionmaker[AsyncSession],
    admin: Actor,
) -> None:
    agent = await add_actor(app, session_factory, username="reset.me")
    url = f"/v1/users/{agent.id}/reset-password"

    generated = await client.post(url, json={}, headers=admin.headers)
    assert generated.status_code == 200, generated.text
    new_password = generated.json()["new_password"]
    assert isinstance(new_password, str)
    assert_problem(await sign_in(client, "reset.me", PASSWORD), 401, "invalid_credentials")
    assert (await sign_in(client, "reset.me", new_password)).status_code == 200

    chosen = "another long chosen password"
    given = await client.post(url, json={"password": chosen}, headers=admin.headers)
    assert given.json()["new_password"] is None
    assert chosen not in given.text
    assert_problem(await sign_in(client, "reset.me", new_password), 401, "invalid_credentials")
    assert (await sign_in(client, "reset.me", chosen)).status_code == 200

    events = await audit_events(client, admin, target_id=str(agent.id))
    assert [e["action"] for e in events] == ["user.password_reset", "user.password_reset"]
    assert all(chosen not in str(e["details"]) for e in events)


async def test_teams_create_list_get_and_rename(
    client: AsyncClient,
    admin: Actor,
    branch: Branch,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    body = {"branch_id": str(branch.id), "code": "CALLBACK", "name": "回访组"}
    created = await client.post("/v1/teams", json=body, headers=admin.headers)
    assert created.status_code == 201, created.text
    team = created.json()
    assert (team["code"], team["name"], team["version"]) == ("CALLBACK", "回访组", 1)

    duplicate = await client.post("/v1/teams", json=body, headers=admin.headers)
    assert_problem(duplicate, 409, "already_exists")
    other = await add_branch(session_factory)
    same_code_elsewhere = await client.post(
        "/v1/teams", json={**body, "branch_id": str(other.id)}, headers=admin.headers
    )
    assert same_code_elsewhere.status_code == 201

    listed = await client.get(
        "/v1/teams", params={"branch_id": str(branch.id)}, headers=admin.headers
    )
    assert [t["id"] for t in listed.json()["items"]] == [team["id"]]

    url = f"/v1/teams/{team['id']}"
    fetched = await client.get(url, headers=admin.headers)
    assert fetched.headers["etag"] == '"v1"'
    assert_problem(await client.patch(url, json={"name": "x"}, headers=admin.headers), 428)
    renamed = await client.patch(
        url, json={"name": "回访一组"}, headers={**admin.headers, "If-Match": '"v1"'}
    )
    assert renamed.status_code == 200
    assert renamed.headers["etag"] == '"v2"'
    assert renamed.json()["name"] == "回访一组"
    stale = await client.patch(
        url, json={"name": "y"}, headers={**admin.headers, "If-Match": '"v1"'}
    )
    assert_problem(stale, 412, "stale_version")
    read_only = await client.patch(
        url, json={"code": "NEW"}, headers={**admin.headers, "If-Match": '"v2"'}
    )
    assert_problem(read_only, 422, "validation_failed")
    assert_problem(await client.get(f"/v1/teams/{uuid.uuid4()}", headers=admin.headers), 404)


async def test_the_last_active_admin_cannot_be_disabled_or_demoted(
    client: AsyncClient, admin: Actor, branch: Branch
) -> None:
    me = f"/v1/users/{admin.id}"
    any_version = {**admin.headers, "If-Match": "*"}
    for change in ({"active": False}, {"role": "supervisor"}):
        refused = await client.patch(me, json=change, headers=any_version)
        assert_problem(refused, 409, "last_admin")
    # With a second administrator, the first may step down.
    second = (await create_user(client, admin, branch, "wu.guanli")).json()
    promoted = await client.patch(
        f"/v1/users/{second['id']}", json={"role": "admin"}, headers=any_version
    )
    assert promoted.status_code == 200, promoted.text
    stepped_down = await client.patch(me, json={"role": "supervisor"}, headers=any_version)
    assert stepped_down.status_code == 200, stepped_down.text
