"""Dependencies shared by routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession


async def get_session(request: Request) -> AsyncSession:
    """The request's session, opened and committed by ``TransactionalRoute``."""
    session = getattr(request.state, "session", None)
    if not isinstance(session, AsyncSession):
        raise RuntimeError("get_session used on a route that is not a TransactionalRoute")
    return session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
