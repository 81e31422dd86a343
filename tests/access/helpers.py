"""Shared assertions and steps for the access tests."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient, Response

from tests.conftest import Actor

PROBLEM = "application/problem+json"


def assert_problem(response: Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code
    return body


def assert_unauthenticated(response: Response, *, invalid_token: bool = True) -> dict[str, Any]:
    """A 401 problem with a Bearer challenge (naming ``invalid_token`` when one was sent)."""
    body = assert_problem(response, 401)
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert ('error="invalid_token"' in challenge) is invalid_token
    return body


async def sign_in(client: AsyncClient, username: str, password: str) -> Response:
    return await client.post("/v1/auth/token", data={"username": username, "password": password})


async def create_api_key(
    client: AsyncClient, admin: Actor, *, role: str = "ivr", name: str = "IVR 主机"
) -> dict[str, Any]:
    response = await client.post(
        "/v1/api-keys", json={"name": name, "role": role}, headers=admin.headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def audit_events(client: AsyncClient, admin: Actor, **filters: str) -> list[dict[str, Any]]:
    response = await client.get("/v1/audit-events", params=filters, headers=admin.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items
