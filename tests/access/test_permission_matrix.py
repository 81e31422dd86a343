"""Role × route: every route of the app, every role, against the role_permissions table.

``ROUTES`` is written out by hand on purpose: a new route without an entry fails
``test_table_covers_exactly_the_apps_routes``, so nobody adds an endpoint without deciding who
may call it. What each role may do is read from the database, not from the code.
"""

from __future__ import annotations

import uuid
from collections import defaultdict

import pytest
from fastapi import FastAPI
from httpx import AsyncClient, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.api.routing import leaf_routes
from tests.access.helpers import assert_problem, assert_unauthenticated, create_api_key
from tests.conftest import Actor, add_actor

PUBLIC = "public"
AUTHENTICATED = "authenticated"

ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("POST", "/v1/auth/token"): PUBLIC,
    ("GET", "/v1/me"): AUTHENTICATED,
    ("POST", "/v1/users"): "users:admin",
    ("GET", "/v1/users"): "users:admin",
    ("GET", "/v1/users/{user_id}"): "users:admin",
    ("PATCH", "/v1/users/{user_id}"): "users:admin",
    ("POST", "/v1/users/{user_id}/reset-password"): "users:admin",
    ("POST", "/v1/teams"): "users:admin",
    ("GET", "/v1/teams"): "branches:read",
    ("GET", "/v1/teams/{team_id}"): "branches:read",
    ("PATCH", "/v1/teams/{team_id}"): "users:admin",
    ("POST", "/v1/api-keys"): "api_keys:admin",
    ("GET", "/v1/api-keys"): "api_keys:admin",
    ("POST", "/v1/api-keys/{key_id}/revoke"): "api_keys:admin",
    ("GET", "/v1/audit-events"): "audit:read",
    ("POST", "/v1/branches"): "branches:write",
    ("GET", "/v1/branches"): "branches:read",
    ("GET", "/v1/branches/{branch_id}"): "branches:read",
    ("PATCH", "/v1/branches/{branch_id}"): "branches:write",
    ("GET", "/v1/calendars/{code}"): "calendar:read",
    ("GET", "/v1/calendars/{code}/days"): "calendar:read",
    ("GET", "/v1/calendars/{code}/due-date"): "calendar:read",
    ("GET", "/v1/calendars/{code}/working-days"): "calendar:read",
    ("GET", "/v1/calendars/{code}/years/{year}"): "calendar:read",
    ("PUT", "/v1/calendars/{code}/years/{year}"): "calendar:write",
    ("GET", "/v1/rule-sets"): "rules:read",
    ("GET", "/v1/rule-sets/{version}"): "rules:read",
    ("POST", "/v1/rule-sets"): "rules:write",
    ("POST", "/v1/complaints"): "tickets:write",
    ("GET", "/v1/complaints"): "tickets:read",
    ("GET", "/v1/complaints/causes"): "tickets:read",
    ("GET", "/v1/claim-reports"): "tickets:read",
    ("GET", "/v1/claim-reports/{report_id}"): "tickets:read",
    ("GET", "/v1/claim-reports/{report_id}/actions"): "tickets:read",
    ("GET", "/v1/claim-reports/{report_id}/timeline"): "tickets:read",
    ("POST", "/v1/claim-reports"): "tickets:write",
    ("POST", "/v1/claim-reports/by-number/{report_number}/status"): "status:push",
    ("POST", "/v1/claim-reports/{report_id}/status"): "status:push",
    ("GET", "/v1/customers"): "tickets:read",
    ("GET", "/v1/customers/{customer_id}"): "tickets:read",
    ("POST", "/v1/customers"): "tickets:write",
    ("PATCH", "/v1/customers/{customer_id}"): "tickets:write",
    ("GET", "/v1/policies/{policy_number}"): "tickets:read",
    ("POST", "/v1/policies"): "tickets:write",
    ("GET", "/v1/inquiries"): "tickets:read",
    ("GET", "/v1/inquiries/{inquiry_id}"): "tickets:read",
    ("GET", "/v1/inquiries/{inquiry_id}/actions"): "tickets:read",
    ("GET", "/v1/inquiries/{inquiry_id}/timeline"): "tickets:read",
    ("POST", "/v1/inquiries"): "tickets:write",
    ("POST", "/v1/inquiries/{inquiry_id}/answer"): "tickets:write",
    ("POST", "/v1/inquiries/{inquiry_id}/close"): "tickets:write",
    ("POST", "/v1/inquiries/{inquiry_id}/convert-to-complaint"): "tickets:write",
    ("POST", "/v1/inquiries/{inquiry_id}/defer"): "tickets:write",
    ("GET", "/v1/ivr/callers/{phone}"): "callers:lookup",
    ("GET", "/v1/ivr/policies/{policy_number}"): "callers:lookup",
    ("POST", "/v1/ivr/calls"): "intake:write",
    ("POST", "/v1/callbacks"): "tickets:write",
    ("GET", "/v1/callbacks"): "tickets:read",
    ("GET", "/v1/callbacks/policies"): "tickets:read",
    ("GET", "/v1/callbacks/success-rate"): "reports:read",
    ("POST", "/v1/callbacks/claim-next"): "callbacks:work",
    ("GET", "/v1/callbacks/{callback_id}"): "tickets:read",
    ("GET", "/v1/callbacks/{callback_id}/timeline"): "tickets:read",
    ("GET", "/v1/callbacks/{callback_id}/actions"): "tickets:read",
    ("POST", "/v1/callbacks/{callback_id}/attempts"): "callbacks:work",
    ("POST", "/v1/callbacks/{callback_id}/release"): "callbacks:work",
    ("POST", "/v1/callbacks/{callback_id}/cancel"): "tickets:write",
    ("GET", "/v1/complaints/{complaint_id}"): "tickets:read",
    ("GET", "/v1/complaints/{complaint_id}/actions"): "tickets:read",
    ("GET", "/v1/complaints/{complaint_id}/timeline"): "tickets:read",
    **{
        ("POST", f"/v1/complaints/{{complaint_id}}/{action}"): "tickets:write"
        for action in (
            "request-materials",
            "receive-materials",
            "accept",
            "reject",
            "transfer",
            "merge",
            "extend",
            "pause",
            "resume",
            "decide",
            "notify",
            "withdraw",
            "request-review",
            "decide-review",
            "close",
            "assign",
            "correct-details",
            "reclassify",
        )
    },
    ("GET", "/v1/sla/breaches"): "reports:read",
    ("GET", "/v1/sla/at-risk"): "reports:read",
    ("GET", "/v1/reports/service-indicators"): "reports:read",
    ("GET", "/v1/reports/complaints"): "reports:read",
    ("GET", "/v1/events"): "events:read",
    ("POST", "/v1/webhooks"): "webhooks:admin",
    ("GET", "/v1/webhooks"): "webhooks:admin",
    ("GET", "/v1/webhooks/{webhook_id}"): "webhooks:admin",
    ("PATCH", "/v1/webhooks/{webhook_id}"): "webhooks:admin",
    ("GET", "/v1/webhooks/{webhook_id}/deliveries"): "webhooks:admin",
    ("POST", "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/replay"): "webhooks:admin",
}

