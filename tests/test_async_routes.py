"""Every endpoint and dependency is a coroutine: FastAPI runs a plain ``def`` in a thread pool,
which on the hot paths cost more than the work itself (measured: about a tenth of a request's
CPU, and an unfair hand-off of database connections under load)."""

from __future__ import annotations

import inspect

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from app.api.routing import leaf_routes


def _sync_calls(dependant: Dependant) -> set[str]:
    found: set[str] = set()
    call = dependant.call
    # A function must be ``async def``; an instance (HTTPBearer, …) its class's ``__call__``; a
    # class is instantiated in the pool.
    is_instance = not (inspect.isroutine(call) or inspect.isclass(call))
    if call is not None and not (
        inspect.iscoroutinefunction(call)
        or (is_instance and inspect.iscoroutinefunction(type(call).__call__))
    ):
        found.add(getattr(call, "__qualname__", repr(call)))
    for sub in dependant.dependencies:
        found |= _sync_calls(sub)
    return found


# Sign-in only (not a hot path): the form is a class, which FastAPI instantiates in the pool.
ALLOWED = {"/v1/auth/token: PasswordForm"}


def test_no_endpoint_or_dependency_runs_in_the_thread_pool(app: FastAPI) -> None:
    routes = [route for route in leaf_routes(app.routes) if isinstance(route, APIRoute)]
    assert len(routes) >= 90  # every operation of the API was looked at
    offenders = {
        f"{route.path}: {name}" for route in routes for name in _sync_calls(route.dependant)
    }
    assert offenders == ALLOWED
