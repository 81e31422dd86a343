"""First start: one head office and one ``admin``, however many workers start at once.

No autouse fixture here opens the transactional client: the race test commits for real.
"""

from __future__ import annotations

import asyncio

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.access.bootstrap import HEAD_OFFICE_CODE, ensure_first_admin
from app.access.models import AuditEvent, User
from app.core.config import Settings
from app.org.models import Branch
from tests.access.helpers import sign_in

CONFIGURED = "configured first-start password"


async def _admins(session: AsyncSession) -> list[User]:
    return list((await session.scalars(select(User).where(User.username == "admin"))).all())


async def test_first_start_creates_head_office_and_admin_once(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    client: AsyncClient,
) -> None:
    configured = settings.model_copy(update={"admin_password": SecretStr(CONFIGURED)})
    assert await ensure_first_admin(session_factory, configured) is None

    (admin,) = await _admins(session)
    assert admin.role == "admin"
    head_office = await session.get_one(Branch, admin.branch_id)
    assert head_office.code == HEAD_OFFICE_CODE
    event = await session.scalar(select(AuditEvent).where(AuditEvent.target_id == str(admin.id)))
    assert event is not None
    assert (event.actor, event.action) == ("system:bootstrap", "user.created")
    assert (await sign_in(client, "admin", CONFIGURED)).status_code == 200

    assert await ensure_first_admin(session_factory, configured) is None
    assert len(await _admins(session)) == 1
    assert await session.scalar(select(func.count()).select_from(User)) == 1


async def test_without_a_configured_password_one_is_generated_and_printed(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    client: AsyncClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert settings.admin_password is None
    generated = await ensure_first_admin(session_factory, settings)
    assert generated is not None
    assert len(generated) >= 16
    assert generated in capsys.readouterr().err
    assert (await sign_in(client, "admin", generated)).status_code == 200
    assert await ensure_first_admin(session_factory, settings) is None


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
