"""Access rules: signing in, users, teams and API keys — each change audited."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import api_keys, audit, principal_cache, repository, tokens
from app.access.models import ApiKey, Team, User
from app.access.passwords import hash_password, verify_password
from app.access.principal import Principal
from app.access.schemas import (
    ApiKeyCreate,
    PasswordReset,
    TeamCreate,
    TeamUpdate,
    TokenOut,
    UserCreate,
    UserUpdate,
)
from app.access.secrets import KeyMaterial
from app.api.etag import ANY_VERSION, ExpectedVersion
from app.core.config import Settings
from app.core.errors import (
    AlreadyExists,
    Conflict,
    DomainError,
    InvalidCredentials,
    InvalidInput,
    NotFound,
    RateLimited,
    StaleVersion,
)
from app.org.models import Branch


@dataclass(frozen=True)
class LoginRefused:
    """A refused sign-in. Returned, not raised, so the failure count it wrote is committed."""

    error: DomainError


ADMIN_ROLE = "admin"


def _username_key(username: str) -> str:
    return hashlib.sha256(username.strip().lower().encode()).hexdigest()


async def sign_in(
    session: AsyncSession,
    *,
    settings: Settings,
    keys: KeyMaterial,
    username: str,
    password: str,
    now: datetime,
) -> TokenOut | LoginRefused:
    key = _username_key(username)
    throttle = await repository.throttle_state(session, key)
    if throttle is not None and throttle.locked_until is not None and throttle.locked_until > now:
        wait = int((throttle.locked_until - now).total_seconds()) + 1
        return LoginRefused(
            RateLimited("Too many failed sign-ins for this user name; wait.", retry_after=wait)
        )
    user = await repository.user_by_username(session, username)
    usable = user is not None and user.active
    if not verify_password(user.password_hash if usable and user else None, password):
        await repository.record_login_failure(
            session, key, now=now, lock_after=settings.login_lockout_after
        )
        return LoginRefused(InvalidCredentials(error="invalid_grant"))
    assert user is not None
    await repository.clear_login_failures(session, key)
    token = tokens.issue_local(
        keys.jwt_secret,
        user_id=str(user.id),
        credentials_version=user.credentials_version,
        now=now,
        minutes=settings.access_token_minutes,
    )
    return TokenOut(access_token=token, expires_in=settings.access_token_minutes * 60)


def _generated_password() -> str:
    return secrets.token_urlsafe(15)


async def _check_branch_and_team(
    session: AsyncSession, branch_id: uuid.UUID | None, team_id: uuid.UUID | None
) -> None:
    if branch_id is not None and await session.get(Branch, branch_id) is None:
        raise InvalidInput(f"Branch {branch_id} does not exist.", field="branch_id")
    if team_id is not None:
        team = await session.get(Team, team_id)
        if team is None:
            raise InvalidInput(f"Team {team_id} does not exist.", field="team_id")
        if branch_id is not None and team.branch_id != branch_id:
            raise InvalidInput("The team belongs to another branch.", field="team_id")


async def create_user(
    session: AsyncSession, actor: Principal, data: UserCreate
) -> tuple[User, str | None]:
    """Create a user; returns the generated password when none was given (shown once)."""
    await _check_branch_and_team(session, data.branch_id, data.team_id)
    generated = None
    if data.password is None and data.external_subject is None:
        generated = _generated_password()
    password = data.password.get_secret_value() if data.password else generated
    user = User(
        id=uuid.uuid4(),
        username=data.username,
        display_name=data.display_name,
        role=data.role,
        branch_id=data.branch_id,
        team_id=data.team_id,
        external_subject=data.external_subject,
        password_hash=hash_password(password) if password else None,
    )
    session.add(user)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise AlreadyExists(f"User name {data.username} is taken.", field="username") from exc
    await session.refresh(user)
    await audit.record(
        session,
        actor,
        "user.created",
        target_kind="user",
        target_id=user.id,
        role=user.role,
        branch_id=str(user.branch_id),
    )
    return user, generated


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(f"User {user_id} does not exist.")
    return user


def _version(expected: ExpectedVersion) -> int | None:
    return None if expected == ANY_VERSION else int(expected)


async def _stale_or_missing(session: AsyncSession, model: Any, row_id: uuid.UUID) -> DomainError:
    current = await session.get(model, row_id)
    if current is None:
        return NotFound(f"{model.__name__} {row_id} does not exist.")
    return StaleVersion(
        f"{model.__name__} {row_id} is at version {current.version}; reload and retry.",
        current_etag=f'"v{current.version}"',
    )


# Only team_id may be cleared with null; the rest are NOT NULL columns (null would be a 500).
_USER_NOT_NULL = ("display_name", "role", "branch_id", "active")


async def update_user(
    session: AsyncSession,
    actor: Principal,
    user_id: uuid.UUID,
    data: UserUpdate,
    *,
    expected: ExpectedVersion,
) -> User:
    changes = data.model_dump(exclude_unset=True)
    nulls = [name for name in _USER_NOT_NULL if name in changes and changes[name] is None]
    if nulls:
        raise InvalidInput(f"{', '.join(nulls)} cannot be null.", field=nulls[0])
    current = await get_user(session, user_id)
    if _stops_being_an_admin(current, changes):
        await _keep_an_admin(session, user_id)
    # Against the team the user will have, so a move to another branch cannot keep the old team.
    await _check_branch_and_team(
        session,
        changes.get("branch_id", current.branch_id),
        changes.get("team_id", current.team_id),
    )
    user = await repository.versioned_update(
        session, User, user_id, expected_version=_version(expected), changes=changes
    )
    if user is None:
        raise await _stale_or_missing(session, User, user_id)
    # A disabled user, new role or new branch counts from the next request (other instances:
    # within auth_cache_seconds).
    principal_cache.forget_everyone_when_committed(session)
    await audit.record(
        session,
        actor,
        "user.updated",
        target_kind="user",
        target_id=user_id,
        changes={k: str(v) for k, v in changes.items()},
    )
    return user


class LastAdmin(Conflict):
    code = "last_admin"
    title = "This is the last active administrator."


def _stops_being_an_admin(user: User, changes: dict[str, Any]) -> bool:
    if user.role != ADMIN_ROLE or not user.active:
        return False
    return changes.get("active") is False or changes.get("role", ADMIN_ROLE) != ADMIN_ROLE


async def _keep_an_admin(session: AsyncSession, leaving: uuid.UUID) -> None:
    """Refuse to disable or demote the last active administrator: nobody could then manage
    users, keys or the calendar without going to the database. The active admins are locked,
    so two admins demoting each other at once cannot both succeed."""
    admins = await repository.lock_active_users_of_role(session, ADMIN_ROLE)
    if not [admin_id for admin_id in admins if admin_id != leaving]:
        raise LastAdmin(
            "This is the last active administrator; make another user an administrator first.",
            field="active",
        )


async def reset_password(
    session: AsyncSession, actor: Principal, user_id: uuid.UUID, data: PasswordReset
) -> str | None:
    user = await get_user(session, user_id)
    generated = None if data.password else _generated_password()
    password = data.password.get_secret_value() if data.password else generated
    assert password is not None
    await repository.versioned_update(
        session,
        User,
        user.id,
        expected_version=None,
        changes={
            "password_hash": hash_password(password),
            # A reset is what an administrator does when a password may be known to someone
            # else: tokens signed in with the old one must stop working, not live out their
            # minutes.
            "credentials_version": User.credentials_version + 1,
        },
    )
    principal_cache.forget_everyone_when_committed(session)
    await audit.record(session, actor, "user.password_reset", target_kind="user", target_id=user_id)
    return generated


async def create_team(session: AsyncSession, actor: Principal, data: TeamCreate) -> Team:
    await _check_branch_and_team(session, data.branch_id, None)
    team = Team(id=uuid.uuid4(), branch_id=data.branch_id, code=data.code, name=data.name)
    session.add(team)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise AlreadyExists(f"Team {data.code} exists in that branch.", field="code") from exc
    await session.refresh(team)
    await audit.record(session, actor, "team.created", target_kind="team", target_id=team.id)
    return team


async def get_team(session: AsyncSession, team_id: uuid.UUID) -> Team:
    team = await session.get(Team, team_id)
    if team is None:
        raise NotFound(f"Team {team_id} does not exist.")
    return team


async def update_team(
    session: AsyncSession,
    actor: Principal,
    team_id: uuid.UUID,
    data: TeamUpdate,
    *,
    expected: ExpectedVersion,
) -> Team:
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    team = await repository.versioned_update(
        session, Team, team_id, expected_version=_version(expected), changes=changes
    )
    if team is None:
        raise await _stale_or_missing(session, Team, team_id)
    await audit.record(session, actor, "team.updated", target_kind="team", target_id=team_id)
    return team


async def create_api_key(
    session: AsyncSession, actor: Principal, keys: KeyMaterial, data: ApiKeyCreate
) -> tuple[ApiKey, str]:
    await _check_branch_and_team(session, data.branch_id, None)
    fresh = api_keys.generate(keys.api_key_pepper)
    key = ApiKey(
        id=uuid.uuid4(),
        name=data.name,
        role=data.role,
        branch_id=data.branch_id,
        lookup_id=fresh.lookup_id,
        secret_hash=fresh.secret_hash,
        created_by=actor.id if actor.kind == "user" else None,
    )
    session.add(key)
    await session.flush()
    await session.refresh(key)
    await audit.record(
        session, actor, "api_key.created", target_kind="api_key", target_id=key.id, role=key.role
    )
    return key, fresh.plaintext


async def revoke_api_key(
    session: AsyncSession, actor: Principal, key_id: uuid.UUID, now: datetime
) -> ApiKey:
    key = await session.get(ApiKey, key_id, with_for_update=True)
    if key is None:
        raise NotFound(f"API key {key_id} does not exist.")
    if key.revoked_at is None:
        key.revoked_at = now
        await session.flush()
        principal_cache.forget_everyone_when_committed(session)
        await audit.record(
            session, actor, "api_key.revoked", target_kind="api_key", target_id=key_id
        )
    return key
