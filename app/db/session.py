"""The engine and the session factory: one per process, built from settings."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.core.config import Settings
from app.db import direct
from app.db.batch import install_alone_check


@dataclass
class Database:
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]

    async def dispose(self) -> None:
        await direct.dispose(self.engine)


def create_engine_from_settings(settings: Settings, url: str) -> AsyncEngine:
    """The engine, and beside it the direct pool for statements sent alone (``app.db.direct``),
    both with the same connection settings. Close them with ``app.db.direct.dispose``."""
    connect_args = {
        "timeout": settings.db_connect_timeout_seconds,
        "command_timeout": settings.db_statement_timeout_ms / 1000 + 5,
        "server_settings": {
            "statement_timeout": str(settings.db_statement_timeout_ms),
            "idle_in_transaction_session_timeout": "60000",
            "application_name": "contact-desk",
            "TimeZone": "UTC",
        },
    }
    engine = create_async_engine(
        url,
        pool_pre_ping=settings.db_pre_ping,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        pool_recycle=1800,
        connect_args=connect_args,
    )
    install_alone_check(engine)
    # As many as the engine's pool proper: requests beyond it wait at the route's gate.
    direct.attach(engine, connect_args, settings.db_pool_size, settings.db_pool_timeout_seconds)
    return engine


def make_session_factory(bind: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(bind, expire_on_commit=False, autoflush=False)


def create_database(settings: Settings, url: str) -> Database:
    engine = create_engine_from_settings(settings, url)
    return Database(engine=engine, session_factory=make_session_factory(engine))
