"""A model of the complaint process drives the HTTP API (Hypothesis stateful testing).

The model keeps its own table of legal moves, written from DOMAIN.md §3 — deliberately not
imported from ``app.complaints.states`` — so a wrong entry in the service's table shows up as a
disagreement: a legal action refused, or an illegal one accepted. After every step: legal
actions succeed and land in the model's state, illegal ones are 409 and change nothing, each
change writes exactly one timeline event, and the clocks are where the rules put them.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from app.db import migrate
from app.db.session import create_database
from tests.complaints.helpers import SMS_SENT, WRITTEN, complaint_payload
from tests.conftest import _test_settings, add_actor, build_app, create_scratch_database

BEFORE_ACCEPTANCE = {"registered", "awaiting_materials", "under_review"}
OPEN = BEFORE_ACCEPTANCE | {
    "investigating",
    "paused",
    "decided",
    "notified",
    "closed",
    "review_requested",
}

# The model: action → {from: to}. Written out by hand from the process description.
MODEL: dict[str, dict[str, str]] = {
    "request-materials": {
        "registered": "awaiting_materials",
        "awaiting_materials": "awaiting_materials",
    },
    "receive-materials": {"registered": "under_review", "awaiting_materials": "under_review"},
    "accept": {"under_review": "investigating"},
    "reject": {"under_review": "not_accepted"},
    "transfer": dict.fromkeys(BEFORE_ACCEPTANCE, "transferred"),
    "extend": {"investigating": "investigating", "paused": "paused"},
    "pause": {"investigating": "paused"},
    "resume": {"paused": "investigating"},
    "decide": {"investigating": "decided"},
    "notify": {"decided": "notified", "notified": "notified", "closed": "closed"},
    "close": {"notified": "closed"},
    "request-review": {"notified": "review_requested", "closed": "review_requested"},
    "decide-review": {"review_requested": "reviewed"},
    "withdraw": dict.fromkeys(OPEN, "withdrawn"),
}

BODIES: dict[str, dict[str, Any]] = {
    "request-materials": {"missing": ["保单"], "notice": SMS_SENT},
    "receive-materials": {"received": ["保单"]},
    "accept": {"notice": SMS_SENT},
    "reject": {"ground": "not_consumer_or_agent", "explanation": "x", "notice": SMS_SENT},
    "transfer": {"target_kind": "external_unit", "target_name": "某公司", "reason": "x"},
    "extend": {"to_days": 30, "reason": "complex"},
    "pause": {"kind": "mediation", "reason": "x", "notice": SMS_SENT},
    "resume": {"reason": "x"},
    "decide": {"findings": "f", "reasons": "r"},
    "notify": {"kind": "decision", **WRITTEN},
    "close": {},
    "request-review": {"reason": "x"},
    "decide-review": {"outcome": "upheld", "findings": "x", "notice": SMS_SENT},
    "withdraw": {"reason": "x"},
}

# Which clocks must be open (running or paused) in each state, per the rules.
OPEN_CLOCKS: dict[str, set[str]] = {
    "registered": {"C2_supplement_or_confirm", "C7_handling_decision"},
    "awaiting_materials": {"C7_handling_decision"},  # the supplement notice counted: C2 met
    "under_review": {"C3_acceptance_notice", "C7_handling_decision"},
    "investigating": {"C7_handling_decision"},
    "paused": {"C7_handling_decision"},
    "decided": {"C7_handling_decision"},
    "notified": set(),
    "closed": set(),
    "review_requested": {"C9b_review_decision"},
    "reviewed": set(),
    "withdrawn": set(),
    "transferred": set(),
    "not_accepted": set(),
}


@dataclass
class Tracked:
    id: str
    status: str
    version: int
    events: int
    extended: bool = False


@dataclass
class Environment:
    app: FastAPI
    client: AsyncClient
    headers: dict[str, str]


class ComplaintMachine(RuleBasedStateMachine):
    loop: asyncio.AbstractEventLoop
    env: Environment

    complaints = Bundle("complaints")

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    @initialize()
    def start(self) -> None:
        self.tracked: dict[str, Tracked] = {}

    @rule(target=complaints, complete=st.booleans())
    def register(self, complete: bool) -> str:
        response = self.run(
            self.env.client.post(
                "/v1/complaints",
                json=complaint_payload(materials_complete=complete),
                headers=self.env.headers,
            )
        )
        assert response.status_code == 201, response.text
        body = response.json()
        expected = "under_review" if complete else "registered"
        assert body["status"] == expected
        self.tracked[body["id"]] = Tracked(body["id"], expected, body["version"], 1)
        self._check_clocks(body)
        return str(body["id"])

    @rule(complaint_id=complaints, action=st.sampled_from(sorted(BODIES)))
    def act(self, complaint_id: str, action: str) -> None:
        model = self.tracked[complaint_id]
        url = f"/v1/complaints/{complaint_id}/{action}"
        headers = {**self.env.headers, "If-Match": f'"v{model.version}"'}
        response = self.run(self.env.client.post(url, json=BODIES[action], headers=headers))
        legal = model.status in MODEL[action] and not (action == "extend" and model.extended)
        if legal:
            assert response.status_code == 200, (action, model.status, response.text)
            body = response.json()
            assert body["status"] == MODEL[action][model.status], (action, model.status)
            model.status, model.version = body["status"], body["version"]
            model.events += 1
            model.extended |= action == "extend"
            self._check_clocks(body)
        else:
            expected = {422} if action == "extend" and model.extended else {409}
            assert response.status_code in expected, (action, model.status, response.text)
        self._check_timeline(model)

    def _check_timeline(self, model: Tracked) -> None:
        response = self.run(
            self.env.client.get(
                f"/v1/complaints/{model.id}/timeline",
                params={"limit": 200},
                headers=self.env.headers,
            )
        )
        assert len(response.json()["items"]) == model.events

    def _check_clocks(self, body: dict[str, Any]) -> None:
        expected = OPEN_CLOCKS.get(body["status"])
        if expected is None:
            return
        open_clocks = {c["name"] for c in body["clocks"] if c["state"] != "stopped"}
        assert open_clocks == expected, (body["status"], open_clocks)

    @invariant()
    def versions_only_grow(self) -> None:
        for model in getattr(self, "tracked", {}).values():
            assert model.version >= 1


async def _environment(server_url: str) -> tuple[Environment, Any]:
    url = await create_scratch_database(server_url, f"contact_desk_stateful_{os.getpid()}")
    settings_ = _test_settings(url)
    db = create_database(settings_, url)
    await migrate.upgrade(db.engine)
    app = build_app(settings_, db.engine, db.session_factory)
    agent = await add_actor(app, db.session_factory, role="agent")
    client = AsyncClient(transport=ASGITransport(app=app), base_url="http://model")
    return Environment(app, client, agent.headers), db


def test_complaint_process_follows_the_model(server_url: str) -> None:
    loop = asyncio.new_event_loop()
    env, db = loop.run_until_complete(_environment(server_url))
    ComplaintMachine.loop, ComplaintMachine.env = loop, env
    try:
        machine_test = ComplaintMachine.TestCase
        machine_test.settings = settings(
            max_examples=int(os.environ.get("STATEFUL_EXAMPLES", "15")),
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        machine_test("runTest").runTest()
    finally:
        loop.run_until_complete(env.client.aclose())
        loop.run_until_complete(db.dispose())
        loop.close()
