"""Tokens of the company identity provider, verified for real against a JWKS it publishes.

The JWKS is served over HTTP from a thread: PyJWKClient refuses file:// URLs (it only fetches
http and https, so a URL taken from a token cannot make it read local files).
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.access.models import User
from app.core.clock import utc_now
from app.core.config import Settings
from tests.access.helpers import assert_unauthenticated
from tests.conftest import add_actor, add_branch, build_app

ISSUER = "https://idp.example.test/realms/staff"
AUDIENCE = "contact-desk-api"
SUBJECT = "idp|8f14e45f"


@pytest.fixture(scope="module")
def idp_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def stranger_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class _JwksServer(ThreadingHTTPServer):
    jwks = b"{}"
    # Set by a test that holds the answer back: the handler signals ``asked`` and then waits.
    asked: threading.Event | None = None
    release: threading.Event | None = None


class _JwksHandler(BaseHTTPRequestHandler):
    server: _JwksServer

    def do_GET(self) -> None:
        if self.server.asked is not None and self.server.release is not None:
            self.server.asked.set()
            self.server.release.wait(timeout=30)
        body = self.server.jwks
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass


def _serve_jwks(key: rsa.RSAPrivateKey) -> _JwksServer:
    jwk: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="idp-key-1", use="sig", alg="RS256")
    server = _JwksServer(("127.0.0.1", 0), _JwksHandler)
    server.jwks = json.dumps({"keys": [jwk]}).encode()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _url_of(server: _JwksServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/realms/staff/certs"


@pytest.fixture(scope="module")
def jwks_url(idp_key: rsa.RSAPrivateKey) -> Iterator[str]:
    server = _serve_jwks(idp_key)
    yield _url_of(server)
    server.shutdown()
    server.server_close()


def _oidc_app(
    settings: Settings,
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    jwks_url: str,
) -> FastAPI:
    configured = settings.model_copy(
        update={"oidc_issuer": ISSUER, "oidc_audience": AUDIENCE, "oidc_jwks_url": jwks_url}
    )
    return build_app(configured, engine, session_factory)


@pytest.fixture
def oidc_app_for(
    settings: Settings, engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> Callable[[str], FastAPI]:
    """An app that trusts the identity provider publishing its keys at the given URL."""
    return lambda jwks_url: _oidc_app(settings, engine, session_factory, jwks_url)


@pytest.fixture
def oidc_app(oidc_app_for: Callable[[str], FastAPI], jwks_url: str) -> FastAPI:
    return oidc_app_for(jwks_url)


@pytest.fixture
async def oidc_client(oidc_app: FastAPI) -> AsyncIterator[AsyncClient]:
    transport = ASGITransport(app=oidc_app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://oidc") as client:
        yield client


@pytest.fixture
async def staff_user(session_factory: async_sessionmaker[AsyncSession]) -> User:
    branch = await add_branch(session_factory)
    async with session_factory() as session:
        user = User(
            id=uuid.uuid4(),
            username="sso.user",
            display_name="单点登录用户",
            role="supervisor",
            branch_id=branch.id,
            external_subject=SUBJECT,
            password_hash=None,
        )
        session.add(user)
        await session.commit()
        return user


def idp_token(key: rsa.RSAPrivateKey, *, kid: str = "idp-key-1", **overrides: Any) -> str:
    now = utc_now()
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": SUBJECT,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
    }
    claims.update(overrides)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_idp_token_of_a_known_subject_is_accepted(
    oidc_client: AsyncClient, staff_user: User, idp_key: rsa.RSAPrivateKey
) -> None:
    response = await oidc_client.get("/v1/me", headers=bearer(idp_token(idp_key)))
    assert response.status_code == 200, response.text
    me = response.json()
    assert (me["id"], me["role"], me["name"]) == (str(staff_user.id), "supervisor", "sso.user")


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"aud": "another-api"}, "audience"),
        ({"iss": "https://evil.example.test/"}, "issuer"),
        ({"exp": 1_600_000_000, "iat": 1_599_999_000}, "expired"),
        ({"sub": "idp|unknown"}, "unknown or disabled"),
    ],
)
async def test_idp_token_with_wrong_claims_is_401(
    oidc_client: AsyncClient,
    staff_user: User,
    idp_key: rsa.RSAPrivateKey,
    claims: dict[str, Any],
    reason: str,
) -> None:
    response = await oidc_client.get("/v1/me", headers=bearer(idp_token(idp_key, **claims)))
    body = assert_unauthenticated(response)
    assert reason in body["detail"]


@pytest.mark.parametrize("kid", ["idp-key-1", "not-published"])
async def test_token_signed_by_another_key_is_401(
    oidc_client: AsyncClient, staff_user: User, stranger_key: rsa.RSAPrivateKey, kid: str
) -> None:
    token = idp_token(stranger_key, kid=kid)
    assert_unauthenticated(await oidc_client.get("/v1/me", headers=bearer(token)))


async def test_idp_token_is_refused_when_oidc_is_not_configured(
    client: AsyncClient, staff_user: User, idp_key: rsa.RSAPrivateKey
) -> None:
    assert_unauthenticated(await client.get("/v1/me", headers=bearer(idp_token(idp_key))))


async def test_idp_user_who_is_disabled_is_401(
    oidc_client: AsyncClient,
    staff_user: User,
    idp_key: rsa.RSAPrivateKey,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        user = await session.get_one(User, staff_user.id)
        user.active = False
        await session.commit()
    assert_unauthenticated(await oidc_client.get("/v1/me", headers=bearer(idp_token(idp_key))))


async def test_unreachable_signing_keys_are_a_503_to_retry_not_a_401(
    oidc_app_for: Callable[[str], FastAPI],
    settings: Settings,
    staff_user: User,
    idp_key: rsa.RSAPrivateKey,
) -> None:
    # A port nobody listens on: the identity provider is down, the token itself may be fine,
    # so the front end should retry rather than send the user to sign in again.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/realms/staff/certs"
    app = oidc_app_for(closed)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://oidc") as client:
        response = await client.get("/v1/me", headers=bearer(idp_token(idp_key)))
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == str(settings.retry_after_seconds)
    assert response.json()["code"] == "identity_provider_unavailable"


async def test_a_slow_key_fetch_does_not_hold_up_other_requests(
    oidc_app_for: Callable[[str], FastAPI],
    session_factory: async_sessionmaker[AsyncSession],
    staff_user: User,
    idp_key: rsa.RSAPrivateKey,
) -> None:
    server = _serve_jwks(idp_key)  # a new URL, so no keys are cached for it yet
    server.asked, server.release = threading.Event(), threading.Event()
    try:
        app = oidc_app_for(_url_of(server))
        agent = await add_actor(app, session_factory, role="agent")
        transport = ASGITransport(app=app)
        async with AsyncClient(transport=transport, base_url="http://oidc") as client:
            waiting = asyncio.create_task(client.get("/v1/me", headers=bearer(idp_token(idp_key))))
            # Had the fetch blocked the event loop, this test could not run again until the
            # identity provider answered (its handler gives up holding back after 30 s).
            assert await asyncio.to_thread(server.asked.wait, 30)
            meanwhile = await client.get("/v1/me", headers=agent.headers)
            assert meanwhile.status_code == 200
            assert not waiting.done()
            server.release.set()
            answered = await waiting
        assert answered.status_code == 200, answered.text
        assert answered.json()["id"] == str(staff_user.id)
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
