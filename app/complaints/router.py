"""Complaint endpoints: register, read, search, timeline, allowed actions, and one POST per
transition (``/v1/complaints/{id}/<action>``, each with ``If-Match`` and an optional
``Idempotency-Key``)."""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import select

from app.access.deps import pii_codec, require
from app.access.permissions import Permission
from app.access.pii import PiiCodec, mask_name
from app.access.principal import Principal
from app.api.deps import SessionDep, get_session, session_of
from app.api.etag import ExpectedVersion, etag_for, require_if_match, set_etag
from app.api.idempotency import (
    IdempotencyKeyHeader,
    IdempotentResult,
    StoredResponse,
    claim_in,
    fingerprint,
    idempotency_key_header,
    idempotent_post,
    replay,
    response_of,
    valid_idempotency_key,
)
from app.api.pagination import Page, PageParams, encode_cursor, page_params
from app.api.problems import problem_responses
from app.api.routing import TransactionalRoute
from app.api.schemas import Instant
from app.complaints import repository, service, transitions
from app.complaints.models import ComplaintCause
from app.complaints.schemas import (
    AllowedAction,
    Channel,
    ComplaintCreate,
    ComplaintOut,
    ComplaintSummary,
    ProductLine,
    TimelineEvent,
)
from app.complaints.states import Action, Status
from app.core.clock import utc_now
from app.core.errors import InvalidCursor, InvalidInput
from app.core.phones import InvalidPhone, normalise_phone
from app.db.batch import ClaimTaken, WriteBatch
from app.db.keyset import split_page
from app.events import service as events

router = APIRouter(prefix="/v1/complaints", tags=["complaints"], route_class=TransactionalRoute)

Reader = Annotated[Principal, Depends(require(Permission.TICKETS_READ))]
Writer = Annotated[Principal, Depends(require(Permission.TICKETS_WRITE))]
Codec = Annotated[PiiCodec, Depends(pii_codec)]
AUTH = problem_responses(401, 403, 429)


def _reveal(reveal: str | None) -> frozenset[str]:
    return frozenset(p.strip() for p in reveal.split(",") if p.strip()) if reveal else frozenset()


@router.post(
    "",
    status_code=201,
    response_model=ComplaintOut,
    operation_id="registerComplaint",
    summary="Register a complaint (C1); accepts Idempotency-Key",
    responses={**AUTH, **problem_responses(409)},
)
async def register(
    request: Request,
    body: ComplaintCreate,
    principal: Writer,
    idempotency_key_sent: IdempotencyKeyHeader = None,
) -> Response:
    # The hottest write: the session, codec and key are taken here rather than as dependencies
    # (each dependency FastAPI solves costs about 0.1 M instructions, ~2.5 % of a registration).
    session, codec = session_of(request), await pii_codec(request)
    idempotency_key = valid_idempotency_key(idempotency_key_sent)
    # One statement either way: the complaint's rows, and with a key the key's record as the
    # statement's claim — a retry, even a concurrent one, writes nothing and replays.
    created: list[StoredResponse] = []
    scope = f"{principal.actor}:complaints:register"
    request_fingerprint = (
        fingerprint(request.method, request.url.path, body.model_dump(mode="json"))
        if idempotency_key is not None
        else ""  # no key, nothing to compare (spared on the hot path)
    )

    def answer(registered: service.Registered, batch: WriteBatch) -> None:
        complaint = registered.complaint
        out = service.view_registered(codec, registered)
        headers = {"Location": f"/v1/complaints/{complaint.id}", "ETag": f'"v{complaint.version}"'}
        created.append(StoredResponse(201, out, headers))
        if idempotency_key is not None:
            claim_in(
                batch,
                scope=scope,
                key=idempotency_key,
                request_fingerprint=request_fingerprint,
                response=created[-1],
            )

    try:
        await service.register(
            session, principal, codec, body, now=utc_now(), alone=True, claim=answer
        )
    except ClaimTaken:
        assert idempotency_key is not None
        return response_of(
            await replay(
                session, scope=scope, key=idempotency_key, request_fingerprint=request_fingerprint
            )
        )
    # The last build is what was written (a calendar change makes the batch build again).
    return response_of(IdempotentResult(created[-1], replayed=False))


@router.get(
    "",
    response_model=Page[ComplaintSummary],
    operation_id="listComplaints",
    summary="Search complaints (your branch unless you see all)",
    responses=AUTH,
)
async def list_complaints(
    session: SessionDep,
    principal: Reader,
    codec: Codec,
    page: Annotated[PageParams, Depends(page_params)],
    status: Status | None = None,
    branch_id: uuid.UUID | None = None,
    assignee_id: uuid.UUID | None = None,
    channel: Channel | None = None,
    cause_code: Annotated[str | None, Query(max_length=40)] = None,
    product_line: ProductLine | None = None,
    received_from: Instant | None = None,
    received_to: Instant | None = None,
    phone: Annotated[str | None, Query(max_length=32, description="Any format.")] = None,
    id_number: Annotated[str | None, Query(max_length=30)] = None,
    policy_number: Annotated[str | None, Query(max_length=64)] = None,
    breached: bool | None = None,
    due_before: Instant | None = None,
    clock_name: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[ComplaintSummary]:
    phone_hash = None
    if phone is not None:
        try:
            phone_hash = codec.lookup(normalise_phone(phone), purpose=codec.PHONE)
        except InvalidPhone as exc:
            raise InvalidInput("phone is not a valid phone number.", field="phone") from exc
    flt = repository.ComplaintFilter(
        status=status,
        branch_id=branch_id,
        assignee_id=assignee_id,
        channel=channel,
        cause_code=cause_code,
        product_line=product_line,
        received_from=received_from,
        received_to=received_to,
        phone_hash=phone_hash,
        policy_number=policy_number,
        id_number_hash=codec.id_lookup(id_number) if id_number else None,
        breached=breached,
        due_before=due_before,
        clock_name=clock_name,
    )
    rows = await repository.search(
        session, principal, flt, limit=page.limit + 1, after=page.after()
    )
    items, key = split_page(rows, page.limit)
    summaries = [
        ComplaintSummary.model_validate(c).model_copy(
            update={"complainant_name": mask_name(c.complainant_name)}
        )
        for c in items
    ]
    return Page[ComplaintSummary](items=summaries, next_cursor=encode_cursor(key) if key else None)


@router.get(
    "/causes",
    operation_id="listComplaintCauses",
    summary="The cause code list",
    responses=AUTH,
)
async def list_causes(session: SessionDep, _: Reader) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(ComplaintCause).where(ComplaintCause.active).order_by(ComplaintCause.code)
    )
    return [{"code": c.code, "name_zh": c.name_zh, "name_en": c.name_en} for c in rows]


