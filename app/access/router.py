"""Signing in, and who am I."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse

from app.access import service
from app.access.deps import authenticate, key_material
from app.access.principal import Principal
from app.access.schemas import MeOut, TokenOut
from app.api.deps import SessionDep
from app.api.problems import problem_responses, render_domain_error
from app.api.routing import TransactionalRoute
from app.core.clock import utc_now

router = APIRouter(prefix="/v1", tags=["auth"], route_class=TransactionalRoute)


class PasswordForm:
    """The OAuth2 password form. FastAPI's own reads an empty field as a missing one (422) while
    its schema allows the empty string, and publishes a nullable grant_type that a form cannot
    send; here the schema says what is accepted."""

    def __init__(
        self,
        *,
        username: Annotated[str, Form(min_length=1)],
        password: Annotated[str, Form(min_length=1, json_schema_extra={"format": "password"})],
        # A form cannot carry null, so the optional field has a default instead of None.
        grant_type: Annotated[Literal["password"], Form()] = "password",
    ) -> None:
        self.username = username
        self.password = password


@router.post(
    "/auth/token",
    response_model=TokenOut,
    operation_id="issueToken",
    summary="Sign in with user name and password (OAuth2 password form)",
    responses=problem_responses(401, 429),
)
async def issue_token(
    request: Request,
    session: SessionDep,
    form: Annotated[PasswordForm, Depends()],
) -> TokenOut | JSONResponse:
    result = await service.sign_in(
        session,
        settings=request.app.state.settings,
        keys=await key_material(request),
        username=form.username,
        password=form.password,
        now=utc_now(),
    )
    if isinstance(result, service.LoginRefused):
        # Rendered, not raised: the failure count must commit with this transaction.
        return render_domain_error(request, result.error)
    return result


@router.get(
    "/me",
    response_model=MeOut,
    operation_id="getMe",
    summary="The calling principal, its role, branch and permissions",
    responses=problem_responses(401),
)
async def me(principal: Annotated[Principal, Depends(authenticate)]) -> MeOut:
    return MeOut(
        kind=principal.kind,
        id=principal.id,
        name=principal.name,
        role=principal.role,
        branch_id=principal.branch_id,
        team_id=principal.team_id,
        permissions=sorted(principal.permissions),
    )
