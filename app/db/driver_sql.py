"""Statements built with SQLAlchemy once, then sent to the driver as plain SQL on every use.

A hot read (the IVR's caller lookup, while the caller waits on the line) pays on each execution
for SQLAlchemy's cache key of the statement, the expansion of its ``IN`` lists and the ORM's
result setup — more than PostgreSQL spends running it. :func:`compile_for_driver` does all of
that once: the statement is compiled to the driver's SQL (``$n`` placeholders, ``IN`` lists
expanded) and later sent with ``exec_driver_sql``, its arguments in placeholder order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Executable
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

from app.db import direct


class RowMapping(Protocol):
    """A row read by column name: SQLAlchemy's ``RowMapping`` or asyncpg's ``Record``."""

    def __getitem__(self, name: str) -> Any: ...


@dataclass(frozen=True, slots=True)
class DriverQuery:
    sql: str
    names: tuple[str, ...]
    """The bind parameter of each ``$n``, in order."""
    fixed: Mapping[str, Any]
    """The values the statement carries itself (its constants and ``IN`` lists)."""
    supplied: frozenset[str]
    """The names each execution must supply."""

    def arguments(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        if values.keys() != self.supplied:
            raise ValueError(f"expected values for {sorted(self.supplied)}, got {sorted(values)}")
        return tuple(values[name] if name in values else self.fixed[name] for name in self.names)

    async def rows(self, session: AsyncSession, values: Mapping[str, Any]) -> list[RowMapping]:
        """The rows, each read by column name. A session that has sent nothing yet sends the
        statement alone through the direct pool (``app.db.direct``): no transaction to begin
        and commit, and no connection checked out of the session's pool for it."""
        pool = direct.pool_for(session)
        if pool is not None:
            return list(await pool.fetch(self.sql, self.arguments(values)))
        connection = await session.connection()
        result = await connection.exec_driver_sql(self.sql, self.arguments(values))
        return list(result.mappings().all())


def compile_for_driver(
    statement: Executable, dialect: Dialect, examples: Mapping[str, Any]
) -> DriverQuery:
    """Compile ``statement`` for ``dialect``. ``examples``: a value for each bind parameter that
    each execution supplies (only used to compile; never stored as a value)."""
    assert isinstance(statement, ClauseElement)
    compiled = statement.params(**examples).compile(
        dialect=dialect, compile_kwargs={"render_postcompile": True}
    )
    assert isinstance(compiled, SQLCompiler)
    names = tuple(compiled.positiontup or ())
    fixed = {name: value for name, value in compiled.params.items() if name not in examples}
    return DriverQuery(compiled.string, names, fixed, frozenset(examples))
