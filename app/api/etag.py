"""ETag / If-Match: optimistic concurrency for every mutable resource.

The ETag is the row's ``version`` (an integer the database increments on each change), so a
stale write is detected by a conditional ``UPDATE … WHERE version = :expected``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import Header, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from app.api.routing import leaf_routes
from app.core.errors import PreconditionRequired

_ETAG = re.compile(r'^(?:W/)?"v(\d{1,18})"$')


def etag_for(version: int) -> str:
    return f'"v{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag_for(version)


class ExpectedVersion(int):
    """The version the client last read, from ``If-Match``; ``ANY`` for ``If-Match: *``."""


ANY_VERSION = ExpectedVersion(-1)
# What an If-Match of tags this service never issued expects: no row has version 0 (versions
# start at 1), so the change fails with 412 where the version is compared — after the request
# is validated and the resource found, as RFC 9110 §13.2.2 orders it, not before.
NO_VERSION = ExpectedVersion(0)


def parse_if_match(value: str | None) -> ExpectedVersion:
    """The version ``If-Match`` names: missing or blank is 428 at once; ``*`` is any version."""
    if value is None or not value.strip():
        raise PreconditionRequired()
    candidates = [part.strip() for part in value.split(",")]
    if "*" in candidates:
        return ANY_VERSION
    for candidate in candidates:
        match = _ETAG.match(candidate)
        if match:
            return ExpectedVersion(int(match.group(1)))
    return NO_VERSION


async def require_if_match(
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description="The ETag of the version you last read. Required for changes.",
            # Blank is the same as missing (428); the schema says so.
            json_schema_extra={"pattern": r"\S"},
        ),
    ] = None,
) -> ExpectedVersion:
    return parse_if_match(if_match)


async def optional_if_match(
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description="Optional: the ETag the change is based on; a stale one is refused.",
        ),
    ] = None,
) -> ExpectedVersion:
    """For changes that may be unconditional: missing or blank names no version (any)."""
    if if_match is None or not if_match.strip():
        return ANY_VERSION
    return parse_if_match(if_match)


def _depends_on(dependant: Dependant, call: object) -> bool:
    return any(dep.call is call or _depends_on(dep, call) for dep in dependant.dependencies)


def declare_if_match_required(schema: dict[str, Any], routes: Iterable[object]) -> None:
    """Mark ``If-Match`` required in the OpenAPI of every route that requires it.

    ``require_if_match`` reads the header as optional so that a missing one is answered 428
    (RFC 6585) rather than FastAPI's 422; the schema still has to tell clients to send it."""
    for route in leaf_routes(routes):
        if not isinstance(route, APIRoute) or not _depends_on(route.dependant, require_if_match):
            continue
        for method in route.methods or ():
            operation = schema["paths"][route.path_format][method.lower()]
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "header" and parameter["name"] == "If-Match":
                    parameter["required"] = True
