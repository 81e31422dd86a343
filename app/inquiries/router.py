"""Inquiry endpoints: register, read, search, timeline, allowed actions, and one POST per
transition (``/v1/inquiries/{id}/<action>``, each with ``If-Match``)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel

from app.access.deps import pii_codec, require
from app.access.permissions import Permission
from app.access.pii import PiiCodec
from app.access.principal import Principal
from app.api.deps import SessionDep
from app.api.etag import ExpectedVersion, require_if_match, set_etag
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
from app.complaints.schemas import AllowedAction, ProductLine, TimelineEvent
from app.core.clock import utc_now
from app.customers import service as customers
from app.db.keyset import split_page
from app.inquiries import repository, service, transitions
from app.inquiries.models import Inquiry
from app.inquiries.schemas import (
    Answer,
    Channel,
    Close,
    ConvertToComplaint,
    Defer,
    InquiryCreate,
    InquiryOut,
    InquirySummary,
)
from app.inquiries.states import Status
from app.tickets.views import timeline_page

router = APIRouter(prefix="/v1/inquiries", tags=["inquiries"], route_class=TransactionalRoute)

Reader = Annotated[Principal, Depends(require(Permission.TICKETS_READ))]
Writer = Annotated[Principal, Depends(require(Permission.TICKETS_WRITE))]
Codec = Annotated[PiiCodec, Depends(pii_codec)]
IfMatch = Annotated[ExpectedVersion, Depends(require_if_match)]
AUTH = problem_responses(401, 403, 429)
ACTION_PROBLEMS = {**AUTH, **problem_responses(404, 409, 412, 422, 428)}

BodyT = TypeVar("BodyT", bound=BaseModel)


@router.post(
    "",
    status_code=201,
    response_model=InquiryOut,
    operation_id="registerInquiry",
    summary="Register an inquiry (answered in the contact, or open with its answer clock);"
    " accepts Idempotency-Key",
    responses={**AUTH, **problem_responses(409, 422)},
)
async def register(
    request: Request,
    body: InquiryCreate,
    session: SessionDep,
    principal: Writer,
    codec: Codec,
    idempotency_key: Annotated[str | None, Depends(idempotency_key_header)],
) -> Response:
    async def perform() -> StoredResponse:
        inquiry = await service.register(session, principal, codec, body, now=utc_now())
        out = await service.view(session, inquiry)
        headers = {"Location": f"/v1/inquiries/{inquiry.id}", "ETag": f'"v{inquiry.version}"'}
        return StoredResponse(201, out, headers)

    result = await run_idempotent(
        session,
        scope=f"{principal.actor}:inquiries:register",
        key=idempotency_key,
        request_fingerprint=fingerprint("POST", request.url.path, body.model_dump(mode="json")),
        perform=perform,
    )
    return response_of(result)


@router.get(
    "",
    response_model=Page[InquirySummary],
    operation_id="listInquiries",
    summary="Search inquiries (your branch unless you see all)",
    responses={**AUTH, **problem_responses(422)},
)
async def list_inquiries(
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
    product_line: ProductLine | None = None,
    first_contact_resolution: bool | None = None,
    received_from: Instant | None = None,
    received_to: Instant | None = None,
) -> Page[InquirySummary]:
    try:
        customer_id = await customers.customer_filter(
            session, codec, phone=phone, customer_id=customer_id
        )
    except customers.NoSuchCustomer:
        return Page[InquirySummary](items=[], next_cursor=None)
    flt = repository.InquiryFilter(
        status=status,
        branch_id=branch_id,
        channel=channel,
        customer_id=customer_id,
        policy_number=policy_number,
        product_line=product_line,
        first_contact_resolution=first_contact_resolution,
        received_from=received_from,
        received_to=received_to,
    )
    rows = await repository.search(
        session, principal, flt, limit=page.limit + 1, after=page.after()
    )
    items, key = split_page(rows, page.limit)
    return Page[InquirySummary](
        items=[InquirySummary.model_validate(i) for i in items],
        next_cursor=encode_cursor(key) if key else None,
    )


@router.get(
    "/{inquiry_id}",
    response_model=InquiryOut,
    operation_id="getInquiry",
    summary="An inquiry with its answer clock",
    responses={**AUTH, **problem_responses(404)},
)
async def get_inquiry(
    inquiry_id: uuid.UUID, session: SessionDep, principal: Reader, response: Response
) -> InquiryOut:
    inquiry = await service.get(session, principal, inquiry_id)
    set_etag(response, inquiry.version)
    return await service.view(session, inquiry)


@router.get(
    "/{inquiry_id}/timeline",
    response_model=Page[TimelineEvent],
    operation_id="getInquiryTimeline",
    summary="Every event of the inquiry, oldest first",
    responses={**AUTH, **problem_responses(404)},
)
async def timeline(
    inquiry_id: uuid.UUID,
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[TimelineEvent]:
    await service.get(session, principal, inquiry_id)
    return await timeline_page(session, "inquiry", inquiry_id, page)


@router.get(
    "/{inquiry_id}/actions",
    response_model=list[AllowedAction],
    operation_id="getInquiryActions",
    summary="What you may do with this inquiry now",
    responses={**AUTH, **problem_responses(404)},
)
async def actions(
    inquiry_id: uuid.UUID, session: SessionDep, principal: Reader
) -> list[AllowedAction]:
    inquiry = await service.get(session, principal, inquiry_id)
    return service.allowed_actions(principal, inquiry)


async def _act(
    handler: Callable[[transitions.Context, uuid.UUID, BodyT, ExpectedVersion], Awaitable[Inquiry]],
    inquiry_id: uuid.UUID,
    body: BodyT,
    expected: ExpectedVersion,
    *,
    session: SessionDep,
    principal: Principal,
    codec: PiiCodec,
    response: Response,
) -> InquiryOut:
    ctx = transitions.Context(session=session, principal=principal, codec=codec, now=utc_now())
    inquiry = await handler(ctx, inquiry_id, body, expected)
    set_etag(response, inquiry.version)
    return await service.view(session, inquiry)


@router.post(
    "/{inquiry_id}/answer",
    response_model=InquiryOut,
    operation_id="inquiryAnswer",
    summary="answer (needs If-Match): from open, a first-contact resolution",
    responses=ACTION_PROBLEMS,
)
async def answer(
    inquiry_id: uuid.UUID,
    body: Answer,
    session: SessionDep,
    principal: Writer,
    expected: IfMatch,
    codec: Codec,
    response: Response,
) -> InquiryOut:
    return await _act(
        transitions.answer,
        inquiry_id,
        body,
        expected,
        session=session,
        principal=principal,
        codec=codec,
        response=response,
    )


@router.post(
    "/{inquiry_id}/defer",
    response_model=InquiryOut,
    operation_id="inquiryDefer",
    summary="defer (needs If-Match): an answer is owed later",
    responses=ACTION_PROBLEMS,
)
async def defer(
    inquiry_id: uuid.UUID,
    body: Defer,
    session: SessionDep,
    principal: Writer,
    expected: IfMatch,
    codec: Codec,
    response: Response,
) -> InquiryOut:
    return await _act(
        transitions.defer,
        inquiry_id,
        body,
        expected,
        session=session,
        principal=principal,
        codec=codec,
        response=response,
    )


@router.post(
    "/{inquiry_id}/close",
    response_model=InquiryOut,
    operation_id="inquiryClose",
    summary="close (needs If-Match)",
    responses=ACTION_PROBLEMS,
)
async def close(
    inquiry_id: uuid.UUID,
    body: Close,
    session: SessionDep,
    principal: Writer,
    expected: IfMatch,
    codec: Codec,
    response: Response,
) -> InquiryOut:
    return await _act(
        transitions.close,
        inquiry_id,
        body,
        expected,
        session=session,
        principal=principal,
        codec=codec,
        response=response,
    )


@router.post(
    "/{inquiry_id}/convert-to-complaint",
    response_model=InquiryOut,
    operation_id="inquiryConvertToComplaint",
    summary="convert-to-complaint (needs If-Match): registers a linked complaint",
    responses=ACTION_PROBLEMS,
)
async def convert_to_complaint(
    inquiry_id: uuid.UUID,
    body: ConvertToComplaint,
    session: SessionDep,
    principal: Writer,
    expected: IfMatch,
    codec: Codec,
    response: Response,
) -> InquiryOut:
    return await _act(
        transitions.convert_to_complaint,
        inquiry_id,
        body,
        expected,
        session=session,
        principal=principal,
        codec=codec,
        response=response,
    )
