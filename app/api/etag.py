"""ETag / If-Match: optimistic concurrency for every mutable resource.

The ETag is the row's ``version`` (an integer the database increments on each change), so a
stale write is detected by a conditional ``UPDATE … WHERE version = :expected``.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Header, Response

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


def require_if_match(
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description="The ETag of the version you last read. Required for changes.",
        ),
    ] = None,
) -> ExpectedVersion:
    return parse_if_match(if_match)
