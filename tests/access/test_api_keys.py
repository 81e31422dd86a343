"""Machine clients: API keys shown once, stored as an HMAC, accepted two ways, revocable."""

from __future__ import annotations

import uuid

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import api_keys
from tests.access.helpers import assert_problem, assert_unauthenticated, create_api_key
from tests.conftest import Actor


def _secret_of(key: str) -> str:
    parts = api_keys.split(key)
    assert parts is not None
    return parts[1]


async def test_created_key_is_shown_once_and_stored_without_its_secret(
    client: AsyncClient, admin: Actor, session: AsyncSession
) -> None:
    created = await create_api_key(client, admin, role="ivr")
    key = created["key"]
    assert key.startswith("cdk_")
    assert created["lookup_id"] in key
    assert created["role"] == "ivr"
    assert created["revoked_at"] is None
    assert created["last_used_at"] is None
    secret = _secret_of(key)

    query = text("SELECT * FROM api_keys WHERE id = :id")
    row = (await session.execute(query, {"id": created["id"]})).mappings().one()
    for column, value in row.items():
        assert secret not in str(value), f"the secret is stored in api_keys.{column}"
    audit_rows = (await session.execute(text("SELECT * FROM audit_events"))).mappings().all()
    assert audit_rows
    assert all(secret not in str(dict(event)) for event in audit_rows)

    listed = await client.get("/v1/api-keys", headers=admin.headers)
    assert listed.status_code == 200
    assert secret not in listed.text
    mine = [item for item in listed.json()["items"] if item["id"] == created["id"]]
    assert len(mine) == 1
    assert "key" not in mine[0]


@pytest.mark.parametrize("scheme", ["x-api-key", "bearer"])
async def test_key_works_as_header_or_bearer(
    client: AsyncClient, admin: Actor, scheme: str
) -> None:
    created = await create_api_key(client, admin, role="ivr", name="IVR 1")
    headers = (
        {"X-API-Key": created["key"]}
        if scheme == "x-api-key"
        else {"Authorization": f"Bearer {created['key']}"}
    )
    response = await client.get("/v1/me", headers=headers)
    assert response.status_code == 200, response.text
    me = response.json()
    assert (me["kind"], me["id"], me["role"], me["name"]) == (
        "api_key",
        created["id"],
        "ivr",
        "IVR 1",
    )
    assert set(me["permissions"]) == {"intake:write", "callers:lookup"}


async def test_use_sets_last_used_at(client: AsyncClient, admin: Actor) -> None:
    created = await create_api_key(client, admin, role="integration")
    assert (await client.get("/v1/me", headers={"X-API-Key": created["key"]})).status_code == 200
    listed = (await client.get("/v1/api-keys", headers=admin.headers)).json()["items"]
    (mine,) = [item for item in listed if item["id"] == created["id"]]
    assert mine["last_used_at"] is not None


async def test_revoked_key_is_refused_on_the_next_request(
    client: AsyncClient, admin: Actor
) -> None:
    created = await create_api_key(client, admin)
    headers = {"X-API-Key": created["key"]}
    assert (await client.get("/v1/me", headers=headers)).status_code == 200

    revoked = await client.post(f"/v1/api-keys/{created['id']}/revoke", headers=admin.headers)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert "key" not in revoked.json()

    body = assert_unauthenticated(await client.get("/v1/me", headers=headers))
    assert "revoked" in body["detail"]
    bearer = {"Authorization": f"Bearer {created['key']}"}
    assert_unauthenticated(await client.get("/v1/me", headers=bearer))


async def test_revoking_an_unknown_key_is_404(client: AsyncClient, admin: Actor) -> None:
    response = await client.post(f"/v1/api-keys/{uuid.uuid4()}/revoke", headers=admin.headers)
    assert_problem(response, 404, "not_found")


async def test_malformed_unknown_or_forged_keys_are_401(
    client: AsyncClient, app: FastAPI, admin: Actor
) -> None:
    real = (await create_api_key(client, admin))["key"]
    lookup_id = real.removeprefix("cdk_").split("_", 1)[0]
    never_issued = api_keys.generate(app.state.keys.api_key_pepper).plaintext
    candidates = [
        "cdk_",
        "cdk_short_secret",
        "nonsense",
        real[:-1],  # the right lookup id with a wrong secret
        f"cdk_{lookup_id}_",
        never_issued,
    ]
    for candidate in candidates:
        assert_unauthenticated(await client.get("/v1/me", headers={"X-API-Key": candidate}))
    for candidate in (real[:-1], never_issued):
        bearer = {"Authorization": f"Bearer {candidate}"}
        assert_unauthenticated(await client.get("/v1/me", headers=bearer))


def test_key_format_round_trips() -> None:
    fresh = api_keys.generate(b"pepper")
    assert api_keys.split(fresh.plaintext) == (fresh.lookup_id, _secret_of(fresh.plaintext))
    assert api_keys.matches(b"pepper", _secret_of(fresh.plaintext), fresh.secret_hash)
    assert not api_keys.matches(b"other pepper", _secret_of(fresh.plaintext), fresh.secret_hash)
    assert len(_secret_of(fresh.plaintext)) >= 43  # 32 random bytes, base64url
