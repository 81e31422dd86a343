"""Complaint statistics: counts by cause × product line × channel × branch, subtotals, and the
regulator's rates per ¥100m premium, 10,000 policies and 10,000 persons."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.org.models import Branch
from tests.conftest import Actor, add_actor
from tests.supervision.helpers import registered

Q1 = {"from": "2026-01-01", "to": "2026-03-31"}


async def _statistics(client: AsyncClient, who: Actor, **params: Any) -> dict[str, Any]:
    response = await client.get(
        "/v1/reports/complaints", params={**Q1, **params}, headers=who.headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_counts_subtotals_and_rates_match_the_hand_count(
    client: AsyncClient,
    app: FastAPI,
    session_factory: async_sessionmaker[AsyncSession],
    admin: Actor,
) -> None:
    north = await add_actor(app, session_factory, role="supervisor")
    south = await add_actor(app, session_factory, role="supervisor")
    # North: 3 life mis-selling by hotline, 1 motor claims dispute online. South: 2 life
    # mis-selling by hotline, 1 received at 23:30 on 31 March (Beijing) and so still in Q1.
    # Outside the period: 31 December 2025 at 23:59 and 1 April 2026 at 00:00.
    for _ in range(3):
        await registered(client, north.headers, "2026-01-15T10:00")
    await registered(client, north.headers, "2026-02-10T10:00", product_line="motor",
                     cause_code="claims_dispute", channel="online")  # fmt: skip
    await registered(client, south.headers, "2026-03-02T10:00")
    await registered(client, south.headers, "2026-03-31T23:30")
    await registered(client, south.headers, "2025-12-31T23:59")
    await registered(client, south.headers, "2026-04-01T00:00")

    body = await _statistics(
        client, admin, premium_100m_yuan=2.5, policies_10k=40, persons_10k=12.5
    )

    assert body["total"] == 6
    assert body["by"] == ["cause", "product_line", "channel", "branch"]
    cells = {
        (c["cause"], c["product_line"], c["channel"], c["branch_id"]): c["count"]
        for c in body["cells"]
    }
    north_id, south_id = str(north.user.branch_id), str(south.user.branch_id)
    assert cells == {
        ("mis_selling", "life", "hotline", north_id): 3,
        ("mis_selling", "life", "hotline", south_id): 2,
        ("claims_dispute", "motor", "online", north_id): 1,
    }
    sub = {dim: {s["value"]: s["count"] for s in items} for dim, items in body["subtotals"].items()}
    assert sub == {
        "cause": {"mis_selling": 5, "claims_dispute": 1},
        "product_line": {"life": 5, "motor": 1},
        "channel": {"hotline": 5, "online": 1},
        "branch": {north_id: 4, south_id: 2},
    }
    assert [s["value"] for s in body["subtotals"]["cause"]] == ["mis_selling", "claims_dispute"]
    assert body["rates"] == {
        "per_100m_yuan_premium": 2.4,  # 6 / 2.5
        "per_10k_policies": 0.15,  # 6 / 40
        "per_10k_persons": 0.48,  # 6 / 12.5
    }
    async with session_factory() as session:
        code = (await session.get_one(Branch, north.user.branch_id)).code
    assert {s["label"] for s in body["subtotals"]["branch"]} >= {code}

    # A supervisor counts their own branch only; one dimension at a time works too.
    own = await _statistics(client, south, by="channel")
    assert own["total"] == 2
    assert own["cells"] == [
        {
            "channel": "hotline",
            "count": 2,
            "cause": None,
            "product_line": None,
            "branch_id": None,
            "branch_code": None,
        }
    ]
    assert own["subtotals"] == {"channel": [{"value": "hotline", "label": None, "count": 2}]}
    assert own["rates"] == {
        "per_100m_yuan_premium": None,
        "per_10k_policies": None,
        "per_10k_persons": None,
    }


async def test_statistics_as_csv(client: AsyncClient, admin: Actor) -> None:
    await registered(client, admin.headers, "2026-02-01T10:00")
    await registered(client, admin.headers, "2026-02-02T10:00", channel="email")
    response = await client.get(
        "/v1/reports/complaints",
        params={**Q1, "by": ["channel", "product_line"]},
        headers={**admin.headers, "Accept": "text/csv"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["channel", "product_line", "count"]
    assert sorted(rows[1:-1]) == [["email", "life", "1"], ["hotline", "life", "1"]]
    assert rows[-1] == ["total", "", "2"]
    assert "张" not in response.text


async def test_a_period_without_complaints_counts_zero(client: AsyncClient, admin: Actor) -> None:
    for period in (
        {"from": "2019-01-01", "to": "2019-03-31"},
        {"from": "2019-01-05", "to": "2019-01-09"},
    ):
        body = await _statistics(client, admin, **period, premium_100m_yuan=3)
        assert (body["total"], body["cells"], body["subtotals"]) == (0, [], {})
        assert body["rates"]["per_100m_yuan_premium"] == 0.0


async def test_a_period_is_checked(client: AsyncClient, admin: Actor) -> None:
    backwards = await client.get(
        "/v1/reports/complaints", params={"from": "2026-03-31", "to": "2026-01-01"},
        headers=admin.headers,
    )  # fmt: skip
    assert backwards.status_code == 422
    too_long = await client.get(
        "/v1/reports/service-indicators", params={"from": "2020-01-01", "to": "2026-01-01"},
        headers=admin.headers,
    )  # fmt: skip
    assert too_long.status_code == 422
    negative = await client.get(
        "/v1/reports/complaints", params={**Q1, "policies_10k": -1}, headers=admin.headers
    )
    assert negative.status_code == 422


def test_whole_months_of_a_range() -> None:
    import datetime as dt

    from app.reports.periods import full_months

    def months(first: str, last: str) -> tuple[str, str] | None:
        found = full_months(dt.date.fromisoformat(first), dt.date.fromisoformat(last))
        return (found[0].isoformat(), found[1].isoformat()) if found else None

    assert months("2026-01-01", "2026-03-31") == ("2026-01-01", "2026-04-01")
    assert months("2026-01-02", "2026-03-31") == ("2026-02-01", "2026-04-01")
    assert months("2026-01-01", "2026-03-30") == ("2026-01-01", "2026-03-01")
    assert months("2026-02-01", "2026-02-28") == ("2026-02-01", "2026-03-01")
    assert months("2026-02-02", "2026-02-28") is None
    assert months("2026-01-15", "2026-02-14") is None
    assert months("2025-12-31", "2026-01-31") == ("2026-01-01", "2026-02-01")
