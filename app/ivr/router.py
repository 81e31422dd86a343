"""The IVR's endpoints: report a finished call (idempotent on its call id), and look a caller
up by phone or policy number (also the agents' screen pop).

Lookups by an IVR key bound to no branch see every branch: they are read-only and masked, and
the hotline serves the whole company. Agents see their own branch, as everywhere.
"""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Path, Request, Response

from app.access.deps import pii_codec, require
from app.access.permissions import Permission
from app.access.principal import Principal
from app.access.scope import company_wide_if_unbound
from app.api.deps import SessionDep, session_of
from app.api.idempotency import REPLAYED_HEADER
from app.api.problems import problem_responses
from app.api.routing import TransactionalRoute, reads_only
from app.core.clock import utc_now
from app.core.config import Settings
from app.core.phones import normalise_field
from app.ivr import lookup, service
from app.ivr.schemas import CallerOut, IvrCallIn, IvrCallOut, PolicyCallerOut

router = APIRouter(prefix="/v1/ivr", tags=["ivr"], route_class=TransactionalRoute)

Intake = Annotated[Principal, Depends(require(Permission.INTAKE_WRITE))]
Lookup = Annotated[Principal, Depends(require(Permission.CALLERS_LOOKUP))]
AUTH = problem_responses(401, 403, 429)


@router.post(
    "/calls",
    status_code=201,
    response_model=IvrCallOut,
    operation_id="reportIvrCall",
    summary="Report a finished call: creates its ticket once; a retry replays the answer"
    " (Idempotent-Replayed: true); the same call_id with another body is 409",
    responses={**AUTH, **problem_responses(409, 422)},
)
async def report_call(request: Request, body: IvrCallIn, principal: Intake) -> Response:
    # A hot path: the session and codec are taken here rather than as dependencies (each one
    # FastAPI solves costs about 0.1 M instructions a request).
    session, codec = session_of(request), await pii_codec(request)
    settings: Settings = request.app.state.settings
    result = await service.intake(
        session,
        principal,
        codec,
        body,
        now=utc_now(),
        default_branch=settings.intake_default_branch,
    )
    headers = {REPLAYED_HEADER: "true"} if result.replayed else {}
    return Response(
        orjson.dumps(result.body), status_code=201, headers=headers, media_type="application/json"
    )


@router.get(
    "/callers/{phone}",
    response_model=CallerOut,
    operation_id="lookupCaller",
    summary="A caller's open complaints, inquiries and claim reports by phone (any format),"
    " with the next deadline in plain words (masked)",
    responses={**AUTH, **problem_responses(422)},
)
async def lookup_caller(
    request: Request,
    phone: Annotated[str, Path(max_length=32, description="Any format.")],
    principal: Lookup,
) -> Response:
    session, codec = session_of(request), await pii_codec(request)  # as in report_call
    e164 = normalise_field(phone, "phone")
    found = await lookup.caller(
        session, company_wide_if_unbound(principal), codec, e164, now=utc_now()
    )
    # Serialised by pydantic directly (the declared response_model documents it).
    return Response(found.model_dump_json(), media_type="application/json")


@router.get(
    "/policies/{policy_number}",
    response_model=PolicyCallerOut,
    operation_id="lookupPolicyCaller",
    summary="The open items of a policy number, with the next deadline in plain words (masked)",
    responses={**AUTH, **problem_responses(404, 422)},
)
@reads_only
async def lookup_policy(
    policy_number: Annotated[str, Path(pattern=r"^[0-9A-Za-z-]{4,64}$")],
    session: SessionDep,
    principal: Lookup,
) -> PolicyCallerOut:
    return await lookup.policy(
        session, company_wide_if_unbound(principal), policy_number, now=utc_now()
    )
