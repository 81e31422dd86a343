"""The branch filter every scoped query uses, on a real table (branches, by their own id)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.access.principal import Principal
from app.access.scope import readable_by
from app.org.models import Branch
from tests.conftest import add_branch


def principal(branch_id: uuid.UUID | None, *permissions: str) -> Principal:
    kind = "user" if branch_id else "api_key"
    return Principal(kind, uuid.uuid4(), "p", "agent", branch_id, None, frozenset(permissions))


@pytest.fixture
async def branches(session_factory: async_sessionmaker[AsyncSession]) -> list[Branch]:
    return [await add_branch(session_factory) for _ in range(3)]


async def visible(session: AsyncSession, who: Principal, among: list[Branch]) -> set[uuid.UUID]:
    ids = [b.id for b in among]
    query = select(Branch.id).where(Branch.id.in_(ids)).where(readable_by(who, Branch.id))
    return set((await session.scalars(query)).all())


async def test_a_principal_sees_only_its_own_branch(
    session: AsyncSession, branches: list[Branch]
) -> None:
    own = branches[1].id
    assert await visible(session, principal(own, "tickets:read"), branches) == {own}


async def test_all_branches_permission_sees_everything(
    session: AsyncSession, branches: list[Branch]
) -> None:
    who = principal(branches[0].id, "scope:all_branches")
    assert await visible(session, who, branches) == {b.id for b in branches}


async def test_a_machine_client_bound_to_no_branch_sees_nothing(
    session: AsyncSession, branches: list[Branch]
) -> None:
    assert await visible(session, principal(None, "callers:lookup"), branches) == set()
