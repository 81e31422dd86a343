"""Request ids, health, readiness, metrics, structured logs, and the committed OpenAPI file."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from httpx import AsyncClient

from app.cli import openapi_document


async def test_request_id_is_echoed_or_generated(client: AsyncClient) -> None:
    given = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    generated = await client.get("/healthz")
    assert len(generated.headers["x-request-id"]) == 32
    hostile = await client.get("/healthz", headers={"X-Request-ID": "bad id\twith tabs"})
    assert hostile.headers["x-request-id"] != "bad id\twith tabs"


async def test_health_and_readiness(client: AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


async def test_metrics_count_requests_by_route_template(client: AsyncClient) -> None:
    await client.get("/v1/branches/00000000-0000-0000-0000-000000000000")
    text = (await client.get("/metrics")).text
    assert 'route="/v1/branches/{branch_id}"' in text
    assert "00000000-0000-0000-0000-000000000000" not in text
    assert "contact_desk_http_request_duration_seconds_bucket" in text


async def test_logs_are_json_with_the_request_id(
    client: AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    from app.core.logging import JsonFormatter

    with caplog.at_level(logging.INFO, logger="app.access"):
        await client.get("/healthz", headers={"X-Request-ID": "log-me-42"})
    record = next(r for r in caplog.records if r.name == "app.access")
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "log-me-42"
    assert line["route"] == "/healthz"
    assert line["status"] == 200


async def test_docs_are_served(client: AsyncClient) -> None:
    assert (await client.get("/docs")).status_code == 200
    assert (await client.get("/openapi.json")).status_code == 200


def test_committed_openapi_matches_the_app() -> None:
    committed = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"
    assert committed.read_text(encoding="utf-8") == openapi_document(), (
        "openapi/openapi.json is stale: run `contact-desk export-openapi` and commit it"
    )


def test_every_operation_has_an_id_and_declares_problem_responses() -> None:
    document = json.loads(openapi_document())
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation.get("operationId"), f"{method} {path} has no operationId"
            problems = [
                status
                for status, response in operation["responses"].items()
                if "application/problem+json" in response.get("content", {})
            ]
            assert "500" in problems, f"{method} {path} does not declare its problem responses"
