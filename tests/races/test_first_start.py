"""Several workers starting at once on an empty database: one head office and one ``admin``
(a transaction-level advisory lock and a re-check). Real, committing sessions."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.access.bootstrap import HEAD_OFFICE_CODE, ensure_first_admin
from app.access.models import User
from app.core.config import Settings
from app.org.models import Branch


async def _admins(session: AsyncSession) -> list[User]:
    return list((await session.scalars(select(User).where(User.username == "admin"))).all())


async def test_concurrent_first_starts_create_exactly_one_admin(committed_db: FastAPI) -> None:
    factory: async_sessionmaker[AsyncSession] = committed_db.state.db.session_factory
    settings: Settings = committed_db.state.settings
    async with factory() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 0

    results = await asyncio.gather(*(ensure_first_admin(factory, settings) for _ in range(8)))

    assert len([r for r in results if r is not None]) == 1  # one password, printed once
    async with factory() as session:
        assert len(await _admins(session)) == 1
        offices = select(func.count()).where(Branch.code == HEAD_OFFICE_CODE)
        assert await session.scalar(offices) == 1
