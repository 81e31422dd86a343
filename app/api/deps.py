"""Dependencies shared by routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession


def session_of(request: Request) -> AsyncSession:
    """The request's session, opened and committed by ``TransactionalRoute``."""
    session = getattr(request.state, "session", None)
    if not isinstance(session, AsyncSession):
        raise RuntimeError("a session asked for on a route that is not a TransactionalRoute")
    return session


async def get_session(request: Request) -> AsyncSession:
    """:func:`session_of`, as a dependency."""
    return session_of(request)


SessionDep = Annotated[AsyncSession, Depends(get_session)]
