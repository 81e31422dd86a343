"""Classify database exceptions: which mean "the database is unreachable right now"."""

from __future__ import annotations

import asyncpg
from sqlalchemy import exc as sa_exc

# SQLSTATE classes that mean the server is unavailable, shutting down or overloaded.
_UNAVAILABLE_SQLSTATES = frozenset(
    {
        "57P01",  # admin_shutdown
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now (starting up / recovering)
        "53300",  # too_many_connections
        "08000",  # connection_exception
        "08003",  # connection_does_not_exist
        "08006",  # connection_failure
        "08001",  # sqlclient_unable_to_establish_sqlconnection
        "08004",  # sqlserver_rejected_establishment_of_sqlconnection
    }
)
_TIMEOUT_SQLSTATES = frozenset({"57014"})  # query_canceled (statement_timeout)
_BAD_TEXT_SQLSTATES = frozenset({"22021", "22P05"})  # NUL byte / untranslatable character


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _sqlstate(exc: BaseException) -> str | None:
    for item in _chain(exc):
        state = getattr(item, "sqlstate", None) or getattr(item, "pgcode", None)
        if isinstance(state, str):
            return state
    return None


def is_database_unavailable(exc: BaseException) -> bool:
    """True for failures that a retry after the database comes back would fix.

    asyncpg raises plain ``ConnectionRefusedError`` / ``FileNotFoundError`` (``OSError``) while
    the server is down, not a SQLAlchemy error, so the whole cause chain is inspected.
    """
    for item in _chain(exc):
        if isinstance(item, sa_exc.DBAPIError) and item.connection_invalidated:
            return True
        if isinstance(
            item,
            OSError
            | TimeoutError
            | sa_exc.TimeoutError
            | asyncpg.exceptions.ConnectionDoesNotExistError
            | asyncpg.exceptions.CannotConnectNowError
            | asyncpg.exceptions.InterfaceError
            | asyncpg.exceptions.InternalClientError,  # a connection the server was closing
        ):
            return True
    state = _sqlstate(exc)
    return state is not None and (state in _UNAVAILABLE_SQLSTATES or state in _TIMEOUT_SQLSTATES)


def is_unstorable_text(exc: BaseException) -> bool:
    """True when PostgreSQL refused text it cannot store (a NUL byte, say): the client's fault."""
    return _sqlstate(exc) in _BAD_TEXT_SQLSTATES
