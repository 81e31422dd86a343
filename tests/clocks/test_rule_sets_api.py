"""Rule sets: versions are added, never edited; the version in force is chosen by date."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.clocks import rule_sets
from app.core.errors import NoRuleSetInForce
from tests.conftest import Actor

DEFAULT_NAMES = {
    "C2_supplement_or_confirm",
    "C3_acceptance_notice",
    "C7_handling_decision",
    "C9a_review_request_window",
    "C9b_review_decision",
    "C11_regulator_reply",
    "inquiry_answer",
    "claim_decision",
    "claim_refusal_notice",
    "claim_payment",
    "claim_advance_payment",
    "callback_problem_follow_up",
    "ivr_callback_request",
}


def definition(**changes: Any) -> dict[str, Any]:
    return {
        "name": "C2_supplement_or_confirm",
        "subject_kind": "complaint",
        "amount": 3,
        "unit": "working_days",
        "start_event": "complaint_received",
        "stop_events": ["supplement_notice_sent"],
        "warning_lead_working_days": 1,
        **changes,
    }


def rule_set(version: int = 2, **changes: Any) -> dict[str, Any]:
    return {
        "version": version,
        "name": "Stricter supplement notice",
        "effective_from": "2027-01-01",
        "definitions": [definition()],
        **changes,
    }


async def test_version_1_ships_the_domain_clocks(client: AsyncClient) -> None:
    response = await client.get("/v1/rule-sets/1")
    assert response.status_code == 200
    body = response.json()
    by_name = {d["name"]: d for d in body["definitions"]}
    assert set(by_name) == DEFAULT_NAMES
    assert (
        by_name["C2_supplement_or_confirm"]["amount"],
        by_name["C2_supplement_or_confirm"]["unit"],
    ) == (5, "working_days")
    assert by_name["C3_acceptance_notice"]["amount"] == 10
    assert by_name["C7_handling_decision"]["extensions"] == [30, 60]
    assert by_name["C7_handling_decision"]["unit"] == "calendar_days"
    assert by_name["C9b_review_decision"]["amount"] == 30
    assert by_name["C11_regulator_reply"]["amount"] == 0
    assert by_name["inquiry_answer"]["amount"] == 1
    assert by_name["claim_advance_payment"]["amount"] == 60
    assert by_name["ivr_callback_request"]["unit"] == "hours"
    listed = (await client.get("/v1/rule-sets")).json()
    assert [item["version"] for item in listed["items"]] == [1]


async def test_add_a_version_then_read_it(client: AsyncClient, admin: Actor) -> None:
    response = await client.post("/v1/rule-sets", json=rule_set())
    assert response.status_code == 201, response.text
    assert response.headers["location"] == "/v1/rule-sets/2"
    body = response.json()
    assert body["created_by"] == f"user:{admin.id}"
    assert body["definitions"][0]["roll_forward"] is True
    assert (await client.get("/v1/rule-sets/2")).json() == body
    page = (await client.get("/v1/rule-sets", params={"limit": 1})).json()
    assert [item["version"] for item in page["items"]] == [1]
    rest = (await client.get("/v1/rule-sets", params={"cursor": page["next_cursor"]})).json()
    assert [item["version"] for item in rest["items"]] == [2]
    assert rest["next_cursor"] is None


async def test_an_existing_version_cannot_be_replaced(client: AsyncClient) -> None:
    response = await client.post("/v1/rule-sets", json=rule_set(version=1))
    assert response.status_code == 409
    assert response.json()["code"] == "already_exists"
    assert len((await client.get("/v1/rule-sets/1")).json()["definitions"]) == 13


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
async def test_versions_cannot_be_edited(client: AsyncClient, method: str) -> None:
    response = await client.request(method, "/v1/rule-sets/1", json=rule_set(version=1))
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"


async def test_unknown_version_is_404(client: AsyncClient) -> None:
    assert (await client.get("/v1/rule-sets/999")).status_code == 404


@pytest.mark.parametrize(
    ("definitions", "fragment"),
    [
        ([definition(), definition()], "defined twice"),
        ([definition(amount=0)], "only calendar-day clocks"),
        ([definition(unit="hours", amount=4)], "cannot warn"),
        ([definition(amount=1, warning_lead_working_days=1)], "shorter than the limit"),
        ([definition(extensions=[2])], "extensions must be longer"),
        ([definition(extensions=[10, 8])], "extensions must be longer"),
        ([definition(stop_events=["a_sent", "a_sent"])], "listed twice"),
        ([definition(stop_events=["complaint_received"])], "cannot also stop"),
    ],
)
async def test_invalid_definitions_are_refused(
    client: AsyncClient, definitions: list[dict[str, Any]], fragment: str
) -> None:
    response = await client.post("/v1/rule-sets", json=rule_set(definitions=definitions))
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_clock_definition"
    assert fragment in response.json()["detail"]
    assert (await client.get("/v1/rule-sets/2")).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        rule_set(definitions=[]),
        rule_set(version=0),
        rule_set(definitions=[definition(unit="weeks")]),
        rule_set(definitions=[definition(subject_kind="ticket")]),
        rule_set(definitions=[definition(name="bad name")]),
        rule_set(extra="x"),
    ],
)
async def test_malformed_rule_sets_are_422(client: AsyncClient, body: dict[str, Any]) -> None:
    assert (await client.post("/v1/rule-sets", json=body)).status_code == 422


async def test_current_rule_set_is_chosen_by_date(
    client: AsyncClient, session: AsyncSession
) -> None:
    assert (await rule_sets.current_rule_set(session, dt.date(2026, 12, 31))).version == 1
    await client.post("/v1/rule-sets", json=rule_set())
    assert (await rule_sets.current_rule_set(session, dt.date(2026, 12, 31))).version == 1
    assert (await rule_sets.current_rule_set(session, dt.date(2027, 1, 1))).version == 2
    with pytest.raises(NoRuleSetInForce):
        await rule_sets.current_rule_set(session, dt.date(2019, 1, 1))
