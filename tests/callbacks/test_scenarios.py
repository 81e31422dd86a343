"""Callbacks through the HTTP API: scheduling, the queue, attempts and the contact policy,
completion records, holds, release and cancel. The clock is frozen at Beijing times."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.access.models import Team, User
from app.core.clock import BUSINESS_TZ
from app.org.models import Branch
from tests.callbacks.helpers import (
    PHONE,
    act,
    at_local,
    claim,
    no_answer,
    payload,
    reached,
    schedule,
)
from tests.conftest import Actor, add_actor

pytestmark = pytest.mark.usefixtures("client")


@pytest.fixture
async def agent(app: FastAPI, session_factory: async_sessionmaker[AsyncSession]) -> Actor:
    return await add_actor(app, session_factory, role="agent")


async def _colleague(
    app: FastAPI, factory: async_sessionmaker[AsyncSession], of: Actor, role: str = "agent"
) -> Actor:
    async with factory() as session:
        branch = await session.get_one(Branch, of.user.branch_id)
    return await add_actor(app, factory, role=role, branch=branch)


@pytest.fixture
async def other_agent(
    app: FastAPI, session_factory: async_sessionmaker[AsyncSession], agent: Actor
) -> Actor:
    return await _colleague(app, session_factory, agent)


@pytest.fixture
async def supervisor(
    app: FastAPI, session_factory: async_sessionmaker[AsyncSession], agent: Actor
) -> Actor:
    return await _colleague(app, session_factory, agent, role="supervisor")


async def test_schedule_by_hand_masks_the_customer_and_replays_with_the_same_key(
    client: AsyncClient, agent: Actor
) -> None:
    headers = {**agent.headers, "Idempotency-Key": "cb-schedule-0001"}
    with at_local("2026-03-10T10:00"):
        first = await client.post("/v1/callbacks", json=payload(), headers=headers)
        again = await client.post("/v1/callbacks", json=payload(), headers=headers)
    assert first.status_code == again.status_code == 201, first.text
    assert again.headers["Idempotent-Replayed"] == "true"
    body = first.json()
    assert again.json()["id"] == body["id"]
    assert first.headers["ETag"] == '"v1"'
    assert body["state"] == "scheduled"
    assert body["number"].startswith("HF20260310")
    assert body["customer"] == {"name": "李**", "phones": ["138****8000"], "revealed": []}
    assert body["current_method"] == "phone"
    assert body["next_attempt_at"] == body["not_before"] == "2026-03-10T02:00:00Z"
    timeline = await client.get(f"/v1/callbacks/{body['id']}/timeline", headers=agent.headers)
    assert [e["action"] for e in timeline.json()["items"]] == ["schedule"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"policy_number": None}, None),
        ({"due_at": "2026-03-10T09:00:00+08:00"}, "due_at"),
        ({"customer": {"name": "王五", "phones": ["12345"]}}, "customer.phones[0]"),
        ({"priority": 9}, None),
    ],
)
async def test_invalid_schedules_are_422(
    client: AsyncClient, agent: Actor, overrides: dict[str, Any], field: str | None
) -> None:
    with at_local("2026-03-10T10:00"):
        response = await client.post(
            "/v1/callbacks", json=payload(**overrides), headers=agent.headers
        )
    assert response.status_code == 422, response.text
    if field is not None:
        assert response.json()["field"] == field


async def test_the_queue_offers_the_most_urgent_then_holds_it_for_one_agent(
    client: AsyncClient, agent: Actor, other_agent: Actor
) -> None:
    with at_local("2026-03-10T10:00"):
        later = await schedule(client, agent.headers, due_at="2026-03-13T00:00:00+08:00")
        urgent_low = await schedule(
            client, agent.headers, due_at="2026-03-12T00:00:00+08:00", priority=4
        )
        urgent_high = await schedule(
            client, agent.headers, due_at="2026-03-12T00:00:00+08:00", priority=1
        )
        first = await claim(client, agent.headers)
        again = await claim(client, agent.headers)
        second = await claim(client, other_agent.headers)
    assert first.status_code == 200, first.text
    assert first.json()["id"] == urgent_high["id"]
    assert first.json()["state"] == "in_progress"
    assert first.json()["assignee_id"] == str(agent.id)
    assert first.json()["held_until"] == "2026-03-10T02:15:00Z"  # 15 minutes
    assert again.json()["id"] == urgent_high["id"]  # one hold per agent: a retry gets it again
    assert second.json()["id"] == urgent_low["id"]
    with at_local("2026-03-10T10:01"):
        third = await claim(client, other_agent.headers)
    assert third.json()["id"] == urgent_low["id"]
    assert later["state"] == "scheduled"


async def test_nothing_is_offered_outside_callable_hours_or_before_the_window(
    client: AsyncClient, agent: Actor
) -> None:
    with at_local("2026-03-10T22:00"):
        created = await schedule(client, agent.headers)
        late = await schedule(client, agent.headers, not_before="2026-03-11T10:00:00+08:00")
    with at_local("2026-03-10T23:00"):
        assert (await claim(client, agent.headers)).status_code == 204
    with at_local("2026-03-11T08:59"):
        assert (await claim(client, agent.headers)).status_code == 204
    with at_local("2026-03-11T09:00"):
        offered = await claim(client, agent.headers)
        assert offered.json()["id"] == created["id"]
        assert (await claim(client, agent.headers)).json()["id"] == created["id"]
    assert late["next_attempt_at"] == "2026-03-11T02:00:00Z"


async def test_working_days_only_kinds_wait_for_a_working_day(
    client: AsyncClient, agent: Actor
) -> None:
    with at_local("2025-09-30T17:00"):
        created = await schedule(
            client, agent.headers, kind="complaint_followup", due_at="2025-10-15T00:00:00+08:00"
        )
    for holiday in ("2025-10-01T10:00", "2025-10-08T10:00", "2025-10-12T10:00"):  # off, Sunday
        with at_local(holiday):
            assert (await claim(client, agent.headers)).status_code == 204, holiday
    with at_local("2025-10-11T10:00"):  # Saturday, a make-up working day
        assert (await claim(client, agent.headers, kind="complaint_followup")).json()[
            "id"
        ] == created["id"]


async def test_the_fallback_sequence_is_followed_attempt_by_attempt_to_unreachable(
    client: AsyncClient, agent: Actor
) -> None:
    """satisfaction: phone ×3, then an SMS questionnaire, then an online one; 2 hours apart;
    09:00–20:00 every day."""
    with at_local("2026-03-10T18:00"):
        created = await schedule(client, agent.headers)
    now = "2026-03-10T18:00"
    # (method of this attempt, next attempt expected, next method)
    plan = [
        ("phone", "2026-03-11T01:00:00Z", "phone"),  # 18:00 + 2 h = 20:00: closed → 09:00
        ("phone", "2026-03-11T03:00:00Z", "phone"),
        ("phone", "2026-03-11T05:00:00Z", "sms_questionnaire"),  # phone used up
        ("sms_questionnaire", "2026-03-11T07:00:00Z", "online_questionnaire"),
        ("online_questionnaire", None, None),
    ]
    for number, (method, next_at, next_method) in enumerate(plan, start=1):
        with at_local(now):
            held = await claim(client, agent.headers)
            assert held.status_code == 200, (number, held.text)
            assert held.json()["current_method"] == method
            done = await act(client, agent.headers, held.json(), "attempts", no_answer(method))
        assert done.status_code == 200, done.text
        body = done.json()
        assert body["attempts_made"] == number
        if next_at is None:
            assert body["state"] == "unreachable"
            assert body["outcome"] == "unreachable"
            break
        assert body["state"] == "rescheduled"
        assert body["next_attempt_at"] == next_at
        assert body["current_method"] == next_method
        with at_local(now):  # not offered again before the spacing has passed
            assert (await claim(client, agent.headers)).status_code == 204
        now = _local_text(next_at)
    timeline = await client.get(f"/v1/callbacks/{created['id']}/timeline", headers=agent.headers)
    actions = [e["action"] for e in timeline.json()["items"]]
    assert actions == ["schedule"] + ["claim", "attempt"] * 5
    assert timeline.json()["items"][-1]["to_status"] == "unreachable"


def _local_text(utc_text: str) -> str:
    instant = dt.datetime.fromisoformat(utc_text.replace("Z", "+00:00"))
    return instant.astimezone(BUSINESS_TZ).strftime("%Y-%m-%dT%H:%M")


async def test_wrong_number_on_phone_moves_to_the_next_method(
    client: AsyncClient, agent: Actor
) -> None:
    with at_local("2026-03-10T10:00"):
        await schedule(client, agent.headers)
        held = (await claim(client, agent.headers)).json()
        done = await act(
            client, agent.headers, held, "attempts", {"method": "phone", "outcome": "wrong_number"}
        )
    assert done.json()["current_method"] == "sms_questionnaire"
    assert done.json()["state"] == "rescheduled"
    with at_local("2026-03-10T12:00"):
        held = (await claim(client, agent.headers)).json()
        back = await act(client, agent.headers, held, "attempts", no_answer("phone"))
    assert back.status_code == 422
    assert back.json()["field"] == "method"


async def test_only_the_holder_records_attempts_with_the_current_version(
    client: AsyncClient, agent: Actor, other_agent: Actor
) -> None:
    with at_local("2026-03-10T10:00"):
        created = await schedule(client, agent.headers)
        unclaimed = await act(client, agent.headers, created, "attempts", no_answer())
        held = (await claim(client, agent.headers)).json()
        stranger = await act(client, other_agent.headers, held, "attempts", no_answer())
        stale = await act(client, agent.headers, held, "attempts", no_answer(), etag='"v1"')
        missing = await client.post(
            f"/v1/callbacks/{held['id']}/attempts", json=no_answer(), headers=agent.headers
        )
        actions = await client.get(f"/v1/callbacks/{held['id']}/actions", headers=agent.headers)
        others = await client.get(
            f"/v1/callbacks/{held['id']}/actions", headers=other_agent.headers
        )
    assert (unclaimed.status_code, unclaimed.json()["code"]) == (409, "invalid_transition")
    assert (stranger.status_code, stranger.json()["code"]) == (409, "not_holder")
    assert (stale.status_code, missing.status_code) == (412, 428)
    assert [a["action"] for a in actions.json()] == ["attempt", "release", "cancel"]
    assert actions.json()[0]["href"] == f"/v1/callbacks/{held['id']}/attempts"
    assert [a["action"] for a in others.json()] == ["cancel"]


async def test_an_expired_hold_returns_the_callback_to_the_queue(
    client: AsyncClient, agent: Actor, other_agent: Actor
) -> None:
    with at_local("2026-03-10T10:00"):
        created = await schedule(client, agent.headers)
        first = (await claim(client, agent.headers)).json()
    with at_local("2026-03-10T10:14"):
        assert (await claim(client, other_agent.headers)).status_code == 204
    with at_local("2026-03-10T10:16"):
        taken = await claim(client, other_agent.headers)
        late = await act(client, agent.headers, taken.json(), "attempts", no_answer())
    assert taken.json()["id"] == created["id"]
    assert taken.json()["assignee_id"] == str(other_agent.id)
    assert taken.json()["version"] == first["version"] + 1
    assert (late.status_code, late.json()["code"]) == (409, "not_holder")
    timeline = await client.get(f"/v1/callbacks/{created['id']}/timeline", headers=agent.headers)
    claims = [e for e in timeline.json()["items"] if e["action"] == "claim"]
    assert claims[1]["data"]["expired_hold_of"] == str(agent.id)


async def test_an_expired_hold_may_still_be_used_by_its_agent_if_nobody_took_it(
    client: AsyncClient, agent: Actor
) -> None:
    with at_local("2026-03-10T10:00"):
        await schedule(client, agent.headers)
        held = (await claim(client, agent.headers)).json()
    with at_local("2026-03-10T10:40"):
        done = await act(client, agent.headers, held, "attempts", no_answer())
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "rescheduled"


async def test_release_gives_the_hold_back_and_supervisors_may_release_anyones(
    client: AsyncClient, agent: Actor, other_agent: Actor, supervisor: Actor
) -> None:
    with at_local("2026-03-10T10:00"):
        created = await schedule(client, agent.headers)
        held = (await claim(client, agent.headers)).json()
        refused = await act(client, other_agent.headers, held, "release")
        released = await act(client, agent.headers, held, "release", {"reason": "午休"})
        assert released.json()["state"] == "scheduled"
        assert released.json()["held_until"] is None
        again = (await claim(client, other_agent.headers)).json()
        by_supervisor = await act(client, supervisor.headers, again, "release")
    assert refused.status_code == 409
    assert again["id"] == created["id"]
    assert by_supervisor.status_code == 200
    assert by_supervisor.json()["state"] == "scheduled"


async def test_reached_completes_with_the_written_record(client: AsyncClient, agent: Actor) -> None:
    with at_local("2026-03-10T10:00"):
        created = await schedule(client, agent.headers)
        held = (await claim(client, agent.headers)).json()
        no_score = await act(client, agent.headers, held, "attempts", reached())
        done = await act(client, agent.headers, held, "attempts", reached(satisfaction=5))
        after = await act(client, agent.headers, done.json(), "attempts", no_answer())
    assert (no_score.status_code, no_score.json()["field"]) == (422, "completion.satisfaction")
    body = done.json()
    assert body["state"] == "completed"
    assert body["outcome"] == "reached"
    assert body["closed_at"] == "2026-03-10T02:00:00Z"
    assert body["completion"]["satisfaction"] == 5
    assert body["completion"]["questionnaire_code"] == "satisfaction_v1"
    assert body["completion"]["problem_found"] is False
    assert body["attempts"][0]["recording_ref"] == "rec-0001"
    assert after.status_code == 409
    assert created["id"] == body["id"]


async def test_refused_ends_it_completed_refused(client: AsyncClient, agent: Actor) -> None:
    with at_local("2026-03-10T10:00"):
        await schedule(client, agent.headers)
        held = (await claim(client, agent.headers)).json()
        done = await act(
            client,
            agent.headers,
            held,
            "attempts",
            {"method": "phone", "outcome": "refused", "notes": "客户表示不需要回访"},
        )
    assert done.json()["state"] == "completed"
    assert done.json()["outcome"] == "refused"
    assert done.json()["completion"]["outcome"] == "refused"


async def test_new_policy_questionnaire_requires_every_confirmation(
    client: AsyncClient, agent: Actor
) -> None:
    confirmations = {
        "signed_personally": True,
        "policy_received": True,
        "knows_cooling_off_period": True,
        "understands_surrender_loss": True,
        "knows_payment_term": True,
    }
    with at_local("2026-03-10T10:00"):
        await schedule(client, agent.headers, kind="new_policy")
        held = (await claim(client, agent.headers)).json()
        incomplete = {k: v for k, v in confirmations.items() if k != "knows_cooling_off_period"}
        missing = await act(client, agent.headers, held, "attempts", reached(incomplete))
        unreported = await act(
            client,
            agent.headers,
            held,
            "attempts",
            reached({**confirmations, "signed_personally": False}),
        )
        done = await act(client, agent.headers, held, "attempts", reached(confirmations))
    assert missing.status_code == 422
    assert missing.json()["field"] == "completion.answers.knows_cooling_off_period"
    assert missing.json()["errors"][0]["loc"] == [
        "body",
        "completion",
        "answers",
        "knows_cooling_off_period",
    ]
    assert (unreported.status_code, unreported.json()["code"]) == (422, "unreported_finding")
    assert unreported.json()["findings"] == ["signed_personally"]
    assert done.json()["state"] == "completed"


async def test_a_problem_found_opens_a_follow_up_with_a_five_working_day_clock(
    client: AsyncClient, agent: Actor
) -> None:
    with at_local("2025-09-30T10:00"):
        parent = await schedule(client, agent.headers, due_at="2025-10-09T00:00:00+08:00")
        held = (await claim(client, agent.headers)).json()
        done = await act(
            client,
            agent.headers,
            held,
            "attempts",
            reached(
                {"service_completed": False, "staff_courteous": True},
                satisfaction=2,
                problem_found=True,
                problem_description="保全变更一个月未办结",
            ),
        )
    assert done.status_code == 200, done.text
    follow_up_id = done.json()["completion"]["follow_up_id"]
    follow_up = (await client.get(f"/v1/callbacks/{follow_up_id}", headers=agent.headers)).json()
    assert follow_up["kind"] == "consumer_protection"
    assert follow_up["origin"] == "problem_found"
    assert (follow_up["ticket_kind"], follow_up["ticket_id"]) == ("callback", parent["id"])
    assert follow_up["priority"] == 1
    assert follow_up["customer"]["phones"] == ["138****8000"]
    [clock] = follow_up["clocks"]
    assert clock["name"] == "callback_problem_follow_up"
    # Five working days from Tue 2025-09-30: Oct 9, 10, 11 (Sat, make-up), 13, 14.
    assert clock["due_at"] == follow_up["due_at"] == "2025-10-14T16:00:00Z"
    with at_local("2025-10-13T11:00"):
        held = (await claim(client, agent.headers)).json()
        assert held["id"] == follow_up_id
        answered = await act(
            client,
            agent.headers,
            held,
            "attempts",
            reached({"problem_resolved": True, "rights_explained": True}, satisfaction=5),
        )
    assert answered.json()["clocks"][0]["outcome"] == "met"


async def test_cancel_ends_it_and_cancels_its_clocks(client: AsyncClient, agent: Actor) -> None:
    with at_local("2026-03-10T10:00"):
        created = await schedule(client, agent.headers)
        cancelled = await act(
            client, agent.headers, created, "cancel", {"reason": "犹豫期内已退保"}
        )
        again = await act(client, agent.headers, cancelled.json(), "cancel", {"reason": "x"})
        assert (await claim(client, agent.headers)).status_code == 204
    assert cancelled.json()["state"] == "cancelled"
    assert cancelled.json()["outcome"] == "cancelled"
    assert again.status_code == 409


async def test_reveal_is_audited_and_needs_pii_read(
    client: AsyncClient,
    agent: Actor,
    app: FastAPI,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    inspector = await _colleague(app, session_factory, agent, role="quality_inspector")
    with at_local("2026-03-10T10:00"):
        created = await schedule(client, agent.headers)
    url = f"/v1/callbacks/{created['id']}"
    shown = await client.get(url, params={"reveal": "phone,name"}, headers=agent.headers)
    assert shown.json()["customer"] == {
        "name": "李小龙",
        "phones": [PHONE],
        "revealed": ["name", "phone"],
    }
    refused = await client.get(url, params={"reveal": "phone"}, headers=inspector.headers)
    assert refused.status_code == 403
    assert (await client.get(url, headers=inspector.headers)).status_code == 200


async def test_other_branches_see_nothing(
    client: AsyncClient,
    agent: Actor,
    app: FastAPI,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    stranger = await add_actor(app, session_factory, role="supervisor")
    with at_local("2026-03-10T10:00"):
        created = await schedule(client, agent.headers)
        assert (await claim(client, stranger.headers)).status_code == 204
        cancel = await act(client, stranger.headers, created, "cancel", {"reason": "x"})
    url = f"/v1/callbacks/{created['id']}"
    for path in (url, f"{url}/timeline", f"{url}/actions"):
        assert (await client.get(path, headers=stranger.headers)).status_code == 404
    assert cancel.status_code == 404
    listed = await client.get("/v1/callbacks", headers=stranger.headers)
    assert listed.json()["items"] == []


async def test_list_filters_and_pages_in_due_order(client: AsyncClient, agent: Actor) -> None:
    with at_local("2026-03-10T10:00"):
        days = ["2026-03-14", "2026-03-12", "2026-03-13"]
        made = [
            await schedule(client, agent.headers, due_at=f"{day}T00:00:00+08:00") for day in days
        ]
        await schedule(client, agent.headers, kind="claim_paid")
        held = (await claim(client, agent.headers, kind="satisfaction")).json()
    first = await client.get(
        "/v1/callbacks", params={"kind": "satisfaction", "limit": 2}, headers=agent.headers
    )
    assert [i["id"] for i in first.json()["items"]] == [made[1]["id"], made[2]["id"]]
    assert first.json()["items"][0]["customer_name"] == "李**"
    second = await client.get(
        "/v1/callbacks",
        params={"kind": "satisfaction", "limit": 2, "cursor": first.json()["next_cursor"]},
        headers=agent.headers,
    )
    assert [i["id"] for i in second.json()["items"]] == [made[0]["id"]]
    assert second.json()["next_cursor"] is None
    mine = await client.get(
        "/v1/callbacks",
        params={"assignee_id": str(agent.id), "state": "in_progress"},
        headers=agent.headers,
    )
    assert [i["id"] for i in mine.json()["items"]] == [held["id"]]
    due_soon = await client.get(
        "/v1/callbacks", params={"due_before": "2026-03-13T00:00:00+08:00"}, headers=agent.headers
    )
    assert [i["id"] for i in due_soon.json()["items"]] == [made[1]["id"]]


async def test_policies_are_published_as_data(client: AsyncClient, agent: Actor) -> None:
    response = await client.get("/v1/callbacks/policies", headers=agent.headers)
    policies = {p["kind"]: p for p in response.json()}
    assert len(policies) == 8
    new_policy = policies["new_policy"]
    assert [s["method"] for s in new_policy["steps"]] == ["phone", "sms_questionnaire", "on_site"]
    codes = {i["code"] for i in new_policy["questionnaire"]["items"] if i["required"]}
    assert {"signed_personally", "knows_cooling_off_period", "understands_surrender_loss"} <= codes


async def test_attempts_are_append_only(
    client: AsyncClient, agent: Actor, session: AsyncSession
) -> None:
    with at_local("2026-03-10T10:00"):
        await schedule(client, agent.headers)
        held = (await claim(client, agent.headers)).json()
        await act(client, agent.headers, held, "attempts", no_answer())
    for statement in (
        "UPDATE callback_attempts SET outcome = 'reached'",
        "DELETE FROM callback_attempts",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with session.begin_nested():
                await session.execute(text(statement))


async def test_a_team_routed_callback_goes_to_that_teams_queue(
    client: AsyncClient,
    agent: Actor,
    other_agent: Actor,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        team = Team(id=uuid.uuid4(), branch_id=agent.user.branch_id, code="T1", name="续期组")
        session.add(team)
        await session.flush()
        member = await session.get_one(User, other_agent.id)
        member.team_id = team.id
        await session.commit()
    with at_local("2026-03-10T10:00"):
        routed = await schedule(client, agent.headers, team_id=str(team.id))
        assert (await claim(client, agent.headers)).status_code == 204  # not in the team
        offered = await claim(client, other_agent.headers)
        assert offered.json()["id"] == routed["id"]
        unrouted = await schedule(client, agent.headers)
        assert (await claim(client, agent.headers, team_id=str(team.id))).status_code == 204
        assert (await claim(client, agent.headers)).json()["id"] == unrouted["id"]
