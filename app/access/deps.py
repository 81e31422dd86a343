"""Authentication and permission checks: the one dependency every ``/v1`` route declares.

principal: Annotated[Principal, Depends(require(Permission.TICKETS_READ))]

The dependency reads the credential headers itself and takes the request's session from the
request, rather than declaring FastAPI security schemes and the session as sub-dependencies:
each sub-dependency costs FastAPI's solver a walk per request (a third of a lookup's CPU in
the framework went there). The OpenAPI document still declares both schemes on every route that
authenticates (:func:`declare_security`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import api_keys, tokens
from app.access.models import ApiKey, RolePermission, User
from app.access.permissions import Permission
from app.access.pii import FieldCipher, PiiCodec
from app.access.principal import Principal
from app.access.principal_cache import PrincipalCache
from app.access.ratelimit import RateLimiter
from app.access.secrets import KeyMaterial, load_key_material
from app.api.deps import session_of
from app.api.routing import leaf_routes
from app.core.clock import utc_now
from app.core.config import Settings
from app.core.errors import Forbidden, RateLimited, TemporarilyUnavailable, Unauthenticated

API_KEY_HEADER = "X-API-Key"
SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    "APIKeyHeader": {
        "type": "apiKey",
        "in": "header",
        "name": API_KEY_HEADER,
        "description": "A machine key",
    },
    "HTTPBearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "A token from /v1/auth/token, or an API key",
    },
}


class IdentityProviderUnavailable(TemporarilyUnavailable):
    code = "identity_provider_unavailable"


_PERMISSION_CACHE_SECONDS = 30.0
_LAST_USED_RESOLUTION_SECONDS = 60


async def key_material(request: Request) -> KeyMaterial:
    """The keys, resolved once per process (generated ones are created on first use)."""
    cached: KeyMaterial | None = getattr(request.app.state, "keys", None)
    if cached is None:
        async with request.app.state.db.session_factory() as session:
            cached = await load_key_material(session, request.app.state.settings)
        request.app.state.keys = cached
    return cached


async def pii_codec(request: Request) -> PiiCodec:
    """The process's codec for personal numbers (encryption keys and lookup hash key)."""
    codec: PiiCodec | None = getattr(request.app.state, "pii_codec", None)
    if codec is None:
        keys = await key_material(request)
        codec = PiiCodec(FieldCipher(keys.pii_keys), keys.pii_hash_key)
        request.app.state.pii_codec = codec
    return codec


async def _role_permissions(request: Request, session: AsyncSession, role: str) -> frozenset[str]:
    state = request.app.state
    loaded_at: float = getattr(state, "permissions_loaded_at", 0.0)
    table: dict[str, frozenset[str]] | None = getattr(state, "role_permissions", None)
    if table is None or time.monotonic() - loaded_at > _PERMISSION_CACHE_SECONDS:
        rows = (await session.execute(select(RolePermission.role, RolePermission.permission))).all()
        grouped: dict[str, set[str]] = {}
        for row_role, permission in rows:
            grouped.setdefault(row_role, set()).add(permission)
        table = {name: frozenset(perms) for name, perms in grouped.items()}
        state.role_permissions, state.permissions_loaded_at = table, time.monotonic()
    return table.get(role, frozenset())


async def _principal_from_api_key(
    request: Request, session: AsyncSession, presented: str, keys: KeyMaterial
) -> Principal:
    parts = api_keys.split(presented)
    if parts is None:
        raise Unauthenticated("The API key is not valid.", error="invalid_token")
    lookup_id, secret = parts
    key = await session.scalar(select(ApiKey).where(ApiKey.lookup_id == lookup_id))
    if key is None or not api_keys.matches(keys.api_key_pepper, secret, key.secret_hash):
        raise Unauthenticated("The API key is not valid.", error="invalid_token")
    if key.revoked_at is not None:
        raise Unauthenticated("The API key has been revoked.", error="invalid_token")
    now = utc_now()
    # Conditional, so a busy IVR does not write the row on every call.
    await session.execute(
        update(ApiKey)
        .where(ApiKey.id == key.id)
        .where(
            (ApiKey.last_used_at.is_(None))
            | (ApiKey.last_used_at < now - timedelta(seconds=_LAST_USED_RESOLUTION_SECONDS))
        )
        .values(last_used_at=now)
    )
    return Principal(
        kind="api_key",
        id=key.id,
        name=key.name,
        role=key.role,
        branch_id=key.branch_id,
        team_id=None,
        permissions=await _role_permissions(request, session, key.role),
    )


