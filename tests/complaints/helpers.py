"""Building blocks for complaint tests: a valid registration, and acting with If-Match."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient, Response

PHONE = "13800138000"
ID_NUMBER = "110101199003071234"
SMS_SENT = {"mode": "sms", "delivery": "sent"}
SMS_FAILED = {"mode": "sms", "delivery": "failed"}
WRITTEN = {"mode": "written", "delivery": "sent", "proof_ref": "EMS1234567890"}


def complaint_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "channel": "hotline",
        "complainant": {
            "name": "张三丰",
            "phones": [PHONE],
            "id_number": ID_NUMBER,
            "relation": "policyholder",
        },
        "policy_number": "P-2026-000123",
        "product_line": "life",
        "cause_code": "mis_selling",
        "description": "销售人员夸大收益,未说明犹豫期。",
        "remedy_requested": "全额退保",
        "materials_received": ["投诉书"],
    }
    payload.update(overrides)
    return payload


async def register(client: AsyncClient, headers: dict[str, str], **overrides: Any) -> Response:
    response = await client.post(
        "/v1/complaints", json=complaint_payload(**overrides), headers=headers
    )
    assert response.status_code == 201, response.text
    return response


async def act(
    client: AsyncClient,
    headers: dict[str, str],
    complaint: Response | dict[str, Any],
    action: str,
    body: dict[str, Any] | None = None,
    *,
    etag: str | None = None,
) -> Response:
    """POST an action with the complaint's current ETag (or the one given)."""
    data = complaint.json() if isinstance(complaint, Response) else complaint
    if etag is None:
        etag = f'"v{data["version"]}"'
    return await client.post(
        f"/v1/complaints/{data['id']}/{action}",
        json=body or {},
        headers={**headers, "If-Match": etag},
    )


def clock(complaint: Response | dict[str, Any], name: str) -> dict[str, Any]:
    data = complaint.json() if isinstance(complaint, Response) else complaint
    matches = [c for c in data["clocks"] if c["name"] == name]
    assert matches, f"no clock {name} in {[c['name'] for c in data['clocks']]}"
    return matches[-1]
