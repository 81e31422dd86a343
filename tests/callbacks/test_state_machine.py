"""A model of the callback queue drives the HTTP API (Hypothesis stateful testing).

The model keeps its own copy of the rules, written from DOMAIN.md §4 and the seeded policies —
deliberately not imported from ``app.callbacks`` — so a disagreement shows up as a failure: the
queue offering another callback than the most urgent callable one, a hold not honoured or not
expiring, the fallback order not followed, an illegal action accepted. Two agents share one
branch's queue; the clock is frozen and moved by the model (within callable hours).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient, Response
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from app.core.clock import BUSINESS_TZ, frozen_at
from app.db import migrate
from app.db.session import create_database
from tests.conftest import _test_settings, add_actor, add_branch, build_app, create_scratch_database

HOLD = dt.timedelta(minutes=15)
# kind → (attempts per method in fallback order, spacing); every day, hours around 10:00-12:00.
POLICIES: dict[str, tuple[list[tuple[str, int]], dt.timedelta]] = {
    "satisfaction": (
        [("phone", 3), ("sms_questionnaire", 1), ("online_questionnaire", 1)],
        dt.timedelta(minutes=120),
    ),
    "ivr_request": ([("phone", 3)], dt.timedelta(minutes=30)),
}
REACHED = {
    "satisfaction": {"answers": {"service_completed": True, "staff_courteous": True},
                     "satisfaction": 4},
    "ivr_request": {"answers": {"request_handled": True}},
}  # fmt: skip
OUTCOMES = ["no_answer", "busy", "voicemail", "wrong_number", "refused", "reached"]
WAITING = {"scheduled", "rescheduled"}
OPEN = WAITING | {"in_progress"}


@dataclass
class Model:
    id: str
    kind: str
    due_at: dt.datetime
    state: str = "scheduled"
    version: int = 1
    events: int = 1
    method: int = 0
    used: int = 0
    attempts: int = 0
    next_at: dt.datetime = field(default_factory=lambda: dt.datetime.min.replace(tzinfo=dt.UTC))
    holder: str | None = None
    held_until: dt.datetime | None = None


@dataclass
class Environment:
    app: FastAPI
    client: AsyncClient


class QueueMachine(RuleBasedStateMachine):
    loop: asyncio.AbstractEventLoop
    env: Environment

    def run(self, coroutine: Any) -> Any:
        with frozen_at(self.now):
            return self.loop.run_until_complete(coroutine)

    @initialize()
    def start(self) -> None:
        # A fresh branch per example: its queue holds only this example's callbacks.
        self.now = dt.datetime(2026, 3, 10, 10, tzinfo=BUSINESS_TZ).astimezone(dt.UTC)
        self.day_start = self.now
        factory = self.env.app.state.db.session_factory
        branch = self.loop.run_until_complete(add_branch(factory))
        self.agents = {
            name: self.loop.run_until_complete(add_actor(self.env.app, factory, branch=branch))
            for name in ("a", "b")
        }
        self.callbacks: dict[str, Model] = {}
        self.scheduled = 0
        for kind in ("satisfaction", "ivr_request", "satisfaction"):
            self.schedule(kind)

    def _headers(self, agent: str, model: Model | None = None) -> dict[str, str]:
        headers = dict(self.agents[agent].headers)
        if model is not None:
            headers["If-Match"] = f'"v{model.version}"'
        return headers

    def _changed(self, model: Model, response: Response, state: str) -> dict[str, Any]:
        """A legal move: the new state, the next version, exactly one more timeline event."""
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert body["state"] == state, (body["state"], state)
        assert body["version"] == model.version + 1
        model.state, model.version, model.events = state, body["version"], model.events + 1
        timeline = self.run(
            self.env.client.get(
                f"/v1/callbacks/{model.id}/timeline",
                params={"limit": 200},
                headers=self._headers("a"),
            )
        ).json()
        assert len(timeline["items"]) == model.events
        return body

    # --- time -----------------------------------------------------------------------------------

    @precondition(
        lambda self: (
            self.now + dt.timedelta(minutes=16) < self.day_start + dt.timedelta(minutes=115)
        )
    )
    @rule()
    def sixteen_minutes_pass(self) -> None:
        """Enough for a hold to expire; the day stays inside every kind's callable hours."""
        self.now += dt.timedelta(minutes=16)

    @rule()
    def next_morning(self) -> None:
        self.day_start += dt.timedelta(days=1)
        self.now = self.day_start

    # --- scheduling and the queue ---------------------------------------------------------------

    @rule(kind=st.sampled_from(sorted(POLICIES)))
    def schedule(self, kind: str) -> None:
        self.scheduled += 1
        due_at = self.day_start + dt.timedelta(days=3, hours=self.scheduled)  # all distinct
        response = self.run(
            self.env.client.post(
                "/v1/callbacks",
                json={
                    "kind": kind,
                    "customer": {"name": "钱七", "phones": ["13800138000"]},
                    "policy_number": "P-MODEL-1",
                    "due_at": due_at.isoformat(),
                },
                headers=self._headers("a"),
            )
        )
        assert response.status_code == 201, response.text
        body = response.json()
        self.callbacks[body["id"]] = Model(body["id"], kind, due_at, next_at=self.now)

    def _held_by(self, agent: str) -> Model | None:
        for model in self.callbacks.values():
            if model.state == "in_progress" and model.holder == agent:
                assert model.held_until is not None
                if model.held_until > self.now:
                    return model
        return None

    def _claimable(self) -> list[Model]:
        def free(m: Model) -> bool:
            if m.state == "in_progress":
                return m.held_until is not None and m.held_until <= self.now
            return m.state in WAITING and m.next_at <= self.now

        return sorted((m for m in self.callbacks.values() if free(m)), key=lambda m: m.due_at)

    @rule(agent=st.sampled_from(["a", "b"]))
    def claim(self, agent: str) -> None:
        response = self.run(
            self.env.client.post("/v1/callbacks/claim-next", headers=self._headers(agent))
        )
        held = self._held_by(agent)
        if held is not None:  # your hold lasts: the same callback again, unchanged
            assert response.status_code == 200, response.text
            assert response.json()["id"] == held.id
            return
        claimable = self._claimable()
        if not claimable:
            assert response.status_code == 204, response.text
            return
        model = claimable[0]
        assert response.status_code == 200, response.text
        assert response.json()["id"] == model.id, "not the most urgent callable callback"
        self._changed(model, response, "in_progress")
        model.holder, model.held_until = agent, self.now + HOLD

    # --- transitions on one callback ------------------------------------------------------------

    def _pick(self, data: st.DataObject, agent: str | None = None) -> Model:
        """Mostly the agent's own held callback (the usual case), else any callback."""
        held = [
            m for m in self.callbacks.values() if m.state == "in_progress" and m.holder == agent
        ]
        if held and data.draw(st.integers(0, 3)) > 0:
            return held[0]
        # In scheduling order, not by id: ids are random, and a choice must name the same
        # callback when Hypothesis replays it (else it reports flaky data generation).
        return self.callbacks[data.draw(st.sampled_from(list(self.callbacks)))]

    @rule(data=st.data(), agent=st.sampled_from(["a", "b"]), outcome=st.sampled_from(OUTCOMES))
    def attempt(self, data: st.DataObject, agent: str, outcome: str) -> None:
        model = self._pick(data, agent)
        steps, spacing = POLICIES[model.kind]
        method = steps[min(model.method, len(steps) - 1)][0]  # the last one once unreachable
        body: dict[str, Any] = {"method": method, "outcome": outcome}
        if outcome == "reached":
            body["completion"] = REACHED[model.kind]
        response = self.run(
            self.env.client.post(
                f"/v1/callbacks/{model.id}/attempts", json=body, headers=self._headers(agent, model)
            )
        )
        if model.state != "in_progress" or model.holder != agent:
            assert response.status_code == 409, response.text
            return
        model.attempts += 1
        if outcome in {"reached", "refused"}:
            self._changed(model, response, "completed")
        else:
            model.used += 1
            if outcome == "wrong_number" or model.used >= steps[model.method][1]:
                model.method, model.used = model.method + 1, 0
            if model.method == len(steps):
                self._changed(model, response, "unreachable")
            else:
                got = self._changed(model, response, "rescheduled")
                model.next_at = self.now + spacing
                assert got["current_method"] == steps[model.method][0]
                assert dt.datetime.fromisoformat(got["next_attempt_at"]) == model.next_at
        assert response.json()["attempts_made"] == model.attempts

    @rule(data=st.data(), agent=st.sampled_from(["a", "b"]))
    def release(self, data: st.DataObject, agent: str) -> None:
        model = self._pick(data, agent)
        response = self.run(
            self.env.client.post(
                f"/v1/callbacks/{model.id}/release", json={}, headers=self._headers(agent, model)
            )
        )
        if model.state != "in_progress" or model.holder != agent:
            assert response.status_code == 409, response.text
            return
        self._changed(model, response, "rescheduled" if model.attempts else "scheduled")
        model.held_until = None

    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        model = self._pick(data)
        response = self.run(
            self.env.client.post(
                f"/v1/callbacks/{model.id}/cancel",
                json={"reason": "moot"},
                headers=self._headers("a", model),
            )
        )
        if model.state not in OPEN:
            assert response.status_code == 409, response.text
            return
        self._changed(model, response, "cancelled")

    # --- invariants -----------------------------------------------------------------------------

    @invariant()
    def the_service_agrees_with_the_model(self) -> None:
        listed = self.run(
            self.env.client.get("/v1/callbacks", params={"limit": 200}, headers=self._headers("a"))
        ).json()["items"]
        seen = {item["id"]: (item["state"], item["version"]) for item in listed}
        expected = {m.id: (m.state, m.version) for m in getattr(self, "callbacks", {}).values()}
        assert seen == expected


async def _environment(server_url: str) -> tuple[Environment, Any]:
    url = await create_scratch_database(server_url, f"contact_desk_cb_stateful_{os.getpid()}")
    settings_ = _test_settings(url)
    db = create_database(settings_, url)
    await migrate.upgrade(db.engine)
    app = build_app(settings_, db.engine, db.session_factory)
    client = AsyncClient(transport=ASGITransport(app=app), base_url="http://model")
    return Environment(app, client), db


def test_the_queue_follows_the_model(server_url: str) -> None:
    loop = asyncio.new_event_loop()
    env, db = loop.run_until_complete(_environment(server_url))
    QueueMachine.loop, QueueMachine.env = loop, env
    try:
        machine_test = QueueMachine.TestCase
        machine_test.settings = settings(
            max_examples=int(os.environ.get("STATEFUL_EXAMPLES", "15")),
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        machine_test("runTest").runTest()
    finally:
        loop.run_until_complete(env.client.aclose())
        loop.run_until_complete(db.dispose())
        loop.close()
