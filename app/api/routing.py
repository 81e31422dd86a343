"""The unit of work: one transaction per request, committed before the response is sent.

FastAPI may run the code after a dependency's ``yield`` after the response has gone out, so a
commit there could fail unseen by the client. This route class owns the session instead: it
opens it, runs the endpoint, commits, and only then hands the response back to be sent. An
exception anywhere rolls everything back (and the error mapper renders it).

Requests take their turn first-come first-served (:class:`Gate`): the connection pool alone is
not fair — a request that has just given its connection back may take it again before a request
that has been waiting for one is even scheduled, so under load a few busy clients would starve
the rest (an agent whose "next callback" never comes).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterable, Iterator
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.routing import APIRoute
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.db.autocommit import without_transaction


def leaf_routes(routes: Iterable[Any]) -> Iterator[Any]:
    """Every route, walking into FastAPI's included routers (in this FastAPI version
    ``app.routes`` holds ``_IncludedRouter`` objects whose ``original_router.routes`` are the
    ``APIRoute``s)."""
    for route in routes:
        nested = getattr(route, "original_router", None)
        if nested is not None:
            yield from leaf_routes(nested.routes)
        else:
            yield route


class Gate:
    """As many requests in their transaction at once as the pool has connections; the others
    wait in arrival order (``asyncio.Semaphore`` queues new arrivals behind waiters), up to the
    pool's own timeout, after which the request fails as if the pool had timed out (503)."""

    def __init__(self, capacity: int, timeout: float) -> None:
        self._slots = asyncio.Semaphore(capacity)
        self._timeout = timeout

    async def __aenter__(self) -> None:
        if not self._slots.locked():
            # The usual case: a slot is free and nobody waits (wait_for would cost a task).
            await self._slots.acquire()
            return
        try:
            await asyncio.wait_for(self._slots.acquire(), self._timeout)
        except TimeoutError as exc:
            raise sa_exc.TimeoutError(
                f"no database connection free within {self._timeout:g} s"
            ) from exc

    async def __aexit__(self, *_: object) -> None:
        self._slots.release()


def _gate(request: Request) -> Gate:
    gate: Gate | None = getattr(request.app.state, "gate", None)
    if gate is None:
        settings: Settings = request.app.state.settings
        capacity = settings.db_pool_size + settings.db_max_overflow
        gate = Gate(capacity, settings.db_pool_timeout_seconds)
        request.app.state.gate = gate
    return gate


EndpointT = TypeVar("EndpointT", bound=Callable[..., Any])


def reads_only(endpoint: EndpointT) -> EndpointT:
    """Mark an endpoint that only reads (and whose reads need not share one snapshot): its
    statements run without BEGIN/COMMIT, two round trips fewer — for lookups on a hot path,
    such as the IVR's while a caller waits. Never for a report whose figures must agree."""
    endpoint.reads_only = True  # type: ignore[attr-defined]
    return endpoint


class TransactionalRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint_handler = super().get_route_handler()
        autocommit = bool(getattr(self.endpoint, "reads_only", False))

        async def handler(request: Request) -> Response:
            async with _gate(request):
                try:
                    return await _run(request)
                except sa_exc.DBAPIError as exc:
                    # Never after a commit was sent: its outcome is unknown.
                    if not exc.connection_invalidated or request.state.session.info.get(
                        "committing"
                    ):
                        raise
                # The pooled connection had died (a database restart since it was last used;
                # there is no pre-ping). Nothing was committed: run the request once more, on
                # a new connection — the pool has discarded every connection older than this.
                return await _run(request)

        async def _run(request: Request) -> Response:
            session: AsyncSession = request.app.state.db.session_factory()
            request.state.session = session
            if autocommit:
                await without_transaction(session)
            try:
                response = await endpoint_handler(request)
                session.info["committing"] = True
                if session.in_transaction():  # (not when its only statement went alone)
                    await session.commit()
                return response
            finally:
                await session.close()

        return handler
