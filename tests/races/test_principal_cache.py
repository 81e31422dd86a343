"""A request that arrives while a user is being disabled, before the change commits, reads the
user as still active and remembers it; the commit must make this process forget it again, or
the disabled user would keep working for ``auth_cache_seconds`` (real commits, two connections).
"""

from __future__ import annotations

from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from app.access import service
from app.access.schemas import UserUpdate
from app.api.etag import ANY_VERSION
from tests.access.helpers import assert_unauthenticated
from tests.conftest import add_actor


async def test_a_principal_remembered_before_the_change_committed_is_forgotten_after(
    committed_db: FastAPI,
) -> None:
    assert committed_db.state.settings.auth_cache_seconds > 0
    factory = committed_db.state.db.session_factory
    admin = await add_actor(committed_db, factory, role="admin")
    agent = await add_actor(committed_db, factory, role="agent")
    acting = admin.principal()
    transport = ASGITransport(app=committed_db)
    async with AsyncClient(transport=transport, base_url="http://cache") as client:
        async with factory() as session:
            await service.update_user(
                session, acting, agent.id, UserUpdate(active=False), expected=ANY_VERSION
            )
            # Not committed yet: this request sees the agent still active, and is right to.
            assert (await client.get("/v1/me", headers=agent.headers)).status_code == 200
            await session.commit()
        body = assert_unauthenticated(await client.get("/v1/me", headers=agent.headers))
        assert "disabled" in body["detail"]
