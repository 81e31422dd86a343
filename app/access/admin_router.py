"""Administration: users, teams, API keys, and the audit log."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from app.access import repository, service
from app.access.deps import key_material, require
from app.access.permissions import Permission
from app.access.principal import Principal
from app.access.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    AuditEventOut,
    PasswordReset,
    PasswordResetOut,
    TeamCreate,
    TeamOut,
    TeamUpdate,
    UserCreate,
    UserCreated,
    UserOut,
    UserRole,
    UserUpdate,
)
from app.api.deps import SessionDep
from app.api.etag import ExpectedVersion, require_if_match, set_etag
from app.api.pagination import Page, PageParams, encode_cursor, page_params
from app.api.problems import problem_responses
from app.api.routing import TransactionalRoute
from app.core.clock import utc_now
from app.core.errors import InvalidCursor
from app.db.keyset import split_page

router = APIRouter(prefix="/v1", tags=["administration"], route_class=TransactionalRoute)

UsersAdmin = Annotated[Principal, Depends(require(Permission.USERS_ADMIN))]
KeysAdmin = Annotated[Principal, Depends(require(Permission.API_KEYS_ADMIN))]
AuditReader = Annotated[Principal, Depends(require(Permission.AUDIT_READ))]
PageDep = Annotated[PageParams, Depends(page_params)]
IfMatch = Annotated[ExpectedVersion, Depends(require_if_match)]
AUTH_PROBLEMS = problem_responses(401, 403, 429)


def _cursor(key: list[str] | None) -> str | None:
    return encode_cursor(key) if key else None


@router.post(
    "/users",
    status_code=201,
    response_model=UserCreated,
    operation_id="createUser",
    summary="Create a user",
    responses={**AUTH_PROBLEMS, **problem_responses(409)},
)
async def create_user(body: UserCreate, session: SessionDep, actor: UsersAdmin) -> UserCreated:
    user, generated = await service.create_user(session, actor, body)
    return UserCreated(**UserOut.model_validate(user).model_dump(), initial_password=generated)


@router.get(
    "/users",
    response_model=Page[UserOut],
    operation_id="listUsers",
    summary="List users",
    responses=AUTH_PROBLEMS,
)
async def list_users(
    session: SessionDep,
    _: UsersAdmin,
    page: PageDep,
    branch_id: uuid.UUID | None = None,
    role: UserRole | None = None,
    active: bool | None = None,
) -> Page[UserOut]:
    rows = await repository.list_users(
        session,
        limit=page.limit + 1,
        after=page.after(),
        branch_id=branch_id,
        role=role,
        active=active,
    )
    items, key = split_page(rows, page.limit)
    return Page[UserOut](items=[UserOut.model_validate(u) for u in items], next_cursor=_cursor(key))


@router.get(
    "/users/{user_id}",
    response_model=UserOut,
    operation_id="getUser",
    summary="Get a user",
    responses={**AUTH_PROBLEMS, **problem_responses(404)},
)
async def get_user(
    user_id: uuid.UUID, session: SessionDep, _: UsersAdmin, response: Response
) -> UserOut:
    user = await service.get_user(session, user_id)
    set_etag(response, user.version)
    return UserOut.model_validate(user)


@router.patch(
    "/users/{user_id}",
    response_model=UserOut,
    operation_id="updateUser",
    summary="Change a user's role, branch, team, name, or disable it (needs If-Match)",
    responses={**AUTH_PROBLEMS, **problem_responses(404, 409, 412, 428)},
)
async def update_user(
    user_id: uuid.UUID,
    body: UserUpdate,
    session: SessionDep,
    actor: UsersAdmin,
    response: Response,
    expected: IfMatch,
) -> UserOut:
    user = await service.update_user(session, actor, user_id, body, expected=expected)
    set_etag(response, user.version)
    return UserOut.model_validate(user)


@router.post(
    "/users/{user_id}/reset-password",
    response_model=PasswordResetOut,
    operation_id="resetUserPassword",
    summary="Set or generate a new password",
    description="Tokens the user signed in with before the reset stop working.",
    responses={**AUTH_PROBLEMS, **problem_responses(404)},
)
async def reset_password(
    user_id: uuid.UUID, body: PasswordReset, session: SessionDep, actor: UsersAdmin
) -> PasswordResetOut:
    generated = await service.reset_password(session, actor, user_id, body)
    return PasswordResetOut(user_id=user_id, new_password=generated)


@router.post(
    "/teams",
    status_code=201,
    response_model=TeamOut,
    operation_id="createTeam",
    summary="Create a team in a branch",
    responses={**AUTH_PROBLEMS, **problem_responses(409)},
)
async def create_team(body: TeamCreate, session: SessionDep, actor: UsersAdmin) -> TeamOut:
    return TeamOut.model_validate(await service.create_team(session, actor, body))


@router.get(
    "/teams",
    response_model=Page[TeamOut],
    operation_id="listTeams",
    summary="List teams",
    responses=AUTH_PROBLEMS,
)
async def list_teams(
    session: SessionDep,
    _: Annotated[Principal, Depends(require(Permission.BRANCHES_READ))],
    page: PageDep,
    branch_id: uuid.UUID | None = None,
) -> Page[TeamOut]:
    rows = await repository.list_teams(
        session, limit=page.limit + 1, after=page.after(), branch_id=branch_id
    )
    items, key = split_page(rows, page.limit)
    return Page[TeamOut](items=[TeamOut.model_validate(t) for t in items], next_cursor=_cursor(key))


@router.get(
    "/teams/{team_id}",
    response_model=TeamOut,
    operation_id="getTeam",
    summary="Get a team",
    responses={**AUTH_PROBLEMS, **problem_responses(404)},
)
async def get_team(
    team_id: uuid.UUID,
    session: SessionDep,
    _: Annotated[Principal, Depends(require(Permission.BRANCHES_READ))],
    response: Response,
) -> TeamOut:
    team = await service.get_team(session, team_id)
    set_etag(response, team.version)
    return TeamOut.model_validate(team)


@router.patch(
    "/teams/{team_id}",
    response_model=TeamOut,
    operation_id="updateTeam",
    summary="Rename a team (needs If-Match)",
    responses={**AUTH_PROBLEMS, **problem_responses(404, 412, 428)},
)
async def update_team(
    team_id: uuid.UUID,
    body: TeamUpdate,
    session: SessionDep,
    actor: UsersAdmin,
    response: Response,
    expected: IfMatch,
) -> TeamOut:
    team = await service.update_team(session, actor, team_id, body, expected=expected)
    set_etag(response, team.version)
    return TeamOut.model_validate(team)


@router.post(
    "/api-keys",
    status_code=201,
    response_model=ApiKeyCreated,
    operation_id="createApiKey",
    summary="Create an API key for a machine client (the key is shown once)",
    responses=AUTH_PROBLEMS,
)
async def create_api_key(
    request: Request, body: ApiKeyCreate, session: SessionDep, actor: KeysAdmin
) -> ApiKeyCreated:
    key, plaintext = await service.create_api_key(session, actor, await key_material(request), body)
    return ApiKeyCreated(**ApiKeyOut.model_validate(key).model_dump(), key=plaintext)


@router.get(
    "/api-keys",
    response_model=Page[ApiKeyOut],
    operation_id="listApiKeys",
    summary="List API keys (never the keys themselves)",
    responses=AUTH_PROBLEMS,
)
async def list_api_keys(session: SessionDep, _: KeysAdmin, page: PageDep) -> Page[ApiKeyOut]:
    rows = await repository.list_api_keys(session, limit=page.limit + 1, after=page.after())
    items, key = split_page(rows, page.limit)
    return Page[ApiKeyOut](
        items=[ApiKeyOut.model_validate(k) for k in items], next_cursor=_cursor(key)
    )


@router.post(
    "/api-keys/{key_id}/revoke",
    response_model=ApiKeyOut,
    operation_id="revokeApiKey",
    summary="Revoke an API key (refused from the next request on)",
    responses={**AUTH_PROBLEMS, **problem_responses(404)},
)
async def revoke_api_key(key_id: uuid.UUID, session: SessionDep, actor: KeysAdmin) -> ApiKeyOut:
    return ApiKeyOut.model_validate(await service.revoke_api_key(session, actor, key_id, utc_now()))


@router.get(
    "/audit-events",
    response_model=Page[AuditEventOut],
    operation_id="listAuditEvents",
    summary="The audit log, newest first",
    responses=AUTH_PROBLEMS,
)
async def list_audit_events(
    session: SessionDep,
    _: AuditReader,
    page: PageDep,
    action: Annotated[str | None, Query(max_length=64)] = None,
    target_kind: Annotated[str | None, Query(max_length=40)] = None,
    target_id: Annotated[str | None, Query(max_length=80)] = None,
    actor: Annotated[str | None, Query(max_length=80)] = None,
) -> Page[AuditEventOut]:
    after = page.after()
    if after is not None and (len(after) != 1 or not isinstance(after[0], int)):
        raise InvalidCursor()
    rows = await repository.list_audit_events(
        session,
        limit=page.limit + 1,
        before_id=after[0] if after else None,
        action=action,
        target_kind=target_kind,
        target_id=target_id,
        actor=actor,
    )
    items = rows[: page.limit]
    next_cursor = encode_cursor([items[-1].id]) if len(rows) > page.limit else None
    return Page[AuditEventOut](
        items=[AuditEventOut.model_validate(e) for e in items], next_cursor=next_cursor
    )
