"""Bearer tokens on every /v1 route: what is accepted, and every way a token is refused (401)."""

from __future__ import annotations

from datetime import timedelta

import jwt
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.access.secrets import KeyMaterial
from app.access.tokens import LOCAL_AUDIENCE, LOCAL_ISSUER, issue_local
from app.core.clock import utc_now
from tests.access.helpers import assert_unauthenticated, sign_in
from tests.conftest import Actor, add_actor


def _keys(app: FastAPI) -> KeyMaterial:
    keys: KeyMaterial = app.state.keys  # set when the fixtures' actors were signed in
    return keys


def _local_token(secret: bytes, subject: str, **overrides: object) -> str:
    now = utc_now()
    claims: dict[str, object] = {
        "iss": LOCAL_ISSUER,
        "aud": LOCAL_AUDIENCE,
        "sub": subject,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
    }
    claims.update(overrides)
    return jwt.encode(claims, secret, algorithm="HS256")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_valid_token_names_its_user(client: AsyncClient, admin: Actor) -> None:
    response = await client.get("/v1/me", headers=admin.headers)
    assert response.status_code == 200
    me = response.json()
    assert (me["kind"], me["id"], me["role"]) == ("user", str(admin.id), "admin")
    assert me["name"] == admin.user.username
    assert "users:admin" in me["permissions"]


async def test_missing_credentials_are_401_with_a_bearer_challenge(client: AsyncClient) -> None:
    response = await client.get("/v1/me")
    body = assert_unauthenticated(response, invalid_token=False)
    assert body["code"] == "unauthenticated"


async def test_a_non_bearer_authorization_header_is_401(client: AsyncClient) -> None:
    response = await client.get("/v1/me", headers={"Authorization": "Basic YWRtaW46YWRtaW4="})
    assert_unauthenticated(response, invalid_token=False)


async def test_expired_token_is_401(client: AsyncClient, app: FastAPI, admin: Actor) -> None:
    long_ago = utc_now() - timedelta(hours=1)
    token = issue_local(
        _keys(app).jwt_secret,
        user_id=str(admin.id),
        credentials_version=1,
        now=long_ago,
        minutes=15,
    )
    body = assert_unauthenticated(await client.get("/v1/me", headers=_bearer(token)))
    assert "expired" in body["detail"]


async def test_token_signed_with_another_secret_is_401(
    client: AsyncClient, app: FastAPI, admin: Actor
) -> None:
    forged = b"a different secret of at least thirty-two bytes"
    token = issue_local(
        forged, user_id=str(admin.id), credentials_version=1, now=utc_now(), minutes=5
    )
    body = assert_unauthenticated(await client.get("/v1/me", headers=_bearer(token)))
    assert "signature" in body["detail"]


async def test_token_for_another_audience_is_401(
    client: AsyncClient, app: FastAPI, admin: Actor
) -> None:
    token = _local_token(_keys(app).jwt_secret, str(admin.id), aud="another-service")
    body = assert_unauthenticated(await client.get("/v1/me", headers=_bearer(token)))
    assert "audience" in body["detail"]


async def test_token_from_another_issuer_is_401(
    client: AsyncClient, app: FastAPI, admin: Actor
) -> None:
    token = _local_token(_keys(app).jwt_secret, str(admin.id), iss="someone-else")
    assert_unauthenticated(await client.get("/v1/me", headers=_bearer(token)))


async def test_token_without_expiry_is_401(client: AsyncClient, app: FastAPI, admin: Actor) -> None:
    claims = {"iss": LOCAL_ISSUER, "aud": LOCAL_AUDIENCE, "sub": str(admin.id)}
    token = jwt.encode(claims, _keys(app).jwt_secret, algorithm="HS256")
    assert_unauthenticated(await client.get("/v1/me", headers=_bearer(token)))


async def test_unsigned_token_is_401(client: AsyncClient, admin: Actor) -> None:
    stripped = admin.headers["Authorization"].removeprefix("Bearer ").rsplit(".", 1)[0] + "."
    unsigned = jwt.encode({"sub": str(admin.id)}, key=None, algorithm="none")
    for candidate in (stripped, unsigned, "not-a-jwt"):
        assert_unauthenticated(await client.get("/v1/me", headers=_bearer(candidate)))


async def test_token_of_unknown_subject_is_401(
    client: AsyncClient, app: FastAPI, admin: Actor
) -> None:
    for subject in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        token = _local_token(_keys(app).jwt_secret, subject)
        assert_unauthenticated(await client.get("/v1/me", headers=_bearer(token)))


async def test_disabling_a_user_refuses_its_token_at_once(
    client: AsyncClient,
    app: FastAPI,
    session_factory: async_sessionmaker[AsyncSession],
    admin: Actor,
) -> None:
    agent = await add_actor(app, session_factory, role="agent")
    assert (await client.get("/v1/me", headers=agent.headers)).status_code == 200

    disabled = await client.patch(
        f"/v1/users/{agent.id}",
        json={"active": False},
        headers={**admin.headers, "If-Match": '"v1"'},
    )
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["active"] is False

    body = assert_unauthenticated(await client.get("/v1/me", headers=agent.headers))
    assert "disabled" in body["detail"]


async def test_a_password_reset_ends_the_sessions_signed_in_before_it(
    client: AsyncClient,
    app: FastAPI,
    session_factory: async_sessionmaker[AsyncSession],
    admin: Actor,
) -> None:
    agent = await add_actor(app, session_factory, role="agent", username="reset.target")
    colleague = await add_actor(app, session_factory, role="agent")
    # A token from before tokens carried a credentials version: valid until the first reset.
    unversioned = _bearer(_local_token(_keys(app).jwt_secret, str(agent.id)))
    for headers in (agent.headers, unversioned):
        assert (await client.get("/v1/me", headers=headers)).status_code == 200

    async def reset(password: str) -> None:
        response = await client.post(
            f"/v1/users/{agent.id}/reset-password",
            json={"password": password},
            headers=admin.headers,
        )
        assert response.status_code == 200, response.text

    await reset("first new password for reset.target")
    for headers in (agent.headers, unversioned):
        body = assert_unauthenticated(await client.get("/v1/me", headers=headers))
        assert "reset" in body["detail"]
    signed_in = await sign_in(client, "reset.target", "first new password for reset.target")
    fresh = _bearer(signed_in.json()["access_token"])
    assert (await client.get("/v1/me", headers=fresh)).status_code == 200
    assert (await client.get("/v1/me", headers=colleague.headers)).status_code == 200

    await reset("second new password for reset.target")
    assert_unauthenticated(await client.get("/v1/me", headers=fresh))
    assert (await client.get("/v1/me", headers=colleague.headers)).status_code == 200
