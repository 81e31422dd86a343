"""Bearer tokens: local HS256 tokens from the token endpoint, or the company IdP's (OIDC)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import jwt

from app.core.config import Settings

LOCAL_ISSUER = "contact-desk"
LOCAL_AUDIENCE = "contact-desk"
CREDENTIALS_VERSION_CLAIM = "credentials_version"
JWKS_TIMEOUT_SECONDS = 5


class SigningKeysUnavailable(Exception):
    """The identity provider's published keys could not be fetched: the token may be good."""


class TokenRejected(Exception):
    """The token is expired, badly signed, or not for us; ``reason`` says which (for 401)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TokenClaims:
    source: str  # "local" or "oidc"
    subject: str
    claims: dict[str, Any]

    @property
    def expires_at(self) -> datetime:
        return datetime.fromtimestamp(int(self.claims["exp"]), tz=UTC)

    @property
    def credentials_version(self) -> int:
        """The user's credentials version when a local token was issued (tokens from before
        versions existed count as the first)."""
        return int(self.claims.get(CREDENTIALS_VERSION_CLAIM, 1))


def issue_local(
    secret: bytes, *, user_id: str, credentials_version: int, now: datetime, minutes: int
) -> str:
    payload = {
        "iss": LOCAL_ISSUER,
        "aud": LOCAL_AUDIENCE,
        "sub": user_id,
        CREDENTIALS_VERSION_CLAIM: credentials_version,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=minutes)).timestamp()),
    }
    return jwt.encode(payload, secret, algorithm="HS256")


def _verify_local(token: str, secret: bytes) -> TokenClaims:
    claims = jwt.decode(
        token,
        secret,
        algorithms=["HS256"],
        audience=LOCAL_AUDIENCE,
        issuer=LOCAL_ISSUER,
        options={"require": ["exp", "sub", "aud", "iss"]},
    )
    return TokenClaims("local", str(claims["sub"]), claims)


@lru_cache(maxsize=4)
def _jwks_client(url: str) -> jwt.PyJWKClient:
    # Keys are cached and refetched when a token names an unknown key id (rotation at the IdP).
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=3600, timeout=JWKS_TIMEOUT_SECONDS)


def _verify_oidc(token: str, settings: Settings) -> TokenClaims:
    assert settings.oidc_jwks_url is not None
    signing_key = _jwks_client(settings.oidc_jwks_url).get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token,
        signing_key.key,
        algorithms=["RS256", "ES256", "PS256"],
        audience=settings.oidc_audience,
        issuer=settings.oidc_issuer,
        options={"require": ["exp", "sub", "aud", "iss"]},
    )
    return TokenClaims("oidc", str(claims["sub"]), claims)


def oidc_enabled(settings: Settings) -> bool:
    return bool(settings.oidc_issuer and settings.oidc_audience and settings.oidc_jwks_url)


def _signed_locally(token: str) -> bool:
    try:
        return jwt.get_unverified_header(token).get("alg") == "HS256"
    except jwt.PyJWTError:
        return True  # malformed: refused by ``verify`` without fetching anything


async def verify_without_blocking(
    token: str, *, local_secret: bytes, settings: Settings
) -> TokenClaims:
    """:func:`verify`, with an identity provider's token checked in a thread: checking it may
    fetch the provider's keys over HTTP (up to ``JWKS_TIMEOUT_SECONDS``), and the event loop
    serves every other request of the process meanwhile."""
    if _signed_locally(token) or not oidc_enabled(settings):
        return verify(token, local_secret=local_secret, settings=settings)
    return await asyncio.to_thread(verify, token, local_secret=local_secret, settings=settings)


def verify(token: str, *, local_secret: bytes, settings: Settings) -> TokenClaims:
    """Check signature, expiry, audience and issuer, choosing the source by the header."""
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") == "HS256":
            return _verify_local(token, local_secret)
        if oidc_enabled(settings):
            return _verify_oidc(token, settings)
        raise TokenRejected("unsupported token")
    except jwt.PyJWKClientConnectionError as exc:
        raise SigningKeysUnavailable(str(exc)) from exc
    except jwt.ExpiredSignatureError as exc:
        raise TokenRejected("token expired") from exc
    except jwt.InvalidAudienceError as exc:
        raise TokenRejected("token is for another audience") from exc
    except jwt.InvalidIssuerError as exc:
        raise TokenRejected("token from an unknown issuer") from exc
    except jwt.InvalidSignatureError as exc:
        raise TokenRejected("bad token signature") from exc
    except (jwt.PyJWTError, ValueError) as exc:
        raise TokenRejected("malformed token") from exc
