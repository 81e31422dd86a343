"""Many inserts, one statement: the hot write paths' answer to round trips.

A registration writes a complaint, its phones, two or three clocks with their ledger events and
a timeline event. Through the ORM's unit of work that is a flush per table and a round trip per
statement, and on a two-core machine the Python and protocol work per statement is what limits
throughput. :class:`WriteBatch` collects the rows instead and sends them as one statement: one
``INSERT … SELECT … FROM jsonb_populate_recordset(…)`` per table, chained as data-modifying
CTEs. PostgreSQL checks foreign keys at the end of the whole statement, so the order of the
CTEs does not matter.

A batch may carry *guards*: rows that must exist, locked ``FOR SHARE`` by the same statement
(e.g. "calendar CN is still at version 7", for due dates computed from a cached calendar). If a
guard finds no row, nothing is inserted and :meth:`WriteBatch.execute` returns ``False``; the
caller refreshes what it cached and builds the batch again.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, inspect, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import Base


@dataclass(frozen=True, slots=True)
class Guard:
    """``SELECT 1 FROM <table> WHERE <condition> FOR SHARE`` must find exactly one row."""

    table: str
    condition: str
    """SQL over the table's columns with ``:name`` placeholders for ``params``."""
    params: tuple[tuple[str, Any], ...]


def _json_default(value: object) -> object:
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    raise TypeError(f"cannot send {type(value).__name__} in a write batch")


def row_of(obj: Base) -> dict[str, Any]:
    """The column values set on a new ORM object, by column name (unset ones are left to the
    table's server defaults, exactly as a flush would)."""
    mapper = inspect(type(obj))
    state = obj.__dict__
    return {
        prop.columns[0].name: state[prop.key] for prop in mapper.column_attrs if prop.key in state
    }


class WriteBatch:
    """Rows to insert, and guards to hold, in one statement (see the module docstring)."""

    def __init__(self) -> None:
        # Rows with the same columns share one INSERT; a row without a column gets the
        # table's default, not a NULL, because it lands in an INSERT that does not name it.
        self._groups: dict[tuple[str, tuple[str, ...]], list[dict[str, Any]]] = {}
        self._guards: list[Guard] = []
        self._updates: list[tuple[str, str, dict[str, Any]]] = []

    def add(self, obj: Base) -> None:
        """Insert a new ORM object's row (the object stays transient: it is not added to the
        session, so nothing else writes it)."""
        table = obj.__table__
        assert isinstance(table, Table)
        self.insert(table, row_of(obj))

    def insert(self, table: Table, row: dict[str, Any]) -> None:
        self._groups.setdefault((table.name, tuple(sorted(row))), []).append(row)

    def update(self, table: Table, key: str, row: dict[str, Any]) -> None:
        """Set the columns of ``row`` on the existing row whose ``key`` column equals
        ``row[key]`` (a row written by an earlier statement: sibling CTEs cannot see each
        other's rows)."""
        self._updates.append((table.name, key, row))

    def require(self, guard: Guard) -> None:
        if guard not in self._guards:
            self._guards.append(guard)

    def __bool__(self) -> bool:
        return bool(self._groups or self._updates)

    def statement(self) -> tuple[str, dict[str, Any]]:
        """The SQL and its parameters (public for tests and for reading).

        Table names and guard conditions come from the code (SQLAlchemy metadata, constant
        strings), never from a request; every value travels as a bound parameter."""
        ctes: list[str] = []
        params: dict[str, Any] = {}
        checks: list[str] = []
        for number, guard in enumerate(self._guards):
            ctes.append(
                f"g{number} AS (SELECT 1 FROM {guard.table} WHERE "  # noqa: S608 (docstring)
                f"{_prefix(guard.condition, guard.params, f'g{number}_')} FOR SHARE)"
            )
            params.update({f"g{number}_{name}": value for name, value in guard.params})
            checks.append(f"(SELECT count(*) FROM g{number}) = 1")  # noqa: S608
        ctes.append(f"okay AS (SELECT {' AND '.join(checks) or 'true'} AS ok)")
        for number, ((table, columns), rows) in enumerate(self._groups.items()):
            names = ", ".join(columns)
            ctes.append(
                f"i{number} AS (INSERT INTO {table} ({names}) SELECT {names} "  # noqa: S608
                f"FROM jsonb_populate_recordset(NULL::{table}, CAST(:r{number} AS jsonb)) "
                "WHERE (SELECT ok FROM okay))"
            )
            params[f"r{number}"] = json.dumps(rows, default=_json_default, ensure_ascii=False)
        for number, (table, key, row) in enumerate(self._updates):
            assignments = ", ".join(f"{name} = x.{name}" for name in sorted(row) if name != key)
            ctes.append(
                f"u{number} AS (UPDATE {table} AS t SET {assignments} "  # noqa: S608
                f"FROM jsonb_populate_record(NULL::{table}, CAST(:u{number} AS jsonb)) AS x "
                f"WHERE t.{key} = x.{key} AND (SELECT ok FROM okay))"
            )
            params[f"u{number}"] = json.dumps(row, default=_json_default, ensure_ascii=False)
        return "WITH " + ",\n".join(ctes) + "\nSELECT ok FROM okay", params

    async def execute(self, session: AsyncSession) -> bool:
        """Send everything; ``False`` (and nothing written) if a guard found no row."""
        if not self._groups and not self._guards and not self._updates:
            return True
        # Rows the ORM still holds go first: batch rows may refer to them.
        await session.flush()
        sql, params = self.statement()
        applied = bool((await session.execute(text(sql), params)).scalar_one())
        self._groups.clear()
        self._guards.clear()
        self._updates.clear()
        return applied


def _prefix(condition: str, params: tuple[tuple[str, Any], ...], prefix: str) -> str:
    for name, _ in params:
        condition = condition.replace(f":{name}", f":{prefix}{name}")
    return condition
