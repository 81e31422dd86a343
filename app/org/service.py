"""Branch rules: unique codes, optimistic concurrency on changes."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.access import audit
from app.access.principal import Principal
from app.api.etag import ANY_VERSION, ExpectedVersion
from app.core.errors import AlreadyExists, InvalidInput, NotFound, StaleVersion
from app.db.keyset import split_page
from app.org import repository
from app.org.models import Branch
from app.org.schemas import BranchCreate, BranchUpdate


async def create_branch(session: AsyncSession, actor: Principal, data: BranchCreate) -> Branch:
    branch = await repository.insert_branch(session, code=data.code, name=data.name)
    if branch is None:
        raise AlreadyExists(f"A branch with code {data.code} already exists.", field="code")
    await audit.record(session, actor, "branch.created", target_kind="branch", target_id=branch.id)
    return branch


async def get_branch(session: AsyncSession, branch_id: uuid.UUID) -> Branch:
    branch = await repository.get_branch(session, branch_id)
    if branch is None:
        raise NotFound(f"Branch {branch_id} does not exist.")
    return branch


async def require_named_branch(session: AsyncSession, branch_id: uuid.UUID) -> None:
    """A branch a request body names must exist: 422 on ``branch_id``, not a foreign-key 500.

    Only principals that see every branch can name another one than their own."""
    if await repository.get_branch(session, branch_id) is None:
        raise InvalidInput(f"Branch {branch_id} does not exist.", field="branch_id")


async def branch_id_by_code(session: AsyncSession, code: str) -> uuid.UUID | None:
    return await repository.branch_id_by_code(session, code)


async def list_branches(
    session: AsyncSession, *, limit: int, after: list[Any] | None, active: bool | None
) -> tuple[list[Branch], list[str] | None]:
    """One page of branches in creation order, and the sort key to continue after it."""
    rows = await repository.list_branches(session, limit=limit + 1, after=after, active=active)
    return split_page(rows, limit)


async def update_branch(
    session: AsyncSession,
    actor: Principal,
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
        await audit.record(
            session,
            actor,
            "branch.updated",
            target_kind="branch",
            target_id=branch_id,
            changes={k: str(v) for k, v in changes.items()},
        )
        return branch
    current = await repository.get_branch(session, branch_id)
    if current is None:
        raise NotFound(f"Branch {branch_id} does not exist.")
    raise StaleVersion(
        f"Branch {branch_id} is at version {current.version}; reload it and try again.",
        current_etag=f'"v{current.version}"',
    )