USER_ROLES = ("agent", "supervisor", "quality_inspector", "admin")
MACHINE_ROLES = ("ivr", "integration")
PROTECTED = sorted(key for key, needs in ROUTES.items() if needs != PUBLIC)


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path template) of every route, walking FastAPI's nested included routers."""
    found: set[tuple[str, str]] = set()
    for route in leaf_routes(app.router.routes):
        for method in getattr(route, "methods", None) or ():
            if method != "HEAD":  # Starlette adds HEAD to every GET
                # The template clients see: ``{callback_id:uuid}`` is ``{callback_id}``.
                found.add((method, getattr(route, "path_format", route.path)))
    return found


def concrete(path: str) -> str:
    """The template with a fresh random UUID for each path parameter."""
    parts = [str(uuid.uuid4()) if p.startswith("{") else p for p in path.split("/")]
    return "/".join(parts)


async def call(client: AsyncClient, method: str, path: str, headers: dict[str, str]) -> Response:
    body = {"json": {}} if method in {"POST", "PATCH", "PUT"} else {}
    return await client.request(method, concrete(path), headers=headers, **body)


async def role_permissions(session: AsyncSession) -> dict[str, set[str]]:
    rows = await session.execute(text("SELECT role, permission FROM role_permissions"))
    table: dict[str, set[str]] = defaultdict(set)
    for role, permission in rows:
        table[role].add(permission)
    return table


