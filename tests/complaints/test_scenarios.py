"""The regulated complaint process, scenario by scenario, through the HTTP API."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import frozen_at
from tests.complaints.helpers import SMS_FAILED, SMS_SENT, WRITTEN, act, clock, register
from tests.conftest import Actor, add_actor

pytestmark = pytest.mark.usefixtures("client")


@pytest.fixture
async def agent(app: FastAPI, session_factory: async_sessionmaker[AsyncSession]) -> Actor:
    return await add_actor(app, session_factory, role="agent")


@pytest.fixture
async def supervisor(
    app: FastAPI, session_factory: async_sessionmaker[AsyncSession], agent: Actor
) -> Actor:
    from app.org.models import Branch

    async with session_factory() as session:
        branch = await session.get_one(Branch, agent.user.branch_id)
    return await add_actor(app, session_factory, role="supervisor", branch=branch)


BACKDATE = {"received_at_reason": "letter postmarked earlier"}


async def _accepted(client: AsyncClient, agent: Actor, **overrides: object) -> dict[str, object]:
    created = await register(client, agent.headers, materials_complete=True, **overrides)
    accepted = await act(client, agent.headers, created, "accept", {"notice": SMS_SENT})
    assert accepted.status_code == 200, accepted.text
    return dict(accepted.json())


async def test_incomplete_materials_supplement_due_in_five_working_days(
    client: AsyncClient, agent: Actor
) -> None:
    created = await register(
        client, agent.headers, received_at="2025-09-30T10:00:00+08:00", **BACKDATE
    )
    body = created.json()
    assert body["status"] == "registered"
    supplement = clock(body, "C2_supplement_or_confirm")
    assert supplement["due_date"] == "2025-10-14"  # Oct 9, 10, 11 (Sat, make-up), 13, 14
    assert supplement["due_at"] == "2025-10-14T16:00:00Z"  # 24:00 Beijing time
    assert clock(body, "C7_handling_decision")["due_date"] == "2025-10-15"


async def test_complete_materials_start_the_ten_working_day_acceptance_clock(
    client: AsyncClient, agent: Actor
) -> None:
    created = await register(
        client, agent.headers, received_at="2026-09-25T09:00:00+08:00", **BACKDATE
    )
    notice = {**SMS_SENT, "sent_at": "2026-09-28T11:00:00+08:00"}
    waiting = await act(
        client,
        agent.headers,
        created,
        "request-materials",
        {"missing": ["保单复印件", "身份证复印件"], "notice": notice},
    )
    assert waiting.status_code == 200, waiting.text
    assert clock(waiting, "C2_supplement_or_confirm")["outcome"] == "met"
    complete = await act(
        client,
        agent.headers,
        waiting,
        "receive-materials",
        {"received": ["保单复印件", "身份证复印件"], "received_at": "2026-09-30T15:00:00+08:00"},
    )
    assert complete.status_code == 200, complete.text
    assert complete.json()["status"] == "under_review"
    assert clock(complete, "C3_acceptance_notice")["due_date"] == "2026-10-20"


async def test_incomplete_receipt_keeps_waiting_with_the_new_missing_list(
    client: AsyncClient, agent: Actor
) -> None:
    created = await register(client, agent.headers)
    waiting = await act(
        client,
        agent.headers,
        created,
        "request-materials",
        {"missing": ["A", "B"], "notice": SMS_SENT},
    )
    partial = await act(
        client,
        agent.headers,
        waiting,
        "receive-materials",
        {"received": ["A"], "still_missing": ["B"]},
    )
    assert partial.status_code == 200
    assert partial.json()["status"] == "awaiting_materials"
    assert partial.json()["materials_missing"] == ["B"]
    assert all(c["name"] != "C3_acceptance_notice" for c in partial.json()["clocks"])


async def test_failed_sms_does_not_stop_the_clock_a_resend_does(
    client: AsyncClient, agent: Actor
) -> None:
    created = await register(client, agent.headers)
    failed = await act(
        client,
        agent.headers,
        created,
        "request-materials",
        {"missing": ["A"], "notice": SMS_FAILED},
    )
    assert failed.status_code == 200
    assert clock(failed, "C2_supplement_or_confirm")["state"] == "running"
    assert failed.json()["notices"][0]["counted"] is False
    resent = await act(
        client, agent.headers, failed, "request-materials", {"missing": ["A"], "notice": WRITTEN}
    )
    assert clock(resent, "C2_supplement_or_confirm")["state"] == "stopped"


async def test_extension_to_sixty_days_needs_a_supervisor(
    client: AsyncClient, agent: Actor, supervisor: Actor
) -> None:
    complaint = await _accepted(client, agent)
    body = {"to_days": 60, "reason": "especially complex", "approver": "王经理", "notice": WRITTEN}
    refused = await act(client, agent.headers, complaint, "extend", body)
    assert refused.status_code == 403
    thirty = await act(
        client, agent.headers, complaint, "extend", {"to_days": 30, "reason": "complex case"}
    )
    assert thirty.status_code == 200, thirty.text
    sixty = await act(client, supervisor.headers, thirty, "extend", body)
    assert sixty.status_code == 200, sixty.text
    assert sixty.json()["handling_limit_days"] == 60
    no_approver = await act(
        client, supervisor.headers, sixty, "extend", {"to_days": 60, "reason": "x"}
    )
    assert no_approver.status_code == 422


async def test_appraisal_pause_moves_the_decision_due_date(
    client: AsyncClient, agent: Actor
) -> None:
    with frozen_at_local("2026-09-01T10:00:00"):
        complaint = await _accepted(client, agent)
    before = clock(complaint, "C7_handling_decision")["due_date"]
    with frozen_at_local("2026-09-03T10:00:00"):
        paused = await act(
            client,
            agent.headers,
            complaint,
            "pause",
            {"kind": "appraisal", "reason": "medical appraisal", "notice": SMS_SENT},
        )
    assert paused.json()["status"] == "paused"
    with frozen_at_local("2026-09-10T10:00:00"):
        resumed = await act(client, agent.headers, paused, "resume", {"reason": "report in"})
    after = clock(resumed, "C7_handling_decision")["due_date"]
    assert before == "2026-09-16"
    assert after == "2026-09-23"  # seven calendar days later


async def test_withdrawal_ends_every_clock(client: AsyncClient, agent: Actor) -> None:
    created = await register(
        client,
        agent.headers,
        channel="regulator_referral",
        regulator={"reference": "沪银保监转〔2026〕12号", "reply_by": "2026-12-31"},
    )
    assert {c["state"] for c in created.json()["clocks"]} == {"running"}
    withdrawn = await act(client, agent.headers, created, "withdraw", {"reason": "resolved"})
    assert withdrawn.status_code == 200
    assert withdrawn.json()["status"] == "withdrawn"
    assert {c["outcome"] for c in withdrawn.json()["clocks"]} == {"cancelled"}


async def _notified(client: AsyncClient, agent: Actor, received_on: str) -> dict[str, object]:
    complaint = await _accepted(client, agent)
    decided = await act(
        client,
        agent.headers,
        complaint,
        "decide",
        {"findings": "f", "reasons": "r", "remedies": ["退还保费"]},
    )
    notified = await act(
        client,
        agent.headers,
        decided,
        "notify",
        {"kind": "decision", **WRITTEN, "received_on": received_on},
    )
    assert notified.status_code == 200, notified.text
    assert notified.json()["status"] == "notified"
    assert clock(notified, "C7_handling_decision")["outcome"] in {"met", "met_late"}
    return dict(notified.json())


async def test_review_only_within_thirty_days_of_receiving_the_decision(
    client: AsyncClient, agent: Actor
) -> None:
    with frozen_at_local("2026-08-01T10:00:00"):
        notified = await _notified(client, agent, received_on="2026-08-03")
    late = await act(
        client,
        agent.headers,
        notified,
        "request-review",
        {"reason": "disagree", "requested_at": "2026-09-03T10:00:00+08:00"},
    )
    assert late.status_code == 422
    assert late.json()["code"] == "review_window_closed"
    assert late.json()["last_day"] == "2026-09-02"
    in_time = await act(
        client,
        agent.headers,
        notified,
        "request-review",
        {"reason": "disagree", "requested_at": "2026-09-02T10:00:00+08:00"},
    )
    assert in_time.status_code == 200, in_time.text
    assert clock(in_time, "C9b_review_decision")["due_date"] == "2026-10-08"


async def test_failed_decision_sms_leaves_the_complaint_decided(
    client: AsyncClient, agent: Actor
) -> None:
    complaint = await _accepted(client, agent)
    decided = await act(
        client, agent.headers, complaint, "decide", {"findings": "f", "reasons": "r"}
    )
    failed = await act(client, agent.headers, decided, "notify", {"kind": "decision", **SMS_FAILED})
    assert failed.status_code == 200
    assert failed.json()["status"] == "decided"
    assert clock(failed, "C7_handling_decision")["state"] == "running"


async def test_duplicate_with_new_facts_restarts_the_original_handling_clock(
    client: AsyncClient, agent: Actor
) -> None:
    with frozen_at_local("2026-09-01T10:00:00"):
        original = await _accepted(client, agent)
    assert clock(original, "C7_handling_decision")["due_date"] == "2026-09-16"
    with frozen_at_local("2026-09-08T10:00:00"):
        repeat = await register(client, agent.headers, materials_complete=True)
        merged = await act(
            client,
            agent.headers,
            repeat,
            "merge",
            {"into_complaint_id": original["id"], "with_new_facts": True},
        )
    assert merged.status_code == 200, merged.text
    assert merged.json()["status"] == "merged"
    reread = await client.get(f"/v1/complaints/{original['id']}", headers=agent.headers)
    assert clock(reread, "C7_handling_decision")["due_date"] == "2026-09-23"


async def test_duplicate_without_new_facts_keeps_the_original_clock(
    client: AsyncClient, agent: Actor
) -> None:
    with frozen_at_local("2026-09-01T10:00:00"):
        original = await _accepted(client, agent)
    with frozen_at_local("2026-09-08T10:00:00"):
        repeat = await register(client, agent.headers, materials_complete=True)
        merged = await act(
            client,
            agent.headers,
            repeat,
            "merge",
            {"into_complaint_id": original["id"], "with_new_facts": False},
        )
    assert merged.status_code == 200
    reread = await client.get(f"/v1/complaints/{original['id']}", headers=agent.headers)
    assert clock(reread, "C7_handling_decision")["due_date"] == "2026-09-16"


async def test_illegal_action_is_409_and_stale_etag_is_412(
    client: AsyncClient, agent: Actor
) -> None:
    created = await register(client, agent.headers)
    illegal = await act(client, agent.headers, created, "decide", {"findings": "f", "reasons": "r"})
    assert illegal.status_code == 409
    assert illegal.json()["code"] == "invalid_transition"
    stale = await act(client, agent.headers, created, "withdraw", {}, etag='"v7"')
    assert stale.status_code == 412
    missing = await client.post(
        f"/v1/complaints/{created.json()['id']}/withdraw", json={}, headers=agent.headers
    )
    assert missing.status_code == 428


def frozen_at_local(local: str) -> object:
    """Freeze the service clock at a Beijing wall-clock time."""
    from datetime import datetime

    from app.core.clock import BUSINESS_TZ

    return frozen_at(datetime.fromisoformat(local).replace(tzinfo=BUSINESS_TZ))


async def test_notified_decision_schedules_the_follow_up_callback(
    client: AsyncClient, agent: Actor, session: AsyncSession
) -> None:
    with frozen_at_local("2026-09-01T10:00:00"):
        notified = await _notified(client, agent, received_on="2026-09-01")
    rows = (
        await session.execute(
            text("SELECT kind, state, due_at FROM callbacks WHERE ticket_id = :id"),
            {"id": notified["id"]},
        )
    ).all()
    assert [(r.kind, r.state) for r in rows] == [("complaint_followup", "scheduled")]
    # Five working days after Tue 2026-09-01 is Tue 2026-09-08; due at 24:00 Beijing time.
    assert rows[0].due_at == datetime(2026, 9, 8, 16, tzinfo=UTC)


async def test_a_foreign_if_match_is_judged_after_the_request_is_validated(
    client: AsyncClient, agent: Actor
) -> None:
    """RFC 9110 §13.2.2: preconditions come after the normal checks. An If-Match naming no
    version of ours used to be 412 before the body was validated or the complaint looked up."""
    created = await register(client, agent.headers)
    foreign = {**agent.headers, "If-Match": "not-an-etag"}
    invalid = await client.post(
        f"/v1/complaints/{created.json()['id']}/extend", json={"to_days": 7}, headers=foreign
    )
    unknown = await client.post(
        "/v1/complaints/00000000-0000-4000-8000-000000000000/withdraw", json={}, headers=foreign
    )
    valid = await client.post(
        f"/v1/complaints/{created.json()['id']}/withdraw", json={}, headers=foreign
    )
    assert (invalid.status_code, unknown.status_code, valid.status_code) == (422, 404, 412)
