"""The caller lookup as it runs in service (real commits, no test transaction around it): sent
alone through the direct pool once the API key is remembered, through the request's session
while the key is still being checked — the same answer either way."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from app.core.clock import BUSINESS_TZ, utc_now
from tests.conftest import add_actor, add_branch
from tests.intake.helpers import PHONE_FORMATS, api_key, call_payload


async def test_the_lookup_answers_alike_through_either_path(committed_db: FastAPI) -> None:
    factory = committed_db.state.db.session_factory
    admin = await add_actor(committed_db, factory, role="admin")
    branch = await add_branch(factory)
    async with AsyncClient(transport=ASGITransport(app=committed_db), base_url="http://t") as c:
        ivr = await api_key(c, admin.headers, branch_id=branch.id)
        started = (utc_now() - timedelta(minutes=3)).astimezone(BUSINESS_TZ).isoformat()
        call = call_payload(intent="complaint", started_at=started, ended_at=None)
        reported = await c.post("/v1/ivr/calls", json=call, headers=ivr)
        assert reported.status_code == 201, reported.text
        fresh_key = await api_key(c, admin.headers, branch_id=branch.id)
        # The fresh key is checked against the database first: that lookup goes through the
        # session; the remembered key's lookups go alone.
        answers = [await c.get(f"/v1/ivr/callers/{PHONE_FORMATS[0]}", headers=fresh_key)]
        answers += [await c.get(f"/v1/ivr/callers/{phone}", headers=ivr) for phone in PHONE_FORMATS]
    assert [a.status_code for a in answers] == [200] * len(answers), answers[0].text
    bodies = [a.json() for a in answers]
    assert all(body == bodies[0] for body in bodies)
    (item,) = bodies[0]["items"]
    assert item["number"] == reported.json()["ticket"]["number"]
    assert item["next_due"]["clock"]  # the complaint's first clock, read with it
