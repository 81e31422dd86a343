"""A branch named in a request body must exist (found by schema fuzzing: each was a 500).

An admin sees every branch, so only the foreign key stood between an unknown branch_id and the
INSERT; the service now answers 422 on ``branch_id``."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient

from tests.complaints.helpers import complaint_payload
from tests.conftest import Actor

UNKNOWN = "00000000-0000-4000-8000-000000000000"

BODIES: dict[str, dict[str, Any]] = {
    "/v1/inquiries": {"channel": "hotline", "question": "犹豫期是多少天？"},
    "/v1/claim-reports": {"channel": "hotline", "description": "追尾事故"},
    "/v1/complaints": complaint_payload(),
    "/v1/callbacks": {
        "kind": "satisfaction",
        "customer": {"name": "张三", "phones": ["13800138000"]},
        "policy_number": "P-2026-000123",
        "due_at": "2026-12-01T09:00:00+08:00",
    },
    "/v1/policies": {"number": "P-2026-9902", "product_line": "life"},
}


@pytest.mark.parametrize("url", sorted(BODIES))
async def test_an_unknown_branch_is_422(client: AsyncClient, admin: Actor, url: str) -> None:
    response = await client.post(
        url, json={**BODIES[url], "branch_id": UNKNOWN}, headers=admin.headers
    )
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "branch_id"
