"""Schema fuzzing in the normal suite: every operation of the app's OpenAPI document, a few
deterministic Schemathesis cases each, sent as an admin and as agents of two branches.

The cases go through the suite's own ``client`` (the same ASGI app, in the test's rolled-back
transaction), not through ``schemathesis.openapi.from_asgi(...)``/``case.call()``: that
transport is Starlette's ``TestClient``, which runs the app on an event loop of its own thread,
while the test's database connection belongs to this loop. So Hypothesis draws the cases
(derandomized, so every run sends the same requests), httpx sends them, and Schemathesis checks
each response. ``scripts/fuzz_deep.py`` is the long run: a real server, stateful sequences,
several seeds.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from httpx import AsyncClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.complaints.helpers import register
from tests.conftest import Actor, add_actor
from tests.fuzz.checks import schema_valid_request_validated

ROOT = Path(__file__).resolve().parents[2]
BASE_URL = "http://testserver"
POSITIVE_EXAMPLES = 3  # one per principal
NEGATIVE_EXAMPLES = 2
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    schema_valid_request_validated,
]


def load_schema(app: FastAPI) -> Any:
    config = schemathesis.Config.from_path(ROOT / "schemathesis.toml")
    return schemathesis.openapi.from_dict(app.openapi(), config=config)


def draw_cases(
    operation: Any, mode: GenerationMode, count: int, known: dict[str, str] | None = None
) -> list[Case]:
    """``count`` cases of ``operation``, the same ones on every run; path parameters named in
    ``known`` take that value (an object that exists) instead of a random one, and with
    ``known`` given, If-Match is ``*``."""
    cases: list[Case] = []
    names = {parameter.name for parameter in operation.path_parameters}
    fixed = {name: value for name, value in (known or {}).items() if name in names}
    # A valid change should get to its transition, not stop at a random ETag (412).
    if_match = {"If-Match": "*"} if known is not None and _takes_if_match(operation) else None

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(
        operation.as_strategy(generation_mode=mode, path_parameters=fixed or None, headers=if_match)
    )
    def collect(case: Case) -> None:
        cases.append(case)

    try:
        collect()
    except Unsatisfiable:
        return []  # no input of the operation can be made invalid (e.g. GET /healthz)
    return cases


def _takes_if_match(operation: Any) -> bool:
    return any(parameter.name == "If-Match" for parameter in operation.headers)


async def send(client: AsyncClient, case: Case, actor: Actor) -> Any:
    kwargs = case.as_transport_kwargs(base_url=BASE_URL)
    body: dict[str, Any] = {}
    if "json" in kwargs:
        body["json"] = kwargs["json"]
    if "data" in kwargs:
        data = kwargs["data"]
        body["content" if isinstance(data, bytes | str) else "data"] = data
    ours = {name.lower() for name in actor.headers}
    headers = {k: v for k, v in kwargs["headers"].items() if k.lower() not in ours}
    headers.update(actor.headers)
    return await client.request(
        kwargs["method"], kwargs["url"], headers=headers, params=kwargs["params"], **body
    )


@pytest.fixture
async def principals(
    app: FastAPI, admin: Actor, session_factory: async_sessionmaker[AsyncSession]
) -> list[Actor]:
    """The admin and agents of two different branches, as signed-in clients hold them."""
    return [admin, await add_actor(app, session_factory), await add_actor(app, session_factory)]


async def test_every_operation_conforms_to_its_schema(
    app: FastAPI, client: AsyncClient, principals: list[Actor]
) -> None:
    schema = load_schema(app)
    admin, agent_a, agent_b = principals
    # A complaint in each agent's branch: lists and reports have rows to render, and the
    # complaint actions act on agent A's (agent B must get 404 for it).
    ours = (await register(client, agent_a.headers)).json()
    await register(client, agent_b.headers)
    known = {"complaint_id": ours["id"]}
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        plan = [
            *((case, principals[i % 3]) for i, case in enumerate(
                draw_cases(operation, GenerationMode.POSITIVE, POSITIVE_EXAMPLES, known)
            )),
            # Invalid requests as the admin, so they get past authorization to validation.
            *((case, admin) for case in draw_cases(
                operation, GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES
            )),
        ]  # fmt: skip
        for case, actor in plan:
            try:
                response = await send(client, case, actor)
            except UnicodeEncodeError:
                continue  # a negative header value httpx cannot put on the wire
            statuses[response.status_code] += 1
            try:
                case.validate_response(response, checks=CHECKS)
            except FailureGroup as group:
                failures.append(f"{operation.label} as {actor.user.role}:\n{group}")
    # Not a vacuous run: requests were sent, and many got past authorization and validation.
    successes = sum(n for status, n in statuses.items() if status < 300)
    assert statuses.total() >= 400, statuses
    assert successes >= 40, statuses
    assert not failures, "\n\n".join(failures)
