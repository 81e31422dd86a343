"""Claim report endpoints: agents register, read, search and follow them; the claims system
pushes its milestones (``POST /v1/claim-reports/{id}/status``, or by report number)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from app.access.deps import pii_codec, require
from app.access.permissions import Permission
from app.access.pii import PiiCodec
from app.access.principal import Principal
from app.access.scope import company_wide_if_unbound
from app.api.deps import SessionDep
from app.api.etag import ExpectedVersion, optional_if_match, set_etag
from app.api.idempotency import (
    StoredResponse,
    fingerprint,
    idempotency_key_header,
    response_of,
    run_idempotent,
)
from app.api.pagination import Page, PageParams, encode_cursor, page_params
from app.api.problems import problem_responses
from app.api.routing import TransactionalRoute
from app.api.schemas import Instant
from app.claims import repository, service, transitions
from app.claims.schemas import (
    AllowedEvent,
    Channel,
    ClaimReportCreate,
    ClaimReportOut,
    ClaimReportSummary,
    StatusPush,
)
from app.claims.states import Status
from app.complaints.schemas import ProductLine, TimelineEvent
from app.core.clock import utc_now
from app.customers import service as customers
from app.db.keyset import split_page
from app.tickets.views import timeline_page

router = APIRouter(
    prefix="/v1/claim-reports", tags=["claim reports"], route_class=TransactionalRoute
)

Reader = Annotated[Principal, Depends(require(Permission.TICKETS_READ))]
Writer = Annotated[Principal, Depends(require(Permission.TICKETS_WRITE))]
Pusher = Annotated[Principal, Depends(require(Permission.STATUS_PUSH))]
Codec = Annotated[PiiCodec, Depends(pii_codec)]
IdempotencyKey = Annotated[str | None, Depends(idempotency_key_header)]
AUTH = problem_responses(401, 403, 429)
PUSH_PROBLEMS = {**AUTH, **problem_responses(404, 409, 412, 422)}


IfMatch = Annotated[ExpectedVersion, Depends(optional_if_match)]


@router.post(
    "",
    status_code=201,
    response_model=ClaimReportOut,
    operation_id="registerClaimReport",
    summary="Take a claim report (the report number at once); accepts Idempotency-Key",
    responses={**AUTH, **problem_responses(409, 422)},
)
async def register(
    request: Request,
    body: ClaimReportCreate,
    session: SessionDep,
    principal: Writer,
    codec: Codec,
    idempotency_key: IdempotencyKey,
) -> Response:
    async def perform() -> StoredResponse:
        report = await service.register(session, principal, codec, body, now=utc_now())
        out = await service.view(session, report)
        headers = {"Location": f"/v1/claim-reports/{report.id}", "ETag": f'"v{report.version}"'}
        return StoredResponse(201, out, headers)

    result = await run_idempotent(
        session,
        scope=f"{principal.actor}:claim-reports:register",
        key=idempotency_key,
        request_fingerprint=fingerprint("POST", request.url.path, body.model_dump(mode="json")),
        perform=perform,
    )
    return response_of(result)


@router.get(
    "",
    response_model=Page[ClaimReportSummary],
    operation_id="listClaimReports",
    summary="Search claim reports (your branch unless you see all)",
    responses={**AUTH, **problem_responses(422)},
)
async def list_claim_reports(
    session: SessionDep,
    principal: Reader,
    codec: Codec,
    page: Annotated[PageParams, Depends(page_params)],
    status: Status | None = None,
    branch_id: uuid.UUID | None = None,
    channel: Channel | None = None,
    customer_id: uuid.UUID | None = None,
    phone: Annotated[str | None, Query(max_length=32, description="Any format.")] = None,
    policy_number: Annotated[str | None, Query(max_length=64)] = None,
    claim_number: Annotated[str | None, Query(max_length=64)] = None,
    product_line: ProductLine | None = None,
    reported_from: Instant | None = None,
    reported_to: Instant | None = None,
) -> Page[ClaimReportSummary]:
    try:
        customer_id = await customers.customer_filter(
            session, codec, phone=phone, customer_id=customer_id
        )
    except customers.NoSuchCustomer:
        return Page[ClaimReportSummary](items=[], next_cursor=None)
    flt = repository.ClaimReportFilter(
        status=status,
        branch_id=branch_id,
        channel=channel,
        customer_id=customer_id,
        policy_number=policy_number,
        claim_number=claim_number,
        product_line=product_line,
        reported_from=reported_from,
        reported_to=reported_to,
    )
    rows = await repository.search(
        session, principal, flt, limit=page.limit + 1, after=page.after()
    )
    items, key = split_page(rows, page.limit)
    return Page[ClaimReportSummary](
        items=[ClaimReportSummary.model_validate(r) for r in items],
        next_cursor=encode_cursor(key) if key else None,
    )


@router.get(
    "/{report_id}",
    response_model=ClaimReportOut,
    operation_id="getClaimReport",
    summary="A claim report with its Insurance Law clocks",
    responses={**AUTH, **problem_responses(404)},
)
async def get_claim_report(
    report_id: uuid.UUID, session: SessionDep, principal: Reader, response: Response
) -> ClaimReportOut:
    report = await service.get(session, principal, report_id)
    set_etag(response, report.version)
    return await service.view(session, report)


@router.get(
    "/{report_id}/timeline",
    response_model=Page[TimelineEvent],
    operation_id="getClaimReportTimeline",
    summary="Every event of the claim report, oldest first",
    responses={**AUTH, **problem_responses(404)},
)
async def timeline(
    report_id: uuid.UUID,
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[TimelineEvent]:
    await service.get(session, principal, report_id)
    return await timeline_page(session, "claim_report", report_id, page)


@router.get(
    "/{report_id}/actions",
    response_model=list[AllowedEvent],
    operation_id="getClaimReportActions",
    summary="Which milestones the claims system may report next",
    responses={**AUTH, **problem_responses(404)},
)
async def actions(
    report_id: uuid.UUID, session: SessionDep, principal: Reader
) -> list[AllowedEvent]:
    return service.allowed_events(await service.get(session, principal, report_id))


async def _push(
    report_id: uuid.UUID,
    body: StatusPush,
    session: SessionDep,
    principal: Principal,
    expected: ExpectedVersion,
    idempotency_key: str | None,
) -> Response:
    async def perform() -> StoredResponse:
        ctx = transitions.Context(session=session, principal=principal, now=utc_now())
        report = await transitions.push(ctx, report_id, body, expected)
        out = await service.view(session, report)
        return StoredResponse(200, out, {"ETag": f'"v{report.version}"'})

    result = await run_idempotent(
        session,
        scope=f"{principal.actor}:claim-reports:status",
        key=idempotency_key,
        request_fingerprint=fingerprint(
            "POST", f"/v1/claim-reports/{report_id}/status", body.model_dump(mode="json")
        ),
        perform=perform,
    )
    return response_of(result)


@router.post(
    "/{report_id}/status",
    response_model=ClaimReportOut,
    operation_id="pushClaimReportStatus",
    summary="The claims system reports a milestone (optional If-Match; Idempotency-Key)",
    responses=PUSH_PROBLEMS,
)
async def push_status(
    report_id: uuid.UUID,
    body: StatusPush,
    session: SessionDep,
    principal: Pusher,
    expected: IfMatch,
    idempotency_key: IdempotencyKey,
) -> Response:
    scope = company_wide_if_unbound(principal)
    return await _push(report_id, body, session, scope, expected, idempotency_key)


@router.post(
    "/by-number/{report_number}/status",
    response_model=ClaimReportOut,
    operation_id="pushClaimReportStatusByNumber",
    summary="The same, addressed by the report number",
    responses=PUSH_PROBLEMS,
)
async def push_status_by_number(
    report_number: Annotated[str, Path(max_length=24)],
    body: StatusPush,
    session: SessionDep,
    principal: Pusher,
    expected: IfMatch,
    idempotency_key: IdempotencyKey,
) -> Response:
    scope = company_wide_if_unbound(principal)
    report_id = await service.id_by_number(session, scope, report_number)
    return await _push(report_id, body, session, scope, expected, idempotency_key)
