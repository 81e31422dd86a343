"""The migrations build the schema the models describe, and they run both ways."""

from __future__ import annotations

import os

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect

from app.db import migrate
from app.db.registry import metadata
from app.db.session import create_engine_from_settings
from tests.conftest import _test_settings, create_scratch_database


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_upgrade_downgrade_upgrade_and_no_drift(server_url: str) -> None:
    url = await create_scratch_database(server_url, f"contact_desk_migrations_{os.getpid()}")
    engine = create_engine_from_settings(_test_settings(url), url)
    try:
        await migrate.upgrade(engine)
        async with engine.connect() as connection:
            assert await connection.run_sync(migrate.current_revision) == migrate.head_revision()
            assert await connection.run_sync(_diff) == []

        await migrate.downgrade(engine, "base")
        async with engine.connect() as connection:
            assert await connection.run_sync(migrate.current_revision) is None
            assert await connection.run_sync(_tables) <= {"alembic_version"}

        await migrate.upgrade(engine)
        async with engine.connect() as connection:
            assert await connection.run_sync(_diff) == []
            assert {"branches", "idempotency_keys"} <= await connection.run_sync(_tables)
    finally:
        await engine.dispose()


async def test_two_processes_migrating_at_once_do_not_collide(server_url: str) -> None:
    import asyncio

    url = await create_scratch_database(server_url, f"contact_desk_migrate_race_{os.getpid()}")
    engines = [create_engine_from_settings(_test_settings(url), url) for _ in range(3)]
    try:
        await asyncio.gather(*(migrate.upgrade(engine) for engine in engines))
        async with engines[0].connect() as connection:
            assert await connection.run_sync(migrate.current_revision) == migrate.head_revision()
    finally:
        for engine in engines:
            await engine.dispose()
