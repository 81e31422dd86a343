"""Alembic environment.

The service passes its own open connection in ``config.attributes["connection"]`` (so the
advisory lock it holds covers the whole upgrade). Run by hand, the URL comes from
``DATABASE_URL`` or, when unset, from the embedded server in ``.data/pg``.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from app.db.registry import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        compare_server_default=True,
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_standalone() -> None:
    from app.core.config import get_settings
    from app.db.embedded import start_embedded

    settings = get_settings()
    url = settings.database_url
    if url is None:
        url = start_embedded(settings.embedded_pg_data).url()
    engine = create_async_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


given = context.config.attributes.get("connection")
if given is not None:
    _run(given)
elif context.is_offline_mode():
    context.configure(url="postgresql://", target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_standalone())
