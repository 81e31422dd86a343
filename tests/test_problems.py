"""Every failure is application/problem+json with a stable code — never a bare 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.config import Settings
from app.db import direct
from app.db.errors import is_database_unavailable, is_unstorable_text
from app.db.session import Database, create_engine_from_settings, make_session_factory
from app.main import create_app
from tests.conftest import Actor

PROBLEM = "application/problem+json"


@pytest.fixture(autouse=True)
def _as_admin(client: AsyncClient, admin: Actor) -> None:
    client.headers.update(admin.headers)


def assert_problem(response: Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["type"] == f"urn:contact-desk:problem:{code}"
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def test_malformed_json_is_400(client: AsyncClient) -> None:
    response = await client.post(
        "/v1/branches", content=b"{bad json", headers={"content-type": "application/json"}
    )
    assert_problem(response, 400, "malformed_json")


async def test_unknown_route_is_404(client: AsyncClient) -> None:
    body = assert_problem(await client.get("/v1/no-such-thing"), 404, "not_found")
    assert "/v1/no-such-thing" in str(body["detail"])


async def test_wrong_method_is_405_with_allow(client: AsyncClient) -> None:
    response = await client.delete("/v1/branches")
    assert_problem(response, 405, "method_not_allowed")
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}


async def test_validation_lists_every_bad_field(client: AsyncClient) -> None:
    response = await client.post("/v1/branches", json={"code": "lower case!", "nmae": "x"})
    body = assert_problem(response, 422, "validation_failed")
    locations = {tuple(issue["loc"]) for issue in body["errors"]}
    assert ("body", "code") in locations
    assert ("body", "name") in locations  # missing
    assert ("body", "nmae") in locations  # unknown field: no mass assignment


async def test_nul_byte_in_text_is_422(client: AsyncClient) -> None:
    response = await client.post("/v1/branches", json={"code": "NUL01", "name": "a\u0000b"})
    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"][0]["loc"] == ["body", "name"]


async def test_nul_byte_in_query_is_422_not_500(client: AsyncClient) -> None:
    response = await client.get("/v1/branches", params={"cursor": "a\u0000b"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith(PROBLEM)


async def test_body_too_large_is_413(settings: Settings, app: FastAPI, client: AsyncClient) -> None:
    huge = json.dumps({"code": "BIG01", "name": "x" * (settings.max_body_bytes + 10)})
    response = await client.post(
        "/v1/branches", content=huge, headers={"content-type": "application/json"}
    )
    assert_problem(response, 413, "body_too_large")


async def test_unexpected_error_is_500_with_request_id_and_no_trace(
    app: FastAPI, client: AsyncClient
) -> None:
    boom = APIRouter()

    @boom.get("/boom")
    async def explode() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    app.include_router(boom)
    response = await client.get("/boom", headers={"X-Request-ID": "trace-me-123"})
    body = assert_problem(response, 500, "internal_error")
    assert body["request_id"] == "trace-me-123"
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text


async def test_unreachable_database_is_503_with_retry_after(
    settings: Settings, tmp_path: object
) -> None:
    # A socket folder with no server in it: asyncpg raises a plain OSError on connect.
    url = f"postgresql+asyncpg://postgres@/nowhere?host={tmp_path}"
    dead_engine: AsyncEngine = create_engine_from_settings(settings, url)
    app = create_app(settings, run_lifespan=False)
    app.state.db = Database(engine=dead_engine, session_factory=make_session_factory(dead_engine))
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/v1/me", headers={"Authorization": "Bearer x.y.z"})
        ready = await client.get("/readyz")
    await direct.dispose(dead_engine)
    assert_problem(response, 503, "database_unavailable")
    assert int(response.headers["retry-after"]) == settings.retry_after_seconds
    assert_problem(ready, 503, "database_unavailable")


@pytest.mark.parametrize("cursor", ["%%%", "bm90LWEtbGlzdA", "WyJ4Il0"])
async def test_bad_cursor_is_422(client: AsyncClient, cursor: str) -> None:
    response = await client.get("/v1/branches", params={"cursor": cursor})
    assert_problem(response, 422, "invalid_cursor")


async def test_text_postgres_cannot_store_is_classified_as_client_error(
    session: AsyncSession,
) -> None:
    with pytest.raises(DBAPIError) as refused:
        await session.execute(text("SELECT CAST(:value AS text)"), {"value": "a\x00b"})
    assert is_unstorable_text(refused.value)
    assert not is_database_unavailable(refused.value)


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/v1/inquiries", {"received_to": "0.5"}),
        ("/v1/complaints", {"received_from": "12"}),
        ("/v1/calendars/CN/days", {"from": "0", "to": "2026-01-31"}),
        ("/v1/reports/complaints", {"from": "2026-01-01", "to": "0"}),
    ],
)
async def test_a_number_is_not_a_date(
    client: AsyncClient, admin: Actor, url: str, params: dict[str, str]
) -> None:
    """The schema says ISO 8601 text; pydantic read numbers as Unix times (1970)."""
    response = await client.get(url, params=params, headers=admin.headers)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_failed"


async def test_allow_names_only_routes_that_serve_the_path(
    client: AsyncClient, admin: Actor
) -> None:
    """/v1/callbacks/claim-next also matches /v1/callbacks/{callback_id} (GET), whose UUID
    parameter refuses it; Allow advertised that GET, which the schema does not list."""
    response = await client.request("OPTIONS", "/v1/callbacks/claim-next", headers=admin.headers)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


async def test_an_undeclared_method_on_a_literal_path_is_405(
    client: AsyncClient, admin: Actor
) -> None:
    """GET /v1/callbacks/claim-next fell through to GET /v1/callbacks/{callback_id} and
    answered 422 (not a UUID); only POST is declared there, so it is 405."""
    response = await client.get("/v1/callbacks/claim-next", headers=admin.headers)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
