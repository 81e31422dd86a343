"""First start on an empty database: a head-office branch and the ``admin`` user."""

from __future__ import annotations

import secrets
import sys
import uuid

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.access import audit
from app.access.models import User
from app.access.passwords import hash_password
from app.core.config import Settings
from app.org.models import Branch

_BOOTSTRAP_LOCK = 0x43444144  # "CDAD"
HEAD_OFFICE_CODE = "HQ"


async def ensure_first_admin(
    factory: async_sessionmaker[AsyncSession], settings: Settings
) -> str | None:
    """Create ``admin`` if there are no users; returns the generated password, if any.

    Several workers may start at once: a transaction-level advisory lock and a re-check make
    exactly one of them create the user (and print its password).
    """
    async with factory() as session:
        if await session.scalar(select(User.id).limit(1)) is not None:
            return None
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _BOOTSTRAP_LOCK})
        if await session.scalar(select(User.id).limit(1)) is not None:
            return None
        await session.execute(
            insert(Branch)
            .values(id=uuid.uuid4(), code=HEAD_OFFICE_CODE, name="总公司 (head office)")
            .on_conflict_do_nothing(index_elements=[Branch.code])
        )
        head_office = await session.scalar(select(Branch.id).where(Branch.code == HEAD_OFFICE_CODE))
        generated = None if settings.admin_password else secrets.token_urlsafe(15)
        password = (
            settings.admin_password.get_secret_value() if settings.admin_password else generated
        )
        assert password is not None
        assert head_office is not None
        admin = User(
            id=uuid.uuid4(),
            username="admin",
            display_name="Administrator",
            role="admin",
            branch_id=head_office,
            password_hash=hash_password(password),
        )
        session.add(admin)
        await session.flush()
        await audit.record(
            session,
            "system:bootstrap",
            "user.created",
            target_kind="user",
            target_id=admin.id,
            role="admin",
        )
        await session.commit()
    if generated is not None:
        # Printed, not logged: shown once on the console, never kept in log files.
        print(
            "\n  Contact Desk first start: created user 'admin' with password "
            f"{generated}\n  Sign in at POST /v1/auth/token and change it "
            "(POST /v1/users/{id}/reset-password).\n",
            file=sys.stderr,
            flush=True,
        )
    return generated
