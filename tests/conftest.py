"""Test harness: a real PostgreSQL, the schema built by running the migrations.

- ``TEST_DATABASE_URL`` set → a fresh database on that server; unset → an embedded server in a
  temporary folder (``pgserver``), started once per test session.
- Each test runs inside one outer transaction that is rolled back at the end; the app's sessions
  join it through savepoints, so a request's ``commit()`` is real to the code but leaves nothing.
- Tests of races need real commits on separate connections: they use ``committed_db``, which
  truncates the tables afterwards.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from app.access.models import User
from app.access.passwords import hash_password
from app.access.principal import Principal
from app.access.secrets import load_key_material
from app.access.tokens import issue_local
from app.core.clock import utc_now
from app.core.config import Environment, Settings
from app.db import direct, migrate
from app.db.embedded import EmbeddedPostgres, start_embedded
from app.db.registry import metadata
from app.db.session import Database, create_engine_from_settings, make_session_factory
from app.main import create_app
from app.org.models import Branch

logging.getLogger("pgserver").setLevel(logging.WARNING)


def _test_settings(url: str) -> Settings:
    return Settings(
        environment=Environment.TEST,
        database_url=url,
        log_json=True,
        db_pool_size=20,
        db_max_overflow=120,
    )


@pytest.fixture(scope="session")
def embedded_server() -> Iterator[EmbeddedPostgres | None]:
    if os.environ.get("TEST_DATABASE_URL"):
        yield None
        return
    folder = Path(tempfile.mkdtemp(prefix="contact-desk-test-"))
    server = start_embedded(folder / "pg", database="postgres")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def server_url(embedded_server: EmbeddedPostgres | None) -> str:
    """URL of the test server's maintenance database (used to create scratch databases)."""
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        return Settings(database_url=given).database_url or given
    assert embedded_server is not None
    return embedded_server.url("postgres")


def _with_database(url: str, database: str) -> str:
    head, _, query = url.partition("?")
    base = head.rsplit("/", 1)[0]
    return f"{base}/{database}" + (f"?{query}" if query else "")


async def create_scratch_database(server_url: str, name: str) -> str:
    dsn = server_url.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return _with_database(server_url, name)


@pytest.fixture(scope="session")
async def database_url(server_url: str) -> str:
    """A database for this test session, migrated to head."""
    url = await create_scratch_database(server_url, f"contact_desk_test_{os.getpid()}")
    engine = create_engine_from_settings(_test_settings(url), url)
    await migrate.upgrade(engine)
    await direct.dispose(engine)
    return url


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return _test_settings(database_url)


@pytest.fixture(scope="session")
async def engine(settings: Settings, database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine_from_settings(settings, database_url)
    yield engine
    await direct.dispose(engine)


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as connection:
        transaction = await connection.begin()
        yield connection
        await transaction.rollback()


@pytest.fixture
def session_factory(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(
        bind=connection,
        expire_on_commit=False,
        autoflush=False,
        join_transaction_mode="create_savepoint",
    )


@pytest.fixture
async def session(
    session_factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    async with session_factory() as session:
        yield session


def build_app(
    settings: Settings, engine: AsyncEngine, factory: async_sessionmaker[AsyncSession]
) -> FastAPI:
    app = create_app(settings, run_lifespan=False)
    app.state.db = Database(engine=engine, session_factory=factory)
    return app


@pytest.fixture
def app(
    settings: Settings, engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> FastAPI:
    return build_app(settings, engine, session_factory)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def committed_db(settings: Settings, engine: AsyncEngine) -> AsyncIterator[FastAPI]:
    """An app whose requests really commit, each on its own pooled connection (for races)."""
    app = build_app(settings, engine, make_session_factory(engine))
    yield app
    await truncate_test_data(engine)


@pytest.fixture
async def committed(engine: AsyncEngine) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions that really commit, each on its own connection; the data is removed after."""
    yield make_session_factory(engine)
    await truncate_test_data(engine)


# Reference data the data migrations seed: kept between tests.
SEEDED_TABLES = frozenset(
    {
        "alembic_version",
        "role_permissions",
        "calendars",
        "calendar_days",
        "calendar_years",
        "rule_sets",
        "clock_definitions",
        "complaint_causes",
        "callback_questionnaires",
        "callback_contact_policies",
    }
)


async def truncate_test_data(engine: AsyncEngine) -> None:
    """Empty every table but the seeded ones. The append-only ledgers refuse TRUNCATE by
    trigger; replica mode skips triggers for this one transaction (superuser only)."""
    tables = ", ".join(
        f'"{table.name}"' for table in metadata.sorted_tables if table.name not in SEEDED_TABLES
    )
    async with engine.begin() as connection:
        await connection.execute(text("SET LOCAL session_replication_role = replica"))
        await connection.execute(text(f"TRUNCATE {tables} CASCADE"))


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on (for a service a test starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def unique_code(prefix: str = "B") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8].upper()}"


PASSWORD = "correct horse battery staple"
PASSWORD_HASH = hash_password(PASSWORD)  # hashed once: Argon2 is slow on purpose


@dataclass
class Actor:
    user: User
    headers: dict[str, str]

    @property
    def id(self) -> uuid.UUID:
        return self.user.id

    def principal(self, *permissions: str) -> Principal:
        """This user as a service function's acting principal, with just ``permissions``."""
        return Principal(
            kind="user",
            id=self.user.id,
            name=self.user.username,
            role=self.user.role,
            branch_id=self.user.branch_id,
            team_id=self.user.team_id,
            permissions=frozenset(permissions),
        )


async def add_branch(factory: async_sessionmaker[AsyncSession], code: str | None = None) -> Branch:
    async with factory() as session:
        branch = Branch(id=uuid.uuid4(), code=code or unique_code(), name="测试分公司")
        session.add(branch)
        await session.commit()
        return branch


async def add_actor(
    app: FastAPI,
    factory: async_sessionmaker[AsyncSession],
    *,
    role: str = "agent",
    branch: Branch | None = None,
    username: str | None = None,
) -> Actor:
    """A user of ``role`` with a real token, as a client would hold after signing in."""
    branch = branch or await add_branch(factory)
    async with factory() as session:
        user = User(
            id=uuid.uuid4(),
            username=username or f"user-{uuid.uuid4().hex[:10]}",
            display_name="测试用户",
            role=role,
            branch_id=branch.id,
            password_hash=PASSWORD_HASH,
            credentials_version=1,
        )
        session.add(user)
        await session.commit()
        keys = getattr(app.state, "keys", None)
        if keys is None:
            keys = await load_key_material(session, app.state.settings)
            app.state.keys = keys
    token = issue_local(
        keys.jwt_secret,
        user_id=str(user.id),
        credentials_version=user.credentials_version,
        now=utc_now(),
        minutes=15,
    )
    return Actor(user=user, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
async def admin(app: FastAPI, session_factory: async_sessionmaker[AsyncSession]) -> Actor:
    return await add_actor(app, session_factory, role="admin")
