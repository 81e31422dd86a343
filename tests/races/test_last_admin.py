"""Two administrators, each disabling the other at the same moment: one succeeds, the other is
refused (409 ``last_admin``), and one active administrator remains (real concurrent sessions)."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text

from tests.conftest import add_actor


async def test_two_admins_disabling_each_other_leave_one(committed_db: FastAPI) -> None:
    factory = committed_db.state.db.session_factory
    first = await add_actor(committed_db, factory, role="admin")
    second = await add_actor(committed_db, factory, role="admin")
    transport = ASGITransport(app=committed_db)
    async with AsyncClient(transport=transport, base_url="http://race") as client:
        responses = await asyncio.gather(
            client.patch(
                f"/v1/users/{second.id}",
                json={"active": False},
                headers={**first.headers, "If-Match": "*"},
            ),
            client.patch(
                f"/v1/users/{first.id}",
                json={"active": False},
                headers={**second.headers, "If-Match": "*"},
            ),
        )
    statuses = sorted(r.status_code for r in responses)
    assert statuses in ([200, 409], [200, 401]), [r.text for r in responses]
    async with factory() as session:
        active = await session.scalar(
            text("SELECT count(*) FROM users WHERE role = 'admin' AND active")
        )
    assert active == 1
