"""The calendar API on the seeded CN calendar: due dates, days, counts, year loads."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.calendar.models import Calendar
from tests.calendar.test_official_data import MAKEUP_WORKDAYS

D = dt.date


async def due(client: AsyncClient, start: str, amount: int, unit: str, **extra: Any) -> Any:
    params = {"start": start, "amount": amount, "unit": unit, **extra}
    response = await client.get("/v1/calendars/CN/due-date", params=params)
    assert response.status_code == 200, response.text
    return response.json()


# DOMAIN.md section 2.2, then more around make-up days and long holidays.
WORKED_EXAMPLES = [
    ("2025-09-30", 5, "working_days", "2025-10-14"),  # Oct 9, 10, 11 (Sat, make-up), 13, 14
    ("2026-09-30", 10, "working_days", "2026-10-20"),
    ("2026-02-12", 5, "working_days", "2026-02-26"),
    ("2026-09-22", 15, "calendar_days", "2026-10-08"),  # Oct 7 is a holiday: rolls forward
    ("2024-09-30", 5, "working_days", "2024-10-12"),  # ends on the make-up Saturday
    ("2025-12-31", 1, "working_days", "2026-01-04"),  # Jan 1-3 off, Sun Jan 4 works
    ("2025-01-20", 15, "calendar_days", "2025-02-05"),  # Feb 4 is the last Spring Festival day
    ("2026-01-30", 10, "working_days", "2026-02-13"),
    ("2025-09-22", 10, "working_days", "2025-10-11"),
    ("2025-10-10", 0, "working_days", "2025-10-10"),
]


@pytest.mark.parametrize(("start", "amount", "unit", "expected"), WORKED_EXAMPLES)
async def test_worked_examples(
    client: AsyncClient, start: str, amount: int, unit: str, expected: str
) -> None:
    body = await due(client, start, amount, unit)
    assert body["due_date"] == expected
    assert body["start"] == start
    assert body["amount"] == amount
    assert body["unit"] == unit
    assert body["provisional"] is False


async def test_due_at_is_midnight_local_after_the_due_date(client: AsyncClient) -> None:
    body = await due(client, "2025-09-30", 5, "working_days")
    # 24:00 on Oct 14 in Beijing (UTC+8) is 16:00 UTC that day.
    assert body["due_at"] == "2025-10-14T16:00:00Z"


async def test_roll_forward_can_be_turned_off(client: AsyncClient) -> None:
    body = await due(client, "2026-09-22", 15, "calendar_days", roll_forward="false")
    assert body["due_date"] == "2026-10-07"
    assert body["roll_forward"] is False


async def test_every_makeup_day_2024_2026_is_working(client: AsyncClient) -> None:
    for year, makeup_days in MAKEUP_WORKDAYS.items():
        response = await client.get(
            "/v1/calendars/CN/days", params={"from": f"{year}-01-01", "to": f"{year}-12-31"}
        )
        assert response.status_code == 200
        days = {d["date"]: d for d in response.json()["days"]}
        assert len(days) == (366 if year == 2024 else 365)
        for day in makeup_days:
            entry = days[day.isoformat()]
            assert entry["working"] is True, day
            assert entry["kind"] == "makeup_workday", day
        listed = {d for d, e in days.items() if e["kind"] == "makeup_workday"}
        assert listed == {d.isoformat() for d in makeup_days}


async def test_2005_12_31_is_a_working_saturday(client: AsyncClient) -> None:
    response = await client.get(
        "/v1/calendars/CN/days", params={"from": "2005-12-30", "to": "2006-01-02"}
    )
    days = {d["date"]: d for d in response.json()["days"]}
    assert days["2005-12-31"]["working"] is True
    assert days["2006-01-01"]["working"] is False
    assert days["2006-01-01"]["kind"] == "holiday"


async def test_plain_days_have_no_kind(client: AsyncClient) -> None:
    response = await client.get(
        "/v1/calendars/CN/days", params={"from": "2025-09-26", "to": "2025-09-27"}
    )
    assert response.json()["days"] == [
        {"date": "2025-09-26", "working": True, "kind": None, "name": None},
        {"date": "2025-09-27", "working": False, "kind": None, "name": None},
    ]


async def test_working_days_count_is_inclusive(client: AsyncClient) -> None:
    response = await client.get(
        "/v1/calendars/CN/working-days", params={"from": "2025-09-27", "to": "2025-10-12"}
    )
    # Sep 28 (make-up), 29, 30, Oct 9, 10, 11 (make-up).
    assert response.json() == {
        "from": "2025-09-27",
        "to": "2025-10-12",
        "working_days": 6,
        "provisional": False,
        "calendar_version": response.json()["calendar_version"],
    }


async def test_deadline_into_an_unloaded_year_is_provisional(client: AsyncClient) -> None:
    body = await due(client, "2026-12-20", 10, "working_days")
    # Weekends only in 2027: Dec 21-25, 28-31 and Fri Jan 1.
    assert body["due_date"] == "2027-01-01"
    assert body["provisional"] is True
    count = await client.get(
        "/v1/calendars/CN/working-days", params={"from": "2026-12-01", "to": "2027-01-31"}
    )
    assert count.json()["provisional"] is True


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("due-date", {"start": "2025-01-01", "amount": 1, "unit": "hours"}),
        ("due-date", {"start": "2025-01-01", "amount": -1, "unit": "working_days"}),
        ("due-date", {"start": "2025-02-30", "amount": 1, "unit": "working_days"}),
        ("due-date", {"start": "2025-01-01", "unit": "working_days"}),
        ("due-date", {"start": "1900-01-01", "amount": 1, "unit": "working_days"}),
        ("days", {"from": "2025-01-01", "to": "2026-01-02"}),
        ("days", {"from": "2025-01-02", "to": "2025-01-01"}),
        ("days", {"from": "2025-01-01"}),
        ("working-days", {"from": "2025-01-02", "to": "2025-01-01"}),
    ],
)
async def test_bad_parameters_are_422(
    client: AsyncClient, path: str, params: dict[str, Any]
) -> None:
    response = await client.get(f"/v1/calendars/CN/{path}", params=params)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_full_leap_year_of_days_is_allowed(client: AsyncClient) -> None:
    response = await client.get(
        "/v1/calendars/CN/days", params={"from": "2024-01-01", "to": "2024-12-31"}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/due-date?start=2025-01-01&amount=1&unit=working_days",
        "/years/2025",
        "/days?from=2025-01-01&to=2025-01-02",
    ],
)
async def test_unknown_calendar_is_404(client: AsyncClient, path: str) -> None:
    response = await client.get(f"/v1/calendars/XX{path}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


async def test_year_not_loaded_is_404(client: AsyncClient) -> None:
    response = await client.get("/v1/calendars/CN/years/2031")
    assert response.status_code == 404


async def test_get_year_lists_days_off_and_makeup_days(client: AsyncClient) -> None:
    response = await client.get("/v1/calendars/CN/years/2025")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "official"
    assert body["loaded_by"] == "migration:0004"
    assert response.headers["etag"] == f'"v{body["version"]}"'
    off = [d["date"] for d in body["days_off"]]
    assert [f"2025-10-0{d}" for d in range(1, 9)] == [d for d in off if d.startswith("2025-10")]
    assert [d["date"] for d in body["makeup_workdays"]] == [
        d.isoformat() for d in MAKEUP_WORKDAYS[2025]
    ]


async def test_regional_calendar_inherits_and_adds_local_days(
    client: AsyncClient, session: AsyncSession
) -> None:
    session.add(Calendar(code="CN-XJ", name="新疆", time_zone="Asia/Shanghai", parent_code="CN"))
    await session.flush()
    local = {
        "source": "regional notice (test fixture)",
        "days_off": [{"date": "2025-03-21", "name": "Nowruz (local)"}],
    }
    loaded = await client.put("/v1/calendars/CN-XJ/years/2025", json=local)
    assert loaded.status_code == 200, loaded.text
    response = await client.get(
        "/v1/calendars/CN-XJ/working-days", params={"from": "2025-03-17", "to": "2025-03-21"}
    )
    assert response.json()["working_days"] == 4
    # Inherited: National Day 2025 and its make-up Saturday.
    inherited = await client.get(
        "/v1/calendars/CN-XJ/due-date",
        params={"start": "2025-09-30", "amount": 5, "unit": "working_days"},
    )
    assert inherited.json()["due_date"] == "2025-10-14"
    national = await client.get(
        "/v1/calendars/CN/working-days", params={"from": "2025-03-17", "to": "2025-03-21"}
    )
    assert national.json()["working_days"] == 5
    too_early = await client.put("/v1/calendars/CN-XJ/years/2030", json=local)
    assert too_early.status_code == 422
