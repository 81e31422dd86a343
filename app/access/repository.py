"""Queries on users, teams, API keys, the audit log and the login throttle."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.models import ApiKey, AuditEvent, LoginThrottle, Team, User
from app.db.base import Base
from app.db.keyset import after_key

ModelT = TypeVar("ModelT", bound=Base)


async def user_by_username(session: AsyncSession, username: str) -> User | None:
    user: User | None = await session.scalar(
        select(User).where(func.lower(User.username) == username.lower())
    )
    return user


async def list_users(
    session: AsyncSession,
    *,
    limit: int,
    after: list[Any] | None,
    branch_id: uuid.UUID | None,
    role: str | None,
    active: bool | None,
) -> list[User]:
    query = after_key(select(User), User.created_at, User.id, after).limit(limit)
    if branch_id is not None:
        query = query.where(User.branch_id == branch_id)
    if role is not None:
        query = query.where(User.role == role)
    if active is not None:
        query = query.where(User.active == active)
    return list((await session.scalars(query)).all())


async def list_teams(
    session: AsyncSession, *, limit: int, after: list[Any] | None, branch_id: uuid.UUID | None
) -> list[Team]:
    query = after_key(select(Team), Team.created_at, Team.id, after).limit(limit)
    if branch_id is not None:
        query = query.where(Team.branch_id == branch_id)
    return list((await session.scalars(query)).all())


async def list_api_keys(
    session: AsyncSession, *, limit: int, after: list[Any] | None
) -> list[ApiKey]:
    query = after_key(select(ApiKey), ApiKey.created_at, ApiKey.id, after).limit(limit)
    return list((await session.scalars(query)).all())


async def lock_active_users_of_role(session: AsyncSession, role: str) -> list[uuid.UUID]:
    """The active users of ``role``, locked FOR UPDATE (in id order) until the transaction ends."""
    rows = await session.scalars(
        select(User.id).where(User.role == role, User.active).order_by(User.id).with_for_update()
    )
    return list(rows.all())


async def versioned_update(
    session: AsyncSession,
    model: type[ModelT],
    row_id: uuid.UUID,
    *,
    expected_version: int | None,
    changes: dict[str, Any],
) -> ModelT | None:
    """Update a row that has ``id`` and ``version`` if still at ``expected_version``."""
    table: Any = model
    condition = table.id == row_id
    if expected_version is not None:
        condition = condition & (table.version == expected_version)
    updated = await session.scalar(
        update(table)
        .where(condition)
        .values(**changes, version=table.version + 1, updated_at=func.now())
        .returning(table.id)
    )
    if updated is None:
        return None
    row = await session.get_one(model, updated)
    await session.refresh(row)
    return row


async def list_audit_events(
    session: AsyncSession,
    *,
    limit: int,
    before_id: int | None,
    action: str | None,
    target_kind: str | None,
    target_id: str | None,
    actor: str | None,
) -> list[AuditEvent]:
    """Newest first, continuing below ``before_id``."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    for column, value in (
        (AuditEvent.action, action),
        (AuditEvent.target_kind, target_kind),
        (AuditEvent.target_id, target_id),
        (AuditEvent.actor, actor),
    ):
        if value is not None:
            query = query.where(column == value)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    return list((await session.scalars(query)).all())


async def throttle_state(session: AsyncSession, username_key: str) -> LoginThrottle | None:
    return await session.get(LoginThrottle, username_key)


async def record_login_failure(
    session: AsyncSession, username_key: str, *, now: datetime, lock_after: int
) -> LoginThrottle:
    """Count one failure; from ``lock_after`` failures on, lock for 30 s, doubling to 1 hour."""
    row = await session.scalar(
        insert(LoginThrottle)
        .values(username_key=username_key, failures=1, last_failure_at=now)
        .on_conflict_do_update(
            index_elements=[LoginThrottle.username_key],
            set_={"failures": LoginThrottle.failures + 1, "last_failure_at": now},
        )
        .returning(LoginThrottle)
        # The caller has usually loaded this row already (to check the lock): without this the
        # identity map hands back that stale object and the new count is never seen.
        .execution_options(populate_existing=True)
    )
    assert row is not None
    if row.failures >= lock_after:
        seconds = min(30 * 2 ** (row.failures - lock_after), 3600)
        row.locked_until = now + timedelta(seconds=seconds)
        await session.flush()
    return row


async def clear_login_failures(session: AsyncSession, username_key: str) -> None:
    await session.execute(delete(LoginThrottle).where(LoginThrottle.username_key == username_key))
