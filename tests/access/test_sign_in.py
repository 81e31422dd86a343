"""POST /v1/auth/token: passwords, one answer for every wrong guess, and progressive lockout."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.access.models import LoginThrottle
from app.core.clock import utc_now
from app.core.config import Settings
from tests.access.helpers import assert_problem, sign_in
from tests.conftest import PASSWORD, Actor, add_actor, build_app

WRONG = "not the password at all"


async def test_right_password_gives_a_token_that_works(
    client: AsyncClient, app: FastAPI, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    agent = await add_actor(app, session_factory, role="agent", username="li.lei")
    response = await sign_in(client, "li.lei", PASSWORD)
    assert response.status_code == 200, response.text
    token = response.json()
    assert token["token_type"] == "bearer"
    assert token["expires_in"] == app.state.settings.access_token_minutes * 60
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert me.status_code == 200
    assert me.json()["id"] == str(agent.id)


async def test_user_name_is_case_insensitive(
    client: AsyncClient, app: FastAPI, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await add_actor(app, session_factory, username="han.meimei")
    assert (await sign_in(client, "Han.MeiMei", PASSWORD)).status_code == 200


async def test_wrong_password_and_unknown_user_get_the_same_401(
    client: AsyncClient, app: FastAPI, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await add_actor(app, session_factory, username="wang.fang")
    wrong = await sign_in(client, "wang.fang", WRONG)
    unknown = await sign_in(client, "nobody.here", PASSWORD)
    first = assert_problem(wrong, 401, "invalid_credentials")
    second = assert_problem(unknown, 401, "invalid_credentials")
    for field in ("type", "title", "detail", "status", "code"):
        assert first[field] == second[field]
    assert wrong.headers["www-authenticate"] == unknown.headers["www-authenticate"]
    assert wrong.headers["www-authenticate"].startswith("Bearer ")


async def test_disabled_user_cannot_sign_in(
    client: AsyncClient,
    app: FastAPI,
    session_factory: async_sessionmaker[AsyncSession],
    admin: Actor,
) -> None:
    agent = await add_actor(app, session_factory, username="zhao.lei")
    disabled = await client.patch(
        f"/v1/users/{agent.id}", json={"active": False}, headers={**admin.headers, "If-Match": "*"}
    )
    assert disabled.status_code == 200
    assert_problem(await sign_in(client, "zhao.lei", PASSWORD), 401, "invalid_credentials")


async def test_lockout_after_failures_refuses_even_the_right_password(
    client: AsyncClient, app: FastAPI, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await add_actor(app, session_factory, username="sun.li")
    await add_actor(app, session_factory, username="zhou.jie")
    limit = app.state.settings.login_lockout_after
    assert limit == 5  # the documented default
    for _ in range(limit):
        assert_problem(await sign_in(client, "sun.li", WRONG), 401, "invalid_credentials")

    locked = await sign_in(client, "sun.li", PASSWORD)
    assert_problem(locked, 429, "rate_limited")
    assert 1 <= int(locked.headers["retry-after"]) <= 31

    # Another user name keeps its own count.
    assert (await sign_in(client, "zhou.jie", PASSWORD)).status_code == 200


async def test_failures_below_the_limit_do_not_lock_and_success_resets(
    client: AsyncClient, app: FastAPI, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await add_actor(app, session_factory, username="qian.hao")
    limit = app.state.settings.login_lockout_after
    for _ in range(limit - 1):
        await sign_in(client, "qian.hao", WRONG)
    assert (await sign_in(client, "qian.hao", PASSWORD)).status_code == 200
    for _ in range(limit - 1):
        await sign_in(client, "qian.hao", WRONG)
    assert (await sign_in(client, "qian.hao", PASSWORD)).status_code == 200


async def test_lockout_is_kept_in_postgres_and_expires(
    client: AsyncClient,
    app: FastAPI,
    settings: Settings,
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    session: AsyncSession,
) -> None:
    await add_actor(app, session_factory, username="zheng.yi")
    limit = app.state.settings.login_lockout_after
    for _ in range(limit):
        await sign_in(client, "ZHENG.YI", WRONG)  # the count is per name, whatever its case

    row = (await session.scalars(select(LoginThrottle))).one()
    assert row.failures == limit
    assert row.locked_until is not None
    assert row.locked_until > utc_now()
    assert "zheng" not in row.username_key  # the name itself is not stored

    # A fresh process (new app, empty memory) on the same database is still locked out.
    restarted = build_app(settings, engine, session_factory)
    transport = ASGITransport(app=restarted, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://restarted") as other:
        assert (await sign_in(other, "zheng.yi", PASSWORD)).status_code == 429

    past = utc_now() - timedelta(seconds=1)
    await session.execute(update(LoginThrottle).values(locked_until=past))
    await session.commit()
    assert (await sign_in(client, "zheng.yi", PASSWORD)).status_code == 200
    session.expunge_all()
    assert (await session.scalars(select(LoginThrottle))).all() == []


async def test_each_failure_after_a_lock_doubles_it(
    client: AsyncClient,
    app: FastAPI,
    session_factory: async_sessionmaker[AsyncSession],
    session: AsyncSession,
) -> None:
    await add_actor(app, session_factory, username="feng.bo")
    for _ in range(app.state.settings.login_lockout_after):
        await sign_in(client, "feng.bo", WRONG)
    first_wait = int((await sign_in(client, "feng.bo", WRONG)).headers["retry-after"])

    await session.execute(update(LoginThrottle).values(locked_until=utc_now()))
    await session.commit()
    assert_problem(await sign_in(client, "feng.bo", WRONG), 401, "invalid_credentials")
    second = await sign_in(client, "feng.bo", PASSWORD)
    assert_problem(second, 429, "rate_limited")
    assert 55 <= int(second.headers["retry-after"]) <= 61
    assert first_wait <= 31


async def test_token_endpoint_needs_no_credentials_but_a_form(client: AsyncClient) -> None:
    response = await client.post("/v1/auth/token", json={})
    assert_problem(response, 422, "validation_failed")
