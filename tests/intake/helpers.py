"""Building blocks for intake tests: API keys, a valid IVR call, acting with If-Match."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from httpx import AsyncClient, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.org.models import Branch

PHONE = "13800138000"
PHONE_FORMATS = ("+86 138 0013 8000", "138-0013-8000", "008613800138000", PHONE)
STARTED_AT = "2026-11-20T09:00:00+08:00"
_calls = itertools.count(1)


async def api_key(
    client: AsyncClient,
    admin_headers: dict[str, str],
    *,
    role: str = "ivr",
    branch_id: uuid.UUID | None = None,
) -> dict[str, str]:
    """Headers carrying a fresh API key of ``role``, created by an admin as in production."""
    body: dict[str, Any] = {"name": f"{role} {uuid.uuid4().hex[:6]}", "role": role}
    if branch_id is not None:
        body["branch_id"] = str(branch_id)
    response = await client.post("/v1/api-keys", json=body, headers=admin_headers)
    assert response.status_code == 201, response.text
    return {"X-API-Key": response.json()["key"]}


async def hq_branch(factory: async_sessionmaker[AsyncSession]) -> Branch:
    """The default intake branch (code HQ), created if this database has none."""
    from sqlalchemy import select

    async with factory() as session:
        branch = await session.scalar(select(Branch).where(Branch.code == "HQ"))
        if branch is None:
            branch = Branch(id=uuid.uuid4(), code="HQ", name="总公司")
            session.add(branch)
            await session.commit()
        return branch


def call_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "call_id": f"call-{uuid.uuid4().hex[:12]}-{next(_calls)}",
        "caller_number": PHONE,
        "called_number": "95500",
        "started_at": STARTED_AT,
        "ended_at": "2026-11-20T09:04:00+08:00",
        "menu_path": "2",
        "intent": "inquiry",
        "recording_ref": "rec/2026/11/20/abc.wav",
        "transcript": "我想问一下保单的现金价值怎么查。",
    }
    payload.update(overrides)
    return payload


async def post_call(client: AsyncClient, headers: dict[str, str], **overrides: Any) -> Response:
    response = await client.post("/v1/ivr/calls", json=call_payload(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    return response


async def act(
    client: AsyncClient,
    headers: dict[str, str],
    resource: str,
    ticket: Response | dict[str, Any],
    action: str,
    body: dict[str, Any] | None = None,
    *,
    etag: str | None = None,
) -> Response:
    """POST an action with the ticket's current ETag (or the one given)."""
    data = ticket.json() if isinstance(ticket, Response) else ticket
    if etag is None:
        etag = f'"v{data["version"]}"'
    return await client.post(
        f"/v1/{resource}/{data['id']}/{action}",
        json=body or {},
        headers={**headers, "If-Match": etag},
    )


def clock(ticket: Response | dict[str, Any], name: str) -> dict[str, Any]:
    data = ticket.json() if isinstance(ticket, Response) else ticket
    matches = [c for c in data["clocks"] if c["name"] == name]
    assert matches, f"no clock {name} in {[c['name'] for c in data['clocks']]}"
    return matches[-1]
