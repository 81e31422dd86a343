"""The unit of work: one transaction per request, committed before the response is sent.

FastAPI may run the code after a dependency's ``yield`` after the response has gone out, so a
commit there could fail unseen by the client. This route class owns the session instead: it
opens it, runs the endpoint, commits, and only then hands the response back to be sent. An
exception anywhere rolls everything back (and the error mapper renders it).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession


class TransactionalRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint_handler = super().get_route_handler()

        async def handler(request: Request) -> Response:
            session: AsyncSession = request.app.state.db.session_factory()
            request.state.session = session
            try:
                response = await endpoint_handler(request)
                await session.commit()
                return response
            finally:
                await session.close()

        return handler
