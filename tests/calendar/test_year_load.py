"""Loading and correcting a year: validation naming the bad date, versions, If-Match."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient

# A made-up but plausible 2027 schedule: a TEST FIXTURE, not the State Council's notice.
YEAR_2027: dict[str, Any] = {
    "source": "test fixture: invented 2027 schedule",
    "days_off": [
        {"date": "2027-01-01", "name": "元旦 New Year's Day"},
        {"date": "2027-01-02", "name": "元旦 New Year's Day"},
        {"date": "2027-01-03", "name": "元旦 New Year's Day"},
        *({"date": f"2027-02-{d:02d}", "name": "春节 Spring Festival"} for d in range(6, 13)),
        {"date": "2027-04-05", "name": "清明节 Tomb-sweeping Day"},
        *({"date": f"2027-05-0{d}", "name": "劳动节 Labour Day"} for d in range(1, 6)),
        {"date": "2027-06-09", "name": "端午节 Dragon Boat Festival"},
        {"date": "2027-09-15", "name": "中秋节 Mid-autumn Festival"},
        *({"date": f"2027-10-0{d}", "name": "国庆节 National Day"} for d in range(1, 8)),
    ],
    "makeup_workdays": [
        {"date": "2027-01-31", "name": "春节调休"},
        {"date": "2027-02-20", "name": "春节调休"},
        {"date": "2027-04-25", "name": "劳动节调休"},
        {"date": "2027-05-08", "name": "劳动节调休"},
        {"date": "2027-09-26", "name": "国庆节调休"},
        {"date": "2027-10-09", "name": "国庆节调休"},
    ],
}


def with_changes(**changes: Any) -> dict[str, Any]:
    return {**YEAR_2027, **changes}


async def test_load_then_get_a_year(client: AsyncClient) -> None:
    before = (await client.get("/v1/calendars/CN")).json()
    response = await client.put("/v1/calendars/CN/years/2027", json=YEAR_2027)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["version"] == 1
    assert body["calendar_version"] == before["version"] + 1
    assert response.headers["etag"] == '"v1"'
    assert len(body["days_off"]) == len(YEAR_2027["days_off"])
    fetched = (await client.get("/v1/calendars/CN/years/2027")).json()
    assert fetched["days_off"] == body["days_off"]
    assert fetched["makeup_workdays"] == body["makeup_workdays"]
    after = (await client.get("/v1/calendars/CN")).json()
    assert 2027 in after["years"]

    due = await client.get(
        "/v1/calendars/CN/due-date",
        params={"start": "2027-09-30", "amount": 3, "unit": "working_days"},
    )
    # Oct 1-7 off, Oct 8 (Fri), Sat Oct 9 (make-up), Mon Oct 11.
    assert due.json()["due_date"] == "2027-10-11"
    assert due.json()["provisional"] is False


async def test_correcting_a_year_replaces_its_days(client: AsyncClient) -> None:
    await client.put("/v1/calendars/CN/years/2027", json=YEAR_2027)
    corrected = with_changes(
        days_off=[d for d in YEAR_2027["days_off"] if d["date"] != "2027-06-09"],
        makeup_workdays=[],
    )
    response = await client.put(
        "/v1/calendars/CN/years/2027", json=corrected, headers={"If-Match": '"v1"'}
    )
    assert response.status_code == 200
    assert response.json()["version"] == 2
    assert response.json()["makeup_workdays"] == []
    days = await client.get(
        "/v1/calendars/CN/days", params={"from": "2027-06-09", "to": "2027-06-09"}
    )
    assert days.json()["days"][0]["working"] is True


async def test_stale_if_match_is_412(client: AsyncClient) -> None:
    await client.put("/v1/calendars/CN/years/2027", json=YEAR_2027)
    await client.put("/v1/calendars/CN/years/2027", json=YEAR_2027)
    stale = await client.put(
        "/v1/calendars/CN/years/2027", json=YEAR_2027, headers={"If-Match": '"v1"'}
    )
    assert stale.status_code == 412
    assert stale.json()["current_etag"] == '"v2"'


async def test_a_blank_if_match_is_no_condition(client: AsyncClient) -> None:
    """If-Match is optional here; blank was 428, a status this operation does not document."""
    await client.put("/v1/calendars/CN/years/2027", json=YEAR_2027)
    again = await client.put(
        "/v1/calendars/CN/years/2027", json=YEAR_2027, headers={"If-Match": ""}
    )
    assert again.status_code == 200, again.text


@pytest.mark.parametrize(
    ("body", "bad_date", "fragment"),
    [
        (
            with_changes(days_off=[*YEAR_2027["days_off"], {"date": "2028-01-01", "name": "x"}]),
            "2028-01-01",
            "not in 2027",
        ),
        (
            with_changes(
                makeup_workdays=[
                    *YEAR_2027["makeup_workdays"],
                    {"date": "2027-01-02", "name": "x"},
                ]
            ),
            "2027-01-02",
            "both",
        ),
        (
            with_changes(makeup_workdays=[{"date": "2027-02-17", "name": "Wednesday"}]),
            "2027-02-17",
            "Saturday or Sunday",
        ),
        (
            with_changes(
                days_off=[
                    {"date": "2027-01-02", "name": "Sat"},
                    {"date": "2027-01-03", "name": "Sun"},
                ]
            ),
            "2027-01-02",
            "at least one weekday",
        ),
        (
            with_changes(days_off=[*YEAR_2027["days_off"], {"date": "2027-10-01", "name": "x"}]),
            "2027-10-01",
            "twice",
        ),
    ],
)
async def test_invalid_year_names_the_bad_date(
    client: AsyncClient, body: dict[str, Any], bad_date: str, fragment: str
) -> None:
    response = await client.put("/v1/calendars/CN/years/2027", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "invalid_calendar_date"
    assert problem["date"] == bad_date
    assert bad_date in problem["detail"]
    assert fragment in problem["detail"]
    # Nothing was stored.
    assert (await client.get("/v1/calendars/CN/years/2027")).status_code == 404


async def test_an_empty_holiday_list_is_refused(client: AsyncClient) -> None:
    response = await client.put("/v1/calendars/CN/years/2027", json=with_changes(days_off=[]))
    assert response.status_code == 422
    assert response.json()["field"] == "days_off"


async def test_malformed_dates_and_unknown_fields_are_422(client: AsyncClient) -> None:
    bad_date = with_changes(days_off=[{"date": "2027-02-30", "name": "x"}])
    assert (await client.put("/v1/calendars/CN/years/2027", json=bad_date)).status_code == 422
    extra = with_changes(status="official")
    assert (await client.put("/v1/calendars/CN/years/2027", json=extra)).status_code == 422
    assert (await client.put("/v1/calendars/CN/years/1800", json=YEAR_2027)).status_code == 422


async def test_unknown_calendar_year_load_is_404(client: AsyncClient) -> None:
    response = await client.put("/v1/calendars/ZZ/years/2027", json=YEAR_2027)
    assert response.status_code == 404
