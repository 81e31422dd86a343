"""Claim reports: taken by agents, driven by the claims system's pushes, with the Insurance
Law clocks; branch scoping and who may push."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import frozen_at
from app.org.models import Branch
from tests.conftest import Actor, add_actor, add_branch
from tests.intake.helpers import api_key, clock

pytestmark = pytest.mark.usefixtures("client")

REPORTED = datetime(2026, 11, 20, 1, 5, tzinfo=UTC)  # Friday 09:05 in Beijing
COMPLETE = "2026-11-24T10:00:00+08:00"


@pytest.fixture
async def branch(session_factory: async_sessionmaker[AsyncSession]) -> Branch:
    return await add_branch(session_factory)


@pytest.fixture
async def agent(
    app: FastAPI, session_factory: async_sessionmaker[AsyncSession], branch: Branch
) -> Actor:
    return await add_actor(app, session_factory, role="agent", branch=branch)


@pytest.fixture
async def claims_system(client: AsyncClient, admin: Actor) -> dict[str, str]:
    return await api_key(client, admin.headers, role="integration")


async def _report(client: AsyncClient, agent: Actor, **overrides: Any) -> dict[str, Any]:
    body = {"channel": "hotline", "caller_phone": "13800138000", "description": "追尾事故"}
    with frozen_at(REPORTED):
        response = await client.post(
            "/v1/claim-reports", json={**body, **overrides}, headers=agent.headers
        )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _push(
    client: AsyncClient,
    headers: dict[str, str],
    report: dict[str, Any],
    event: str,
    at: datetime = datetime(2026, 12, 31, tzinfo=UTC),
    **fields: Any,
) -> Response:
    with frozen_at(at):
        return await client.post(
            f"/v1/claim-reports/{report['id']}/status",
            json={"event": event, **fields},
            headers=headers,
        )


async def test_approved_claim_runs_every_clock_to_payment(
    client: AsyncClient, agent: Actor, claims_system: dict[str, str]
) -> None:
    report = await _report(client, agent)
    assert report["status"] == "reported"
    assert report["number"].startswith("CR20261120")

    steps: list[tuple[str, dict[str, Any]]] = [
        ("handed_off", {"claim_number": "LP-2026-0001"}),
        ("documents_requested", {"missing_documents": ["事故认定书", "维修发票"]}),
        ("documents_complete", {"occurred_at": COMPLETE}),
        ("decided", {"decision": "approved", "occurred_at": "2026-12-01T10:00:00+08:00"}),
        ("agreement_reached", {"amount": "8800.00", "occurred_at": "2026-12-02T10:00:00+08:00"}),
        ("paid", {"amount": "8800.00", "occurred_at": "2026-12-08T10:00:00+08:00"}),
        ("closed", {}),
    ]
    state = report
    for event, fields in steps:
        response = await _push(client, claims_system, state, event, **fields)
        assert response.status_code == 200, (event, response.text)
        state = response.json()
        if event == "documents_complete":
            assert clock(state, "claim_decision")["due_date"] == "2026-12-24"
            advance = clock(state, "claim_advance_payment")
            assert advance["due_date"] == "2027-01-25"  # Sat Jan 23 rolls on; 2027 not loaded
            assert advance["provisional"] is True
        if event == "agreement_reached":
            assert clock(state, "claim_payment")["due_date"] == "2026-12-14"  # Sat 12th rolls on
    assert state["status"] == "closed"
    assert state["claim_number"] == "LP-2026-0001"
    assert state["paid_amount"] == "8800.00"
    outcomes = {c["name"]: c["outcome"] for c in state["clocks"]}
    assert outcomes == {
        "claim_decision": "met",
        "claim_advance_payment": "met",
        "claim_payment": "met",
    }
    timeline = await client.get(f"/v1/claim-reports/{report['id']}/timeline", headers=agent.headers)
    assert [e["action"] for e in timeline.json()["items"]] == ["register"] + [s[0] for s in steps]


async def test_declined_claim_owes_a_refusal_notice_in_three_days(
    client: AsyncClient, agent: Actor, claims_system: dict[str, str]
) -> None:
    report = await _report(client, agent)
    await _push(client, claims_system, report, "handed_off", claim_number="LP-2026-0002")
    await _push(client, claims_system, report, "documents_complete", occurred_at=COMPLETE)
    decided = await _push(
        client,
        claims_system,
        report,
        "decided",
        decision="declined",
        reason="不属于保险责任",
        occurred_at="2026-11-26T10:00:00+08:00",
    )
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert clock(body, "claim_refusal_notice")["due_date"] == "2026-11-30"  # Sun 29th rolls on
    assert clock(body, "claim_advance_payment")["outcome"] == "cancelled"
    not_now = await _push(client, claims_system, report, "agreement_reached", amount="1.00")
    assert not_now.status_code == 409
    notified = await _push(client, claims_system, report, "refusal_notified")
    assert notified.json()["status"] == "closed"
    assert clock(notified.json(), "claim_refusal_notice")["outcome"] == "met_late"


async def test_illegal_and_invalid_pushes(
    client: AsyncClient, agent: Actor, claims_system: dict[str, str]
) -> None:
    report = await _report(client, agent)
    early = await _push(client, claims_system, report, "paid", amount="1.00")
    assert early.status_code == 409
    assert early.json()["code"] == "invalid_transition"
    no_number = await _push(client, claims_system, report, "handed_off")
    assert no_number.status_code == 422
    await _push(client, claims_system, report, "handed_off", claim_number="LP-2026-0003")
    await _push(client, claims_system, report, "documents_complete", occurred_at=COMPLETE)
    no_reason = await _push(client, claims_system, report, "decided", decision="declined")
    assert no_reason.status_code == 422
    future = await _push(
        client,
        claims_system,
        report,
        "decided",
        decision="approved",
        occurred_at="2030-01-01T00:00:00+08:00",
    )
    assert future.status_code == 422
    assert future.json()["field"] == "occurred_at"
    other = await _report(client, agent)
    taken = await _push(client, claims_system, other, "handed_off", claim_number="LP-2026-0003")
    assert taken.status_code == 409
    assert taken.json()["field"] == "claim_number"


async def test_push_by_report_number_with_idempotency_and_if_match(
    client: AsyncClient, agent: Actor, claims_system: dict[str, str]
) -> None:
    report = await _report(client, agent)
    url = f"/v1/claim-reports/by-number/{report['number']}/status"
    body = {"event": "handed_off", "claim_number": "LP-2026-0004"}
    headers = {**claims_system, "Idempotency-Key": "push-0004-handed-off"}
    stale = await client.post(url, json=body, headers={**claims_system, "If-Match": '"v9"'})
    first = await client.post(url, json=body, headers=headers)
    again = await client.post(url, json=body, headers=headers)
    assert stale.status_code == 412
    assert first.status_code == 200, first.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["version"] == first.json()["version"] == 2
    missing = await client.post(
        "/v1/claim-reports/by-number/CR00000000000000/status", json=body, headers=claims_system
    )
    assert missing.status_code == 404


async def test_who_may_push(
    client: AsyncClient,
    agent: Actor,
    admin: Actor,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    report = await _report(client, agent)
    other_branch = await add_branch(session_factory)
    bound_elsewhere = await api_key(
        client, admin.headers, role="integration", branch_id=other_branch.id
    )
    ivr = await api_key(client, admin.headers)
    body = {"claim_number": "LP-2026-0005"}
    assert (await _push(client, agent.headers, report, "handed_off", **body)).status_code == 403
    assert (await _push(client, ivr, report, "handed_off", **body)).status_code == 403
    assert (await _push(client, bound_elsewhere, report, "handed_off", **body)).status_code == 404


async def test_allowed_events_and_branch_scoping(
    client: AsyncClient,
    app: FastAPI,
    agent: Actor,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    report = await _report(client, agent)
    allowed = await client.get(f"/v1/claim-reports/{report['id']}/actions", headers=agent.headers)
    assert [a["event"] for a in allowed.json()] == ["handed_off", "cancelled"]
    stranger = await add_actor(app, session_factory, role="agent")
    url = f"/v1/claim-reports/{report['id']}"
    for path in (url, f"{url}/timeline", f"{url}/actions"):
        assert (await client.get(path, headers=stranger.headers)).status_code == 404, path
    mine = await client.get(
        "/v1/claim-reports", params={"phone": "+8613800138000"}, headers=agent.headers
    )
    theirs = await client.get(
        "/v1/claim-reports", params={"phone": "+8613800138000"}, headers=stranger.headers
    )
    assert [r["id"] for r in mine.json()["items"]] == [report["id"]]
    assert theirs.json()["items"] == []


async def test_a_paid_claim_is_called_back_ten_working_days_later(
    client: AsyncClient, agent: Actor, claims_system: dict[str, str]
) -> None:
    report = await _report(client, agent)
    paid_at = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)  # Tuesday 10:00 in Beijing
    steps: list[tuple[str, dict[str, Any]]] = [
        ("handed_off", {"claim_number": "LP-2026-0002"}),
        ("documents_complete", {"occurred_at": COMPLETE}),
        ("decided", {"decision": "approved", "occurred_at": "2026-12-01T10:00:00+08:00"}),
        ("agreement_reached", {"amount": "500.00", "occurred_at": "2026-12-02T10:00:00+08:00"}),
    ]
    for event, fields in steps:
        pushed = await _push(client, claims_system, report, event, at=paid_at, **fields)
        assert pushed.status_code == 200, (event, pushed.text)
    listed = await client.get("/v1/callbacks", headers=agent.headers)  # the agent's own branch
    assert [c for c in listed.json()["items"] if c["kind"] == "claim_paid"] == []

    paid = await _push(client, claims_system, report, "paid", at=paid_at, amount="500.00")
    assert paid.status_code == 200, paid.text
    listed = await client.get("/v1/callbacks", headers=agent.headers)
    mine = [c for c in listed.json()["items"] if c["kind"] == "claim_paid"]
    assert len(mine) == 1
    callback = (await client.get(f"/v1/callbacks/{mine[0]['id']}", headers=agent.headers)).json()
    assert (callback["ticket_kind"], callback["ticket_id"]) == ("claim_report", report["id"])
    # Ten working days after Tuesday 8 December: Tuesday 22 December, 24:00 Beijing time.
    assert callback["due_at"] == "2026-12-22T16:00:00Z"
    assert callback["customer"]["phones"] == ["138****8000"]  # the reporting caller's phone


async def test_a_blank_if_match_on_a_push_is_no_condition(
    client: AsyncClient, agent: Actor, claims_system: dict[str, str]
) -> None:
    """If-Match is optional here; a blank one names no version, like a missing one (it was
    428 ``if_match_required``, a status this operation does not document)."""
    report = await _report(client, agent)
    pushed = await client.post(
        f"/v1/claim-reports/{report['id']}/status",
        json={"event": "handed_off", "claim_number": "LP-2026-0005"},
        headers={**claims_system, "If-Match": " "},
    )
    assert pushed.status_code == 200, pushed.text
