from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from app.access.deps import require
from app.access.permissions import Permission
from app.access.principal import Principal
from app.api.deps import SessionDep
from app.api.etag import ExpectedVersion, require_if_match, set_etag
from app.api.idempotency import StoredResponse, idempotency_key_header, idempotent_post
from app.api.pagination import Page, PageParams, encode_cursor, page_params
from app.api.problems import problem_responses
from app.api.routing import TransactionalRoute
from app.org import service
from app.org.schemas import BranchCreate, BranchOut, BranchUpdate

router = APIRouter(prefix="/v1/branches", tags=["branches"], route_class=TransactionalRoute)

Reader = Annotated[Principal, Depends(require(Permission.BRANCHES_READ))]
Writer = Annotated[Principal, Depends(require(Permission.BRANCHES_WRITE))]
AUTH_PROBLEMS = problem_responses(401, 403, 429)


@router.post(
    "",
    status_code=201,
    response_model=BranchOut,
    operation_id="createBranch",
    summary="Create a branch",
    responses={**AUTH_PROBLEMS, **problem_responses(409)},
)
async def create_branch(
    request: Request,
    body: BranchCreate,
    session: SessionDep,
    actor: Writer,
    idempotency_key: Annotated[str | None, Depends(idempotency_key_header)],
) -> Response:
    async def perform() -> StoredResponse:
        branch = await service.create_branch(session, actor, body)
        payload = BranchOut.model_validate(branch).model_dump(mode="json")
        headers = {"Location": f"/v1/branches/{branch.id}", "ETag": f'"v{branch.version}"'}
        return StoredResponse(201, payload, headers)

    return await idempotent_post(
        session,
        request,
        scope=f"{actor.actor}:branches:create",
        key=idempotency_key,
        body=body.model_dump(mode="json"),
        perform=perform,
    )


@router.get(
    "",
    response_model=Page[BranchOut],
    operation_id="listBranches",
    summary="List branches",
    responses=AUTH_PROBLEMS,
)
async def list_branches(
    session: SessionDep,
    _: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    active: Annotated[bool | None, Query(description="Only active (or inactive) branches.")] = None,
) -> Page[BranchOut]:
    rows, next_key = await service.list_branches(
        session, limit=page.limit, after=page.after(), active=active
    )
    return Page[BranchOut](
        items=[BranchOut.model_validate(row) for row in rows],
        next_cursor=encode_cursor(list(next_key)) if next_key else None,
    )


@router.get(
    "/{branch_id}",
    response_model=BranchOut,
    operation_id="getBranch",
    summary="Get a branch",
    responses={**AUTH_PROBLEMS, **problem_responses(404)},
)
async def get_branch(
    branch_id: uuid.UUID, session: SessionDep, _: Reader, response: Response
) -> BranchOut:
    branch = await service.get_branch(session, branch_id)
    set_etag(response, branch.version)
    return BranchOut.model_validate(branch)


@router.patch(
    "/{branch_id}",
    response_model=BranchOut,
    operation_id="updateBranch",
    summary="Change a branch (needs If-Match)",
    responses={**AUTH_PROBLEMS, **problem_responses(404, 412, 428)},
)
async def update_branch(
    branch_id: uuid.UUID,
    body: BranchUpdate,
    session: SessionDep,
    actor: Writer,
    response: Response,
    expected: Annotated[ExpectedVersion, Depends(require_if_match)],
) -> BranchOut:
    branch = await service.update_branch(session, actor, branch_id, body, expected=expected)
    set_etag(response, branch.version)
    return BranchOut.model_validate(branch)
