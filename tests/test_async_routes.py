"""Every endpoint and dependency is a coroutine: FastAPI runs a plain ``def`` in a thread pool,
which on the hot paths cost more than the work itself (measured: about a tenth of a request's
CPU, and an unfair hand-off of database connections under load)."""

from __future__ import annotations

import inspect

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute


def _sync_calls(dependant: Dependant) -> set[str]:
    found: set[str] = set()
    call = dependant.call
    if call is not None and not (
        inspect.iscoroutinefunction(call)
        or inspect.iscoroutinefunction(getattr(call, "__call__", None))
    ):
        found.add(getattr(call, "__qualname__", repr(call)))
    for sub in dependant.dependencies:
        found |= _sync_calls(sub)
    return found


def test_no_endpoint_or_dependency_runs_in_the_thread_pool(app: FastAPI) -> None:
    offenders = {
        f"{route.path}: {name}"
        for route in app.routes
        if isinstance(route, APIRoute)
        for name in _sync_calls(route.dependant)
    }
    assert offenders == set()
