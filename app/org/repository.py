"""Queries on branches."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.keyset import after_key
from app.org.models import Branch


async def insert_branch(session: AsyncSession, *, code: str, name: str) -> Branch | None:
    """Insert a branch; ``None`` when the code is taken (the unique index decides, not Python)."""
    branch_id = await session.scalar(
        insert(Branch)
        .values(id=uuid.uuid4(), code=code, name=name)
        .on_conflict_do_nothing(index_elements=[Branch.code])
        .returning(Branch.id)
    )
    if branch_id is None:
        return None
    return await session.get_one(Branch, branch_id)


async def get_branch(session: AsyncSession, branch_id: uuid.UUID) -> Branch | None:
    return await session.get(Branch, branch_id)


async def branch_id_by_code(session: AsyncSession, code: str) -> uuid.UUID | None:
    found: uuid.UUID | None = await session.scalar(select(Branch.id).where(Branch.code == code))
    return found


async def list_branches(
    session: AsyncSession, *, limit: int, after: list[Any] | None, active: bool | None
) -> list[Branch]:
    query = after_key(select(Branch), Branch.created_at, Branch.id, after).limit(limit)
    if active is not None:
        query = query.where(Branch.active == active)
    return list((await session.scalars(query)).all())


async def update_branch(
    session: AsyncSession,
    branch_id: uuid.UUID,
    *,
    expected_version: int | None,
    changes: dict[str, Any],
) -> Branch | None:
    """Apply ``changes`` if the row is still at ``expected_version`` (``None``: any version).

    Returns the updated row, or ``None`` when no row matched (missing, or changed meanwhile).
    """
    condition = Branch.id == branch_id
    if expected_version is not None:
        condition = and_(condition, Branch.version == expected_version)
    updated_id = await session.scalar(
        update(Branch)
        .where(condition)
        .values(**changes, version=Branch.version + 1, updated_at=func.now())
        .returning(Branch.id)
    )
    if updated_id is None:
        return None
    branch = await session.get_one(Branch, updated_id)
    await session.refresh(branch)
    return branch
