"""The API conventions on a real endpoint: Idempotency-Key, ETag/If-Match, cursor pages."""

from __future__ import annotations

import uuid

import pytest
from httpx import AsyncClient, Response

from tests.conftest import Actor


@pytest.fixture(autouse=True)
def _as_admin(client: AsyncClient, admin: Actor) -> None:
    client.headers.update(admin.headers)


async def create(
    client: AsyncClient, code: str, name: str = "上海分公司", **headers: str
) -> Response:
    return await client.post("/v1/branches", json={"code": code, "name": name}, headers=headers)


async def test_create_then_get_with_etag(client: AsyncClient) -> None:
    response = await create(client, "SH01")
    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == f"/v1/branches/{body['id']}"
    fetched = await client.get(f"/v1/branches/{body['id']}")
    assert fetched.status_code == 200
    assert fetched.json()["name"] == "上海分公司"
    assert fetched.headers["etag"] == '"v1"'


async def test_duplicate_code_is_409(client: AsyncClient) -> None:
    await create(client, "BJ01")
    response = await create(client, "BJ01", name="another")
    assert response.status_code == 409
    assert response.json()["code"] == "already_exists"


async def test_unknown_branch_is_404(client: AsyncClient) -> None:
    response = await client.get(f"/v1/branches/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


async def test_idempotent_retry_replays_the_first_response(client: AsyncClient) -> None:
    first = await create(client, "GZ01", **{"Idempotency-Key": "retry-key-0001"})
    again = await create(client, "GZ01", **{"Idempotency-Key": "retry-key-0001"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers


async def test_same_key_different_body_is_422(client: AsyncClient) -> None:
    await create(client, "SZ01", **{"Idempotency-Key": "retry-key-0002"})
    response = await create(client, "SZ02", **{"Idempotency-Key": "retry-key-0002"})
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"


async def test_malformed_idempotency_key_is_422(client: AsyncClient) -> None:
    response = await create(client, "SZ03", **{"Idempotency-Key": "short"})
    assert response.status_code == 422


async def test_change_needs_if_match(client: AsyncClient) -> None:
    branch = (await create(client, "HZ01")).json()
    url = f"/v1/branches/{branch['id']}"

    missing = await client.patch(url, json={"name": "杭州"})
    assert missing.status_code == 428
    assert missing.json()["code"] == "if_match_required"

    changed = await client.patch(url, json={"name": "杭州"}, headers={"If-Match": '"v1"'})
    assert changed.status_code == 200
    assert changed.headers["etag"] == '"v2"'
    assert changed.json()["name"] == "杭州"

    stale = await client.patch(url, json={"name": "again"}, headers={"If-Match": '"v1"'})
    assert stale.status_code == 412
    assert stale.json()["code"] == "stale_version"
    assert stale.json()["current_etag"] == '"v2"'


async def test_status_fields_are_not_writable(client: AsyncClient) -> None:
    branch = (await create(client, "HZ02")).json()
    response = await client.patch(
        f"/v1/branches/{branch['id']}", json={"version": 99}, headers={"If-Match": '"v1"'}
    )
    assert response.status_code == 422


async def test_cursor_pagination_walks_every_item_once(client: AsyncClient) -> None:
    codes = {f"PG{n:02d}" for n in range(7)}
    for code in sorted(codes):
        await create(client, code)
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/v1/branches", params=params)).json()
        seen.extend(item["code"] for item in page["items"] if item["code"] in codes)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(codes)
    assert len(seen) == len(set(seen))


async def test_page_size_is_bounded(client: AsyncClient) -> None:
    response = await client.get("/v1/branches", params={"limit": 10_000})
    assert response.status_code == 422


async def test_active_must_be_a_json_boolean(client: AsyncClient) -> None:
    """The schema says boolean; pydantic's lax mode took 0 and "no" as false."""
    branch = (await create(client, "HZ02")).json()
    url = f"/v1/branches/{branch['id']}"
    for value in (0, "no"):
        refused = await client.patch(url, json={"active": value}, headers={"If-Match": '"v1"'})
        assert refused.status_code == 422, refused.text
