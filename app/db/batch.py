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

The statement goes to the driver as it is (``exec_driver_sql``): its text depends only on the
batch's shape, so asyncpg's statement cache prepares it once per shape, and SQLAlchemy neither
parses nor compiles it. When it is the request's only statement (``alone=True``) it is sent
without ``BEGIN``/``COMMIT`` — one statement is atomic by itself — saving two round trips; the
session is then marked so that any later statement fails loudly instead of silently running in
a transaction of its own (:func:`install_alone_check`). A session that has sent nothing yet
sends it through the direct pool (``app.db.direct``), without a connection of its own.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar, cast

import orjson
from sqlalchemy import Table, event, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry

from app.db import direct
from app.db.autocommit import without_transaction
from app.db.base import Base


@dataclass(frozen=True, slots=True)
class Guard:
    """``SELECT 1 FROM <table> WHERE <condition> FOR SHARE`` must find exactly one row."""

    table: str
    condition: str
    """SQL over the table's columns with ``:name`` placeholders for ``params``."""
    params: tuple[tuple[str, Any], ...]


class ClaimTaken(Exception):
    """The batch's claim row exists already (another request made it): nothing was written."""


class StatementAfterAlone(RuntimeError):
    """A statement ran after a batch sent as the request's only statement: a programming
    error (it would have committed on its own, outside the batch's atomicity)."""


_ALONE_SENT = "contact_desk.alone_batch_sent"
_ALONE = "contact_desk.sending_alone"


def _json_default(value: object) -> object:
    # orjson writes UUIDs, dates, datetimes and enums itself; not Decimals, nor asyncpg's own
    # UUID type (a uuid.UUID subclass) in ids read back from the database.
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    raise TypeError(f"cannot send {type(value).__name__} in a write batch")


def _json(value: object) -> str:
    return orjson.dumps(value, default=_json_default).decode()


ModelT = TypeVar("ModelT", bound=Base)

_ATTRIBUTES: dict[type[Base], frozenset[str]] = {}


