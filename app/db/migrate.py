"""Apply Alembic migrations, guarded so that several processes starting at once do not race."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def migrations_dir() -> Path:
    """The ``migrations`` folder: beside the source checkout, or in the working folder (the
    container image installs the package into site-packages and keeps migrations in /srv/app)."""
    for candidate in (PROJECT_ROOT / "migrations", Path.cwd() / "migrations"):
        if (candidate / "env.py").exists():
            return candidate
    raise RuntimeError("No migrations folder found beside the source or in the working folder.")


# Any constant shared by all instances; the number spells "CDMIGRAT" in ASCII.
MIGRATION_LOCK_KEY = 0x43444D4947524154 - (1 << 63)


def alembic_config() -> Config:
    """Alembic's config built in code, so ``contact-desk migrate`` works from any folder."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("the migrations folder has no head revision")
    return head


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _upgrade(connection: Connection, target: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, target)


def _downgrade(connection: Connection, target: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, target)


async def upgrade(engine: AsyncEngine, target: str = "head") -> None:
    """Upgrade to ``target`` under a session-level advisory lock held for the whole run."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        try:
            await connection.commit()
            await connection.run_sync(_upgrade, target)
            await connection.commit()
        finally:
            await connection.execute(
                text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
            await connection.commit()
    logger.info("database migrated", extra={"revision": target})


async def downgrade(engine: AsyncEngine, target: str) -> None:
    async with engine.connect() as connection:
        await connection.run_sync(_downgrade, target)
        await connection.commit()