def test_table_covers_exactly_the_apps_routes(app: FastAPI) -> None:
    routes = app_routes(app)
    assert sorted(routes - ROUTES.keys()) == [], "routes without an entry in ROUTES"
    assert sorted(ROUTES.keys() - routes) == [], "entries in ROUTES the app does not serve"


async def test_table_names_only_permissions_that_exist(session: AsyncSession) -> None:
    table = await role_permissions(session)
    assert set(table) == set(USER_ROLES + MACHINE_ROLES)
    known = set().union(*table.values())
    named = {needs for needs in ROUTES.values() if needs not in {PUBLIC, AUTHENTICATED}}
    assert named <= known


async def test_the_seeded_table_is_the_default_in_the_code(session: AsyncSession) -> None:
    from app.access.permissions import DEFAULT_ROLE_PERMISSIONS

    table = await role_permissions(session)
    assert table == {
        role: {str(p) for p in perms} for role, perms in DEFAULT_ROLE_PERMISSIONS.items()
    }


async def test_public_routes_need_no_credentials(client: AsyncClient) -> None:
    for (method, path), needs in sorted(ROUTES.items()):
        if needs == PUBLIC:
            response = await call(client, method, path, {})
            assert response.status_code not in {401, 403}, (method, path, response.status_code)
            assert response.status_code < 500, (method, path, response.text)


async def test_every_other_route_refuses_anonymous_callers(client: AsyncClient) -> None:
    assert PROTECTED
    wrong = []
    for method, path in PROTECTED:
        response = await call(client, method, path, {})
        if response.status_code != 401:
            wrong.append((method, path, response.status_code))
            continue
        assert_unauthenticated(response, invalid_token=False)
    assert wrong == [], "served without credentials"


async def _headers_for(
    role: str,
    client: AsyncClient,
    app: FastAPI,
    factory: async_sessionmaker[AsyncSession],
    admin: Actor,
) -> dict[str, str]:
    if role in MACHINE_ROLES:
        return {"X-API-Key": (await create_api_key(client, admin, role=role))["key"]}
    return (await add_actor(app, factory, role=role)).headers


@pytest.mark.parametrize("role", USER_ROLES + MACHINE_ROLES)
async def test_each_role_reaches_exactly_what_its_permissions_allow(
    role: str,
    client: AsyncClient,
    app: FastAPI,
    session_factory: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    admin: Actor,
) -> None:
    granted = (await role_permissions(session))[role]
    headers = await _headers_for(role, client, app, session_factory, admin)
    wrong = []
    for method, path in PROTECTED:
        needs = ROUTES[(method, path)]
        allowed = needs == AUTHENTICATED or needs in granted
        response = await call(client, method, path, headers)
        if allowed and response.status_code in {401, 403}:
            wrong.append((method, path, "refused", response.status_code))
        elif allowed and response.status_code >= 500:
            wrong.append((method, path, "failed", response.status_code))
        elif not allowed:
            if response.status_code != 403:
                wrong.append((method, path, "not refused", response.status_code))
            else:
                assert_problem(response, 403, "forbidden")
    assert wrong == []
