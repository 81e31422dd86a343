"""A reclassified complaint counts once, under its cause and product line of now, in every
period's statistics: whether its receipt and its reclassifications were folded into the monthly
summary before, between or after them, and whichever way a range is counted."""

from __future__ import annotations

from collections import Counter
from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient

from app.reports import summary
from tests.conftest import Actor, add_actor
from tests.supervision.helpers import http, registered, step

RANGES = (
    ("2026-03-01", "2026-03-31"),  # a whole month: the monthly counts
    ("2026-02-20", "2026-03-10"),  # no whole month: the tickets themselves
    ("2026-02-20", "2026-04-05"),  # both
    ("2026-03-02", "2026-03-30"),  # March less its first and last day
)


async def _cells(client: AsyncClient, who: Actor, first: str, last: str) -> Counter[Any]:
    response = await client.get(
        "/v1/reports/complaints",
        params={"from": first, "to": last, "by": ["cause", "product_line"]},
        headers=who.headers,
    )
    assert response.status_code == 200, response.text
    return Counter({(c["cause"], c["product_line"]): c["count"] for c in response.json()["cells"]})


def _expected(complaints: dict[str, dict[str, Any]], first: str, last: str) -> Counter[Any]:
    """The hand count: the complaints received in the range (business dates), by their
    classification of now."""
    return Counter(
        (c["cause_code"], c["product_line"])
        for received, c in complaints.values()
        if first <= received[:10] <= last
    )


async def test_counts_follow_each_reclassification_however_the_folding_falls(
    committed_db: FastAPI,
) -> None:
    factory = committed_db.state.db.session_factory
    supervisor = await add_actor(committed_db, factory, role="supervisor")
    complaints: dict[str, Any] = {}

    async def register(name: str, received: str, **fields: Any) -> None:
        complaints[name] = (
            received,
            await registered(client, supervisor.headers, received, **fields),
        )

    async def reclassify(name: str, at: str, **fields: Any) -> None:
        received, complaint = complaints[name]
        body = {"reason": "复核投诉原因", **fields}
        complaints[name] = (
            received,
            await step(client, supervisor.headers, complaint, "reclassify", body, at=at),
        )

    async def check() -> None:
        for first, last in RANGES:
            assert await _cells(client, supervisor, first, last) == _expected(
                complaints, first, last
            ), (first, last)

    async def fold() -> None:
        await summary.fold_all(factory, batch=3)

    async with http(committed_db) as client:
        await register("ivr_a", "2026-03-05T10:00", cause_code="other")
        await register("ivr_b", "2026-03-05T11:00", cause_code="other")
        await register("late_feb", "2026-02-25T10:00", cause_code="other")
        await register("last_day", "2026-03-31T23:00", cause_code="mis_selling")
        await register("april", "2026-04-02T10:00", cause_code="other")
        # Reclassified before anything is folded: its receipt folds under the old cause.
        await reclassify("ivr_a", "2026-03-06T09:00", cause_code="claims_dispute")
        await check()
        await fold()
        await check()
        # Reclassified after its receipt was folded; twice; back to where it was.
        await reclassify("ivr_b", "2026-03-06T10:00", cause_code="surrender", product_line="health")
        await reclassify("ivr_a", "2026-03-07T10:00", product_line="motor")
        await reclassify("late_feb", "2026-03-07T11:00", cause_code="claims_dispute")
        await reclassify("last_day", "2026-04-01T09:00", cause_code="surrender")
        await check()
        await fold()
        await check()
        await reclassify("ivr_b", "2026-03-08T10:00", cause_code="other", product_line="life")
        await reclassify("april", "2026-04-03T10:00", cause_code="surrender")
        await fold()
        await check()
        async with factory() as session:
            assert await summary.rebuild(session, batch=4) > 0
            await session.commit()
        await check()

    assert _expected(complaints, *RANGES[0]) == Counter(
        {("claims_dispute", "motor"): 1, ("other", "life"): 1, ("surrender", "life"): 1}
    )
