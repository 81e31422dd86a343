"""Branch rules: unique codes, optimistic concurrency on changes."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.api.etag import ANY_VERSION, ExpectedVersion
from app.core.errors import AlreadyExists, InvalidCursor, NotFound, StaleVersion
from app.org import repository
from app.org.models import Branch
from app.org.schemas import BranchCreate, BranchUpdate


async def create_branch(session: AsyncSession, data: BranchCreate) -> Branch:
    branch = await repository.insert_branch(session, code=data.code, name=data.name)
    if branch is None:
        raise AlreadyExists(f"A branch with code {data.code} already exists.", field="code")
    return branch


async def get_branch(session: AsyncSession, branch_id: uuid.UUID) -> Branch:
    branch = await repository.get_branch(session, branch_id)
    if branch is None:
        raise NotFound(f"Branch {branch_id} does not exist.")
    return branch


async def list_branches(
    session: AsyncSession, *, limit: int, after: list[object] | None, active: bool | None
) -> tuple[list[Branch], list[str] | None]:
    """One page of branches in creation order, and the sort key to continue after it."""
    key: tuple[datetime, uuid.UUID] | None = None
    if after is not None:
        try:
            key = (datetime.fromisoformat(str(after[0])), uuid.UUID(str(after[1])))
        except (IndexError, ValueError) as exc:
            raise InvalidCursor() from exc
    rows = await repository.list_branches(session, limit=limit + 1, after=key, active=active)
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], [last.created_at.isoformat(), str(last.id)]


async def update_branch(
    session: AsyncSession,
    branch_id: uuid.UUID,
    data: BranchUpdate,
    *,
    expected: ExpectedVersion,
) -> Branch:
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    expected_version = None if expected == ANY_VERSION else int(expected)
    branch = await repository.update_branch(
        session, branch_id, expected_version=expected_version, changes=changes
    )
    if branch is not None:
        return branch
    current = await repository.get_branch(session, branch_id)
    if current is None:
        raise NotFound(f"Branch {branch_id} does not exist.")
    raise StaleVersion(
        f"Branch {branch_id} is at version {current.version}; reload it and try again.",
        current_etag=f'"v{current.version}"',
    )
