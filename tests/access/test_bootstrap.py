"""First start: one head office and one ``admin`` (several workers at once: tests/races)."""

from __future__ import annotations

import pytest
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
