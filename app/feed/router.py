"""``GET /v1/events``: the change feed for other systems (claims, SMS gateway, BI)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.access.deps import require
from app.access.permissions import Permission
from app.api.deps import SessionDep
from app.api.problems import problem_responses
from app.api.routing import TransactionalRoute
from app.feed import service
from app.feed.schemas import FeedPage

router = APIRouter(
    prefix="/v1/events",
    tags=["change feed"],
    route_class=TransactionalRoute,
    dependencies=[Depends(require(Permission.EVENTS_READ))],
    responses=problem_responses(401, 403, 429),
)


@router.get(
    "",
    response_model=FeedPage,
    operation_id="listEvents",
    summary="Every domain event after a cursor, in a stable order (poll with next_cursor)",
)
async def list_events(
    session: SessionDep,
    after: Annotated[
        str | None,
        Query(max_length=512, description="`next_cursor` (or an event's `cursor`); omit to start."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Events per page.")] = 100,
) -> FeedPage:
    return await service.page(session, after, limit=limit)
