"""Building blocks for callback tests: a valid schedule, claiming, attempts with If-Match, and
the clock frozen at a local (Beijing) time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from httpx import AsyncClient, Response

from app.core.clock import BUSINESS_TZ, frozen_at

PHONE = "13800138000"
SATISFIED = {"service_completed": True, "staff_courteous": True}


def local(text: str) -> dt.datetime:
    """A Beijing wall-clock time as an aware instant."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=BUSINESS_TZ)


@contextmanager
def at_local(text: str) -> Iterator[dt.datetime]:
    instant = local(text).astimezone(dt.UTC)  # utc_now() is UTC, like the real one
    with frozen_at(instant):
        yield instant


def payload(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "satisfaction",
        "customer": {"name": "李小龙", "phones": [PHONE]},
        "policy_number": "P-2026-000777",
        "due_at": "2026-03-21T00:00:00+08:00",
    }
    body.update(overrides)
    return body


async def schedule(
    client: AsyncClient, headers: dict[str, str], **overrides: Any
) -> dict[str, Any]:
    response = await client.post("/v1/callbacks", json=payload(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def claim(client: AsyncClient, headers: dict[str, str], **params: str) -> Response:
    return await client.post("/v1/callbacks/claim-next", params=params, headers=headers)


async def act(
    client: AsyncClient,
    headers: dict[str, str],
    callback: dict[str, Any],
    path: str,
    body: dict[str, Any] | None = None,
    *,
    etag: str | None = None,
) -> Response:
    """POST ``path`` (attempts, release, cancel) with the callback's current ETag."""
    return await client.post(
        f"/v1/callbacks/{callback['id']}/{path}",
        json=body or {},
        headers={**headers, "If-Match": etag or f'"v{callback["version"]}"'},
    )


def no_answer(method: str = "phone") -> dict[str, Any]:
    return {"method": method, "outcome": "no_answer"}


def reached(answers: dict[str, Any] | None = None, **completion: Any) -> dict[str, Any]:
    return {
        "method": "phone",
        "outcome": "reached",
        "recording_ref": "rec-0001",
        "completion": {"answers": SATISFIED if answers is None else answers, **completion},
    }
