"""Tokens of the company identity provider, verified for real against a JWKS it publishes.

The JWKS is served over HTTP from a thread: PyJWKClient refuses file:// URLs (it only fetches
http and https, so a URL taken from a token cannot make it read local files).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
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
from tests.conftest import add_branch, build_app

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


class _JwksHandler(BaseHTTPRequestHandler):
    server: _JwksServer

    def do_GET(self) -> None:
        body = self.server.jwks
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass


@pytest.fixture(scope="module")
def jwks_url(idp_key: rsa.RSAPrivateKey) -> Iterator[str]:
    jwk: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(idp_key.public_key()))
    jwk.update(kid="idp-key-1", use="sig", alg="RS256")
    server = _JwksServer(("127.0.0.1", 0), _JwksHandler)
    server.jwks = json.dumps({"keys": [jwk]}).encode()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/realms/staff/certs"
    server.shutdown()
    server.server_close()


@pytest.fixture
def oidc_app(
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