@router.get(
    "/{complaint_id}",
    response_model=ComplaintOut,
    operation_id="getComplaint",
    summary="A complaint with its clocks and notices (personal fields masked unless revealed)",
    responses={**AUTH, **problem_responses(404)},
)
async def get_complaint(
    complaint_id: uuid.UUID,
    session: SessionDep,
    principal: Reader,
    codec: Codec,
    response: Response,
    reveal: Annotated[
        str | None,
        Query(
            max_length=40,
            description="Comma list of name, phone, id_number (needs pii:read; audited).",
        ),
    ] = None,
) -> ComplaintOut:
    complaint = await service.get(session, principal, complaint_id)
    set_etag(response, complaint.version)
    return await service.view(session, principal, codec, complaint, reveal=_reveal(reveal))


@router.get(
    "/{complaint_id}/timeline",
    response_model=Page[TimelineEvent],
    operation_id="getComplaintTimeline",
    summary="Every event of the complaint, oldest first",
    responses={**AUTH, **problem_responses(404)},
)
async def timeline(
    complaint_id: uuid.UUID,
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[TimelineEvent]:
    await service.get(session, principal, complaint_id)
    after = page.after()
    if after is not None and (len(after) != 1 or not isinstance(after[0], int)):
        raise InvalidCursor()
    rows = await events.timeline(
        session, "complaint", complaint_id, after_id=after[0] if after else 0, limit=page.limit + 1
    )
    items = rows[: page.limit]
    next_cursor = encode_cursor([items[-1].id]) if len(rows) > page.limit else None
    return Page[TimelineEvent](
        items=[TimelineEvent.model_validate(e) for e in items], next_cursor=next_cursor
    )


@router.get(
    "/{complaint_id}/actions",
    response_model=list[AllowedAction],
    operation_id="getComplaintActions",
    summary="What you may do with this complaint now",
    responses={**AUTH, **problem_responses(404)},
)
async def actions(
    complaint_id: uuid.UUID, session: SessionDep, principal: Reader
) -> list[AllowedAction]:
    complaint = await service.get(session, principal, complaint_id)
    return service.allowed_actions(principal, complaint)


def _transition_endpoint(action: Action) -> Callable[..., Awaitable[Response]]:
    handler, body_model = transitions.HANDLERS[action]

    async def endpoint(**kwargs: Any) -> Response:
        session = kwargs["session"]
        principal: Principal = kwargs["principal"]
        request: Request = kwargs["request"]
        body = kwargs["body"]

        async def perform() -> StoredResponse:
            context = transitions.Context(
                session=session, principal=principal, now=utc_now(), codec=kwargs["codec"]
            )
            complaint = await handler(context, kwargs["complaint_id"], body, kwargs["expected"])
            out = await service.view(session, principal, kwargs["codec"], complaint)
            return StoredResponse(200, out, {"ETag": etag_for(complaint.version)})

        # A client that lost the answer (a timeout, a restart) retries with the same key and
        # If-Match and gets the first answer back, where a bare retry would get 412.
        return await idempotent_post(
            session,
            request,
            scope=f"{principal.actor}:complaints:transition",
            key=kwargs["idempotency_key"],
            body={"body": body.model_dump(mode="json"), "if_match": request.headers["if-match"]},
            perform=perform,
        )

    keyword = inspect.Parameter.KEYWORD_ONLY
    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("complaint_id", keyword, annotation=uuid.UUID),
            inspect.Parameter("body", keyword, annotation=body_model),
            inspect.Parameter("request", keyword, annotation=Request),
            inspect.Parameter("session", keyword, annotation=Annotated[Any, Depends(get_session)]),
            inspect.Parameter("principal", keyword, annotation=Writer),
            inspect.Parameter("codec", keyword, annotation=Codec),
            inspect.Parameter(
                "expected",
                keyword,
                annotation=Annotated[ExpectedVersion, Depends(require_if_match)],
            ),
            inspect.Parameter(
                "idempotency_key",
                keyword,
                annotation=Annotated[str | None, Depends(idempotency_key_header)],
            ),
        ],
        return_annotation=Response,
    )
    endpoint.__name__ = f"complaint_{action.name.lower()}"
    return endpoint


def _operation_id(action: Action) -> str:
    return "complaint" + "".join(part.capitalize() for part in action.value.split("-"))


for _action in Action:
    router.add_api_route(
        f"/{{complaint_id}}/{_action.value}",
        _transition_endpoint(_action),
        methods=["POST"],
        response_model=ComplaintOut,
        operation_id=_operation_id(_action),
        summary=f"{_action.value} (needs If-Match; accepts Idempotency-Key)",
        responses={**AUTH, **problem_responses(404, 409, 412, 428)},
    )
