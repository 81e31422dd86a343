"""ETag / If-Match: optimistic concurrency for every mutable resource.

The ETag is the row's ``version`` (an integer the database increments on each change), so a
stale write is detected by a conditional ``UPDATE … WHERE version = :expected``.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Header, Response

from app.core.errors import PreconditionRequired, StaleVersion

_ETAG = re.compile(r'^(?:W/)?"v(\d{1,18})"$')


def etag_for(version: int) -> str:
    return f'"v{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag_for(version)


class ExpectedVersion(int):
    """The version the client last read, from ``If-Match``; ``ANY`` for ``If-Match: *``."""


ANY_VERSION = ExpectedVersion(-1)


def parse_if_match(value: str | None) -> ExpectedVersion:
    if value is None or not value.strip():
        raise PreconditionRequired()
    candidates = [part.strip() for part in value.split(",")]
    if "*" in candidates:
        return ANY_VERSION
    for candidate in candidates:
        match = _ETAG.match(candidate)
        if match:
            return ExpectedVersion(int(match.group(1)))
    raise StaleVersion("If-Match does not name a version of this resource.")


async def require_if_match(
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description="The ETag of the version you last read. Required for changes.",
        ),
    ] = None,
) -> ExpectedVersion:
    return parse_if_match(if_match)
