"""Callback endpoints: schedule, the work queue (claim-next), attempts, release, cancel, read,
list, timeline, allowed actions, contact policies and the success rate."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from app.access.deps import pii_codec, require
from app.access.permissions import Permission
from app.access.pii import PiiCodec, mask_name
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
from app.api.schemas import Day, Instant
from app.callbacks import reports, repository, service, views, work
from app.callbacks import schemas as s
from app.complaints.schemas import TimelineEvent
from app.core.clock import utc_now
from app.core.config import Settings
from app.core.errors import InvalidCursor
from app.events import service as events

router = APIRouter(prefix="/v1/callbacks", tags=["callbacks"], route_class=TransactionalRoute)

Reader = Annotated[Principal, Depends(require(Permission.TICKETS_READ))]
Writer = Annotated[Principal, Depends(require(Permission.TICKETS_WRITE))]
Worker = Annotated[Principal, Depends(require(Permission.CALLBACKS_WORK))]
Reporter = Annotated[Principal, Depends(require(Permission.REPORTS_READ))]
Codec = Annotated[PiiCodec, Depends(pii_codec)]
IfMatch = Annotated[ExpectedVersion, Depends(require_if_match)]
Reveal = Annotated[
    str | None,
    Query(max_length=20, description="Comma list of name, phone (needs pii:read; audited)."),
]
AUTH = problem_responses(401, 403, 429)
CHANGE = {**AUTH, **problem_responses(404, 409, 412, 428)}


def _reveal(reveal: str | None) -> frozenset[str]:
    return frozenset(p.strip() for p in reveal.split(",") if p.strip()) if reveal else frozenset()


def _context(session: SessionDep, principal: Principal) -> work.Context:
    return work.Context(session=session, principal=principal, now=utc_now())


@router.post(
    "",
    status_code=201,
    response_model=s.CallbackOut,
    operation_id="scheduleCallback",
    summary="Schedule a callback by hand; accepts Idempotency-Key",
    responses={**AUTH, **problem_responses(409)},
)
async def schedule(
    request: Request,
    body: s.CallbackCreate,
    session: SessionDep,
    principal: Writer,
    codec: Codec,
    idempotency_key: Annotated[str | None, Depends(idempotency_key_header)],
) -> Response:
    async def perform() -> StoredResponse:
        callback = await service.create(session, principal, codec, body, now=utc_now())
        out = await views.view(session, principal, codec, callback)
        headers = {"Location": f"/v1/callbacks/{callback.id}", "ETag": f'"v{callback.version}"'}
        return StoredResponse(201, out, headers)

    result = await run_idempotent(
        session,
        scope=f"{principal.actor}:callbacks:schedule",
        key=idempotency_key,
        request_fingerprint=fingerprint("POST", request.url.path, body.model_dump(mode="json")),
        perform=perform,
    )
    return response_of(result)


@router.get(
    "",
    response_model=Page[s.CallbackSummary],
    operation_id="listCallbacks",
    summary="Callbacks, most urgent first (your branch unless you see all)",
    responses=AUTH,
)
async def list_callbacks(
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    state: s.StateName | None = None,
    kind: s.Kind | None = None,
    branch_id: uuid.UUID | None = None,
    team_id: uuid.UUID | None = None,
    assignee_id: uuid.UUID | None = None,
    due_before: Instant | None = None,
    ticket_kind: s.TicketKind | None = None,
    ticket_id: uuid.UUID | None = None,
) -> Page[s.CallbackSummary]:
    flt = repository.CallbackFilter(
        state=state,
        kind=kind,
        branch_id=branch_id,
        team_id=team_id,
        assignee_id=assignee_id,
        due_before=due_before,
        ticket_kind=ticket_kind,
        ticket_id=ticket_id,
    )
    rows = await repository.search(
        session, principal, flt, limit=page.limit + 1, after=page.after()
    )
    items = rows[: page.limit]
    last = items[-1] if len(rows) > page.limit else None
    return Page[s.CallbackSummary](
        items=[
            s.CallbackSummary.model_validate(c).model_copy(
                update={"customer_name": mask_name(c.customer_name) if c.customer_name else None}
            )
            for c in items
        ],
        next_cursor=encode_cursor([last.due_at.isoformat(), str(last.id)]) if last else None,
    )


@router.get(
    "/policies",
    response_model=list[s.ContactPolicyOut],
    operation_id="listCallbackPolicies",
    summary="The contact policy and questionnaire of each kind",
    responses=AUTH,
)
async def list_policies(session: SessionDep, _: Reader) -> list[s.ContactPolicyOut]:
    questionnaires = await repository.questionnaires(session)
    result = []
    for row in await repository.policy_rows(session):
        template = questionnaires[row.questionnaire_code]
        result.append(
            s.ContactPolicyOut(
                kind=row.kind,
                steps=[
                    s.StepOut(method=m, attempts=a)
                    for m, a in zip(row.methods, row.attempts, strict=True)
                ],
                spacing_minutes=row.spacing_minutes,
                callable_from=row.callable_from,
                callable_to=row.callable_to,
                working_days_only=row.working_days_only,
                description=row.description,
                questionnaire=s.QuestionnaireOut(
                    code=template.code,
                    title=template.title,
                    satisfaction_required=template.satisfaction_required,
                    items=[s.QuestionItemOut.model_validate(i) for i in template.items],
                ),
            )
        )
    return result


@router.get(
    "/success-rate",
    response_model=s.SuccessRateOut,
    operation_id="getCallbackSuccessRate",
    summary="Callback success rate (回访成功率) and on-time rate per team, agent or kind",
    description=(reports.__doc__ or "").split("\n\n", 1)[-1],
    responses=AUTH,
)
async def success_rate(
    session: SessionDep,
    principal: Reporter,
    period_from: Annotated[Day, Query(alias="from", description="First local due date.")],
    period_to: Annotated[Day, Query(alias="to", description="Last local due date (included).")],
    group_by: s.GroupBy = "kind",
) -> s.SuccessRateOut:
    return await reports.success_rate(
        session, principal, period_from=period_from, period_to=period_to, group_by=group_by
    )


@router.post(
    "/claim-next",
    response_model=s.CallbackOut,
    operation_id="claimNextCallback",
    summary="Take the most urgent callable callback from the queue and hold it for you",
    description=(
        "Callable: scheduled or rescheduled (or held by an expired hold), its window open, its"
        " next attempt time reached, now inside its kind's callable hours. Ordered by due_at,"
        " then priority. The hold lasts CONTACT_DESK_CALLBACK_HOLD_MINUTES without an attempt."
        " While you hold one, you get that one again. **204** (no body) when nothing is"
        " callable now: an empty queue is not an error."
    ),
    responses={**AUTH, 204: {"description": "Nothing is callable now."}},
)
async def claim_next(
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Worker,
    codec: Codec,
    kind: s.Kind | None = None,
    team_id: uuid.UUID | None = None,
    reveal: Reveal = None,
) -> s.CallbackOut | Response:
    settings: Settings = request.app.state.settings
    callback = await work.claim_next(
        _context(session, principal),
        hold=timedelta(minutes=settings.callback_hold_minutes),
        kind=kind,
        team_id=team_id,
    )
    if callback is None:
        return Response(status_code=204)
    set_etag(response, callback.version)
    return await views.view(session, principal, codec, callback, reveal=_reveal(reveal))


@router.get(
    "/{callback_id:uuid}",
    response_model=s.CallbackOut,
    operation_id="getCallback",
    summary="A callback with its attempts, completion record and clocks (masked unless revealed)",
    responses={**AUTH, **problem_responses(404)},
)
async def get_callback(
    callback_id: uuid.UUID,
    session: SessionDep,
    principal: Reader,
    codec: Codec,
    response: Response,
    reveal: Reveal = None,
) -> s.CallbackOut:
    callback = await service.get(session, principal, callback_id)
    set_etag(response, callback.version)
    return await views.view(session, principal, codec, callback, reveal=_reveal(reveal))


@router.get(
    "/{callback_id:uuid}/timeline",
    response_model=Page[TimelineEvent],
    operation_id="getCallbackTimeline",
    summary="Every event of the callback, oldest first",
    responses={**AUTH, **problem_responses(404)},
)
async def timeline(
    callback_id: uuid.UUID,
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[TimelineEvent]:
    await service.get(session, principal, callback_id)
    after = page.after()
    if after is not None and (len(after) != 1 or not isinstance(after[0], int)):
        raise InvalidCursor()
    rows = await events.timeline(
        session, "callback", callback_id, after_id=after[0] if after else 0, limit=page.limit + 1
    )
    items = rows[: page.limit]
    next_cursor = encode_cursor([items[-1].id]) if len(rows) > page.limit else None
    return Page[TimelineEvent](
        items=[TimelineEvent.model_validate(e) for e in items], next_cursor=next_cursor
    )


@router.get(
    "/{callback_id:uuid}/actions",
    response_model=list[s.CallbackAction],
    operation_id="getCallbackActions",
    summary="What you may do with this callback now",
    responses={**AUTH, **problem_responses(404)},
)
async def actions(
    callback_id: uuid.UUID, session: SessionDep, principal: Reader
) -> list[s.CallbackAction]:
    callback = await service.get(session, principal, callback_id)
    return views.allowed_actions(principal, callback)


@router.post(
    "/{callback_id:uuid}/attempts",
    response_model=s.CallbackOut,
    operation_id="recordCallbackAttempt",
    summary="Record your attempt on the callback you hold (needs If-Match)",
    description=(
        "Reached: the written record (questionnaire answers, satisfaction, problem found)"
        " completes it. Otherwise the contact policy reschedules it, switches to the next method"
        " or ends it unreachable. 409 not_holder when another agent holds it."
    ),
    responses={**CHANGE, **problem_responses(422)},
)
async def record_attempt(
    callback_id: uuid.UUID,
    body: s.AttemptIn,
    response: Response,
    session: SessionDep,
    principal: Worker,
    codec: Codec,
    expected: IfMatch,
) -> s.CallbackOut:
    callback = await work.record_attempt(_context(session, principal), callback_id, body, expected)
    set_etag(response, callback.version)
    return await views.view(session, principal, codec, callback)


@router.post(
    "/{callback_id:uuid}/release",
    response_model=s.CallbackOut,
    operation_id="releaseCallback",
    summary="Give your hold back to the queue (supervisors: anyone's) (needs If-Match)",
    responses=CHANGE,
)
async def release(
    callback_id: uuid.UUID,
    body: s.Release,
    response: Response,
    session: SessionDep,
    principal: Worker,
    codec: Codec,
    expected: IfMatch,
) -> s.CallbackOut:
    callback = await work.release(_context(session, principal), callback_id, body, expected)
    set_etag(response, callback.version)
    return await views.view(session, principal, codec, callback)


@router.post(
    "/{callback_id:uuid}/cancel",
    response_model=s.CallbackOut,
    operation_id="cancelCallback",
    summary="Cancel a callback that has become moot, with the reason (needs If-Match)",
    responses=CHANGE,
)
async def cancel(
    callback_id: uuid.UUID,
    body: s.Cancel,
    response: Response,
    session: SessionDep,
    principal: Writer,
    codec: Codec,
    expected: IfMatch,
) -> s.CallbackOut:
    callback = await work.cancel(_context(session, principal), callback_id, body, expected)
    set_etag(response, callback.version)
    return await views.view(session, principal, codec, callback)