def new_row(model: type[ModelT], **values: Any) -> ModelT:
    """A new ``model`` object holding ``values``, built without the ORM's per-attribute events
    (a hot path builds several per request: about 1 µs each instead of 17 for a clock event).

    It behaves as any new ORM object: attributes read and set as usual, :func:`row_of` and a
    flush (``session.add``) both take exactly these values. Unknown names are refused, as the
    ORM's own constructor does."""
    allowed = _ATTRIBUTES.get(model)
    if allowed is None:
        allowed = _ATTRIBUTES[model] = frozenset(inspect(model).attrs.keys())
    if not values.keys() <= allowed:
        raise TypeError(f"{model.__name__} has no attribute(s) {sorted(values.keys() - allowed)}")
    obj = cast(ModelT, inspect(model).class_manager.new_instance())
    obj.__dict__.update(values)
    return obj


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
        self._claim: tuple[str, dict[str, Any], tuple[str, ...]] | None = None

    def claim(self, table: Table, row: dict[str, Any], unique: tuple[str, ...]) -> None:
        """Insert ``row`` only if no row with the same ``unique`` columns exists — and if one
        does, nothing else of the batch either (:meth:`execute` raises :class:`ClaimTaken`).
        A concurrent claim of the same key waits for the first to commit, then finds it: this
        is what makes a retried request write once (the IVR's call id)."""
        assert self._claim is None, "one claim per batch"
        self._claim = (table.name, row, unique)

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
        return bool(self._groups or self._updates or self._claim)

    def statement(self) -> tuple[str, tuple[Any, ...]]:
        """The SQL (with ``$n`` placeholders) and its arguments (public for tests and reading).

        Table names and guard conditions come from the code (SQLAlchemy metadata, constant
        strings), never from a request; every value travels as a bound parameter."""
        ctes: list[str] = []
        args: list[Any] = []

        def bind(value: Any) -> str:
            args.append(value)
            return f"${len(args)}"

        checks: list[str] = []
        for number, guard in enumerate(self._guards):
            condition = guard.condition
            for name, value in guard.params:
                condition = condition.replace(f":{name}", bind(value))
            ctes.append(
                f"g{number} AS (SELECT 1 FROM {guard.table} WHERE {condition} FOR SHARE)"  # noqa: S608 (docstring)
            )
            checks.append(f"(SELECT count(*) FROM g{number}) = 1")  # noqa: S608
        ctes.append(f"guarded AS (SELECT {' AND '.join(checks) or 'true'} AS ok)")
        if self._claim is None:
            ctes.append("okay AS (SELECT ok FROM guarded)")
        else:
            table, row, unique = self._claim
            names = ", ".join(sorted(row))
            ctes.append(
                f"claim AS (INSERT INTO {table} ({names}) SELECT {names} "  # noqa: S608
                f"FROM jsonb_populate_record(NULL::{table}, {bind(_json(row))}::text::jsonb) "
                f"WHERE (SELECT ok FROM guarded) ON CONFLICT ({', '.join(unique)}) DO NOTHING "
                "RETURNING 1)"
            )
            ctes.append(
                "okay AS (SELECT (SELECT ok FROM guarded) AND EXISTS (SELECT 1 FROM claim) AS ok)"
            )
        for number, ((table, columns), rows) in enumerate(self._groups.items()):
            names = ", ".join(columns)
            ctes.append(
                f"i{number} AS (INSERT INTO {table} ({names}) SELECT {names} "  # noqa: S608
                f"FROM jsonb_populate_recordset(NULL::{table}, {bind(_json(rows))}::text::jsonb) "
                "WHERE (SELECT ok FROM okay))"
            )
        for number, (table, key, row) in enumerate(self._updates):
            assignments = ", ".join(f"{name} = x.{name}" for name in sorted(row) if name != key)
            ctes.append(
                f"u{number} AS (UPDATE {table} AS t SET {assignments} "  # noqa: S608
                f"FROM jsonb_populate_record(NULL::{table}, {bind(_json(row))}::text::jsonb) AS x "
                f"WHERE t.{key} = x.{key} AND (SELECT ok FROM okay))"
            )
        outcome = "SELECT (SELECT ok FROM guarded), (SELECT ok FROM okay)"
        return "WITH " + ",\n".join(ctes) + "\n" + outcome, tuple(args)

    async def execute(self, session: AsyncSession, *, alone: bool = False) -> bool:
        """Send everything; ``False`` (and nothing written) if a guard found no row;
        :class:`ClaimTaken` (and nothing written) if the claim row existed.

        ``alone``: the caller promises this is the request's only statement — nothing was sent
        before it and nothing will be after — so it goes without a transaction around it."""
        if not self._groups and not self._guards and not self._updates and not self._claim:
            return True
        if session.new or session.dirty or session.deleted:
            # Rows the ORM still holds go first: batch rows may refer to them.
            await session.flush()
        sql, args = self.statement()
        pool = direct.pool_for(session) if alone else None
        if pool is not None:
            # Sent means committed: a lost answer must not make the request run again.
            session.info["committing"] = True
            row = await pool.fetchrow(sql, args)
            assert row is not None
            guarded, applied = row[0], row[1]
            if applied:
                # Written: from now on a statement would run outside the batch's atomicity.
                session.info[_ALONE_SENT] = True
        else:
            guarded, applied = await self._through_session(session, sql, args, alone=alone)
        self._groups.clear()
        self._guards.clear()
        self._updates.clear()
        self._claim = None
        if guarded and not applied:
            raise ClaimTaken
        return bool(guarded)

    @staticmethod
    async def _through_session(
        session: AsyncSession, sql: str, args: tuple[Any, ...], *, alone: bool
    ) -> tuple[bool, bool]:
        # (A session bound to a connection already in a transaction — the tests' rollback
        # fixture — keeps it: there the batch simply joins that transaction.)
        sending_alone = alone and (
            session.info.get(_ALONE, False) or await without_transaction(session)
        )
        if sending_alone:
            session.info["committing"] = True
            session.info[_ALONE] = True  # sent alone once: a rebuilt batch may be sent again
        connection = await session.connection()
        result = await connection.exec_driver_sql(sql, args)
        guarded, applied = result.one()
        if sending_alone and applied:
            connection.sync_connection.info[_ALONE_SENT] = True  # type: ignore[union-attr]
        return guarded, applied


def install_alone_check(engine: AsyncEngine) -> None:
    """Make a statement after an ``alone`` batch raise :class:`StatementAfterAlone`."""

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _refuse_after_alone(connection: Connection, *_: object) -> None:
        if connection.info.get(_ALONE_SENT):
            raise StatementAfterAlone(
                "A statement ran after a batch sent alone (without a transaction)."
            )

    @event.listens_for(engine.sync_engine.pool, "checkin")
    def _forget_alone(_dbapi_connection: object, record: ConnectionPoolEntry) -> None:
        record.info.pop(_ALONE_SENT, None)


@event.listens_for(Session, "after_begin")
def _refuse_after_direct_alone(session: Session, *_: object) -> None:
    # The batch went through the direct pool (``app.db.direct``), not a connection of the
    # session: it is the session that remembers it, and any statement after begins here.
    if session.info.get(_ALONE_SENT):
        raise StatementAfterAlone(
            "A statement ran after a batch sent alone (without a transaction)."
        )
