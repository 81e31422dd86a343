"""``Idempotency-Key`` for POSTs: a retried request replays the stored response.

The key row is inserted in the same transaction as the write. Two identical requests racing:
the second ``INSERT … ON CONFLICT DO NOTHING`` waits on the first's uncommitted row, then sees
it committed and replays its response (or, if the first rolled back, proceeds itself). So the
database, not Python, settles the race, and a write and its key commit or vanish together.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

import orjson
from fastapi import Header, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import Integer, String, delete, select
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utc_now
from app.core.errors import IdempotencyKeyReused, InvalidInput
from app.db.base import Base
from app.db.batch import WriteBatch

_VALID_KEY = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
REPLAYED_HEADER = "Idempotent-Replayed"


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"

    scope: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[Any] = mapped_column(JSONB, nullable=True)
    response_headers: Mapped[dict[str, str] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(index=True)


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: Any
    """JSON-ready data, or a pydantic model (serialised by pydantic itself: the hot paths'
    responses skip the intermediate dict)."""
    headers: dict[str, str]


def _jsonable(body: Any) -> Any:
    return body.model_dump(mode="json") if isinstance(body, BaseModel) else body


def _render(body: Any) -> bytes:
    return body.model_dump_json().encode() if isinstance(body, BaseModel) else orjson.dumps(body)


@dataclass(frozen=True)
class IdempotentResult:
    response: StoredResponse
    replayed: bool


IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description=(
            "A unique key per logical request (8–128 characters of A–Z a–z 0–9 . _ : -)."
            " A retry with the same key and body replays the first response."
        ),
        # Declared for clients and fuzzers; checked by valid_idempotency_key, so a bad key
        # keeps its own code.
        json_schema_extra={"pattern": _VALID_KEY.pattern},
    ),
]
"""The header as an endpoint's own parameter (a hot path spares the dependency's solving);
pass it through :func:`valid_idempotency_key`."""


def valid_idempotency_key(idempotency_key: str | None) -> str | None:
    if idempotency_key is None:
        return None
    if not _VALID_KEY.match(idempotency_key):
        raise InvalidInput(
            "Idempotency-Key must be 8–128 characters of letters, digits and . _ : -",
            field="Idempotency-Key",
        )
    return idempotency_key


async def idempotency_key_header(idempotency_key: IdempotencyKeyHeader = None) -> str | None:
    return valid_idempotency_key(idempotency_key)


def fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps(
        {"method": method, "path": path, "body": body}, sort_keys=True, default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


async def run_idempotent(
    session: AsyncSession,
    *,
    scope: str,
    key: str | None,
    request_fingerprint: str,
    perform: Callable[[], Awaitable[StoredResponse]],
) -> IdempotentResult:
    """Run ``perform`` once per (scope, key); replay its stored response on a retry."""
    if key is None:
        return IdempotentResult(await perform(), replayed=False)

    claimed = await session.execute(
        insert(IdempotencyRecord)
        .values(scope=scope, key=key, fingerprint=request_fingerprint, created_at=utc_now())
        .on_conflict_do_nothing()
        .returning(IdempotencyRecord.key)
    )
    if claimed.first() is None:
        return await replay(session, scope=scope, key=key, request_fingerprint=request_fingerprint)

    response = await perform()
    record = await session.get(IdempotencyRecord, (scope, key))
    assert record is not None
    record.status_code = response.status_code
    record.response_body = _jsonable(response.body)
    record.response_headers = response.headers
    await session.flush()
    return IdempotentResult(response, replayed=False)


async def replay(
    session: AsyncSession, *, scope: str, key: str, request_fingerprint: str
) -> IdempotentResult:
    """The stored response of (scope, key), which has committed; 422 if it was another
    request's."""
    record = await session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.scope == scope, IdempotencyRecord.key == key
        )
    )
    assert record is not None  # the conflicting row committed, so it is visible now
    if record.fingerprint != request_fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used for a different request; use a new key."
        )
    assert record.status_code is not None
    stored = StoredResponse(record.status_code, record.response_body, record.response_headers or {})
    return IdempotentResult(stored, replayed=True)


def claim_in(
    batch: WriteBatch,
    *,
    scope: str,
    key: str,
    request_fingerprint: str,
    response: StoredResponse,
) -> None:
    """The key's record, with the response it will replay, as ``batch``'s claim: the write and
    its key go in one statement, and if the key was taken meanwhile nothing is written
    (``ClaimTaken``: answer with :func:`replay`). For a write that fits in one batch."""
    row = {
        "scope": scope,
        "key": key,
        "fingerprint": request_fingerprint,
        "status_code": response.status_code,
        "response_body": _jsonable(response.body),
        "response_headers": response.headers,
        "created_at": utc_now(),
    }
    batch.claim(IdempotencyRecord.__table__, row, ("scope", "key"))  # type: ignore[arg-type]


async def purge_expired(session: AsyncSession, *, older_than: timedelta) -> int:
    """Delete keys past their retention; returns how many."""
    result = await session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < utc_now() - older_than)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def idempotent_post(
    session: AsyncSession,
    request: Request,
    *,
    scope: str,
    key: str | None,
    body: Any,
    perform: Callable[[], Awaitable[StoredResponse]],
) -> Response:
    """The whole Idempotency-Key exchange of a creating POST, as the response to send."""
    result = await run_idempotent(
        session,
        scope=scope,
        key=key,
        request_fingerprint=fingerprint(request.method, request.url.path, body),
        perform=perform,
    )
    return response_of(result)


def response_of(result: IdempotentResult) -> Response:
    """The response to send: the stored one, marked as a replay if it is one."""
    headers = dict(result.response.headers)
    if result.replayed:
        headers[REPLAYED_HEADER] = "true"
    return Response(
        _render(result.response.body),
        status_code=result.response.status_code,
        headers=headers,
        media_type="application/json",
    )