async def _principal_from_token(
    request: Request, session: AsyncSession, token: str, keys: KeyMaterial
) -> tuple[Principal, datetime]:
    settings: Settings = request.app.state.settings
    try:
        claims = await tokens.verify_without_blocking(
            token, local_secret=keys.jwt_secret, settings=settings
        )
    except tokens.TokenRejected as exc:
        raise Unauthenticated(
            f"The token was refused: {exc.reason}.", error="invalid_token"
        ) from exc
    except tokens.SigningKeysUnavailable as exc:
        raise IdentityProviderUnavailable(
            "The identity provider's signing keys cannot be fetched right now, so the token"
            " cannot be checked. Retry the same request later.",
            retry_after=settings.retry_after_seconds,
        ) from exc
    if claims.source == "local":
        try:
            user = await session.get(User, uuid.UUID(claims.subject))
        except ValueError:
            user = None
    else:
        user = await session.scalar(select(User).where(User.external_subject == claims.subject))
    if user is None or not user.active:
        raise Unauthenticated("The account is unknown or disabled.", error="invalid_token")
    if claims.source == "local" and claims.credentials_version != user.credentials_version:
        raise Unauthenticated(
            "The password was reset after this token was issued; sign in again.",
            error="invalid_token",
        )
    principal = Principal(
        kind="user",
        id=user.id,
        name=user.username,
        role=user.role,
        branch_id=user.branch_id,
        team_id=user.team_id,
        permissions=await _role_permissions(request, session, user.role),
    )
    return principal, claims.expires_at


async def _resolve(request: Request, session: AsyncSession, credential: str) -> Principal:
    """Check a credential against the database and remember whom it belongs to."""
    keys = await key_material(request)
    remember = float("inf")
    if credential.startswith(api_keys.PREFIX):
        principal = await _principal_from_api_key(request, session, credential, keys)
    else:
        principal, expires_at = await _principal_from_token(request, session, credential, keys)
        remember = (expires_at - utc_now()).total_seconds()
    _principals(request).put(credential, principal, valid_for=remember)
    return principal


def _principals(request: Request) -> PrincipalCache:
    cache: PrincipalCache | None = getattr(request.app.state, "principals", None)
    if cache is None:
        cache = PrincipalCache(request.app.state.settings.auth_cache_seconds)
        request.app.state.principals = cache
    return cache


def presented_credential(request: Request) -> str | None:
    """The API key header, else the token of an ``Authorization: Bearer`` header (another
    scheme, or a blank value, counts as none)."""
    headers = request.headers
    api_key = headers.get(API_KEY_HEADER)
    if api_key:
        return api_key
    scheme, _, token = (headers.get("Authorization") or "").partition(" ")
    token = token.strip()
    if token and scheme.lower() == "bearer":
        return token
    return None


async def authenticate(request: Request) -> Principal:
    credential = presented_credential(request)
    if not credential:
        raise Unauthenticated("Send a bearer token or an API key.")
    principal = _principals(request).get(credential)
    if principal is None:
        principal = await _resolve(request, session_of(request), credential)
    limiter: RateLimiter = request.app.state.rate_limiter
    wait = limiter.acquire(principal.actor)
    if wait is not None:
        raise RateLimited("Too many requests from this principal; slow down.", retry_after=wait)
    request.state.principal = principal
    return principal


def require(permission: Permission) -> Callable[..., Awaitable[Principal]]:
    """A dependency that authenticates and then checks one permission (403 without it)."""

    async def dependency(request: Request) -> Principal:
        principal = await authenticate(request)
        if not principal.can(permission):
            raise Forbidden(f"This needs the permission '{permission}'.")
        return principal

    dependency.__name__ = f"require_{permission.value.replace(':', '_')}"
    dependency.authenticates = True  # type: ignore[attr-defined]
    return dependency


authenticate.authenticates = True  # type: ignore[attr-defined]


def _authenticates(dependant: Dependant) -> bool:
    return any(
        getattr(dep.call, "authenticates", False) or _authenticates(dep)
        for dep in dependant.dependencies
    )


def declare_security(schema: dict[str, Any], routes: Iterable[object]) -> None:
    """Declare the two credential schemes, and require one of them on every operation whose
    route authenticates, where FastAPI would have put them had they been dependencies."""
    schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    requirement: list[dict[str, list[str]]] = [{"HTTPBearer": []}, {"APIKeyHeader": []}]
    for route in leaf_routes(routes):
        if not isinstance(route, APIRoute) or not _authenticates(route.dependant):
            continue
        for method in route.methods or ():
            path_item = schema["paths"][route.path_format]
            operation = path_item[method.lower()]
            # FastAPI writes "security" right after "operationId"; keep the document's order.
            rebuilt: dict[str, Any] = {}
            for key, value in operation.items():
                rebuilt[key] = value
                if key == "operationId":
                    rebuilt["security"] = requirement
            rebuilt.setdefault("security", requirement)
            path_item[method.lower()] = rebuilt
