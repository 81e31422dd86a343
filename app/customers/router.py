"""Customer and policy endpoints for agents: exact search, identify a caller, register a policy.

Customers are not branch-scoped (one person may hold policies in several branches); what an
agent sees of them is masked. Policies are scoped by their branch like tickets.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

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
from app.api.problems import problem_responses
from app.api.routing import TransactionalRoute
from app.customers import service
from app.customers.schemas import (
    CustomerCreate,
    CustomerOut,
    CustomerUpdate,
    PolicyCreate,
    PolicyOut,
)

router = APIRouter(tags=["customers"], route_class=TransactionalRoute)

Reader = Annotated[Principal, Depends(require(Permission.TICKETS_READ))]
Writer = Annotated[Principal, Depends(require(Permission.TICKETS_WRITE))]
Codec = Annotated[PiiCodec, Depends(pii_codec)]
AUTH = problem_responses(401, 403, 429)


@router.get(
    "/v1/customers",
    response_model=list[CustomerOut],
    operation_id="searchCustomers",
    summary="Find customers by phone (any format) or ID number (exact; masked)",
    responses={**AUTH, **problem_responses(422)},
)
async def search_customers(
    session: SessionDep,
    _: Reader,
    codec: Codec,
    phone: Annotated[str | None, Query(max_length=32)] = None,
    id_number: Annotated[str | None, Query(max_length=30)] = None,
) -> list[CustomerOut]:
    found = await service.search(session, codec, phone=phone, id_number=id_number)
    return [await service.view(session, codec, c) for c in found]


@router.post(
    "/v1/customers",
    status_code=201,
    response_model=CustomerOut,
    operation_id="createCustomer",
    summary="Register a customer; accepts Idempotency-Key",
    responses={**AUTH, **problem_responses(409, 422)},
)
async def create_customer(
    request: Request,
    body: CustomerCreate,
    session: SessionDep,
    principal: Writer,
    codec: Codec,
    idempotency_key: Annotated[str | None, Depends(idempotency_key_header)],
) -> Response:
    async def perform() -> StoredResponse:
        customer = await service.create(session, principal, codec, body)
        out = await service.view(session, codec, customer)
        headers = {"Location": f"/v1/customers/{customer.id}", "ETag": f'"v{customer.version}"'}
        return StoredResponse(201, out, headers)

    result = await run_idempotent(
        session,
        scope=f"{principal.actor}:customers:create",
        key=idempotency_key,
        request_fingerprint=fingerprint("POST", request.url.path, body.model_dump(mode="json")),
        perform=perform,
    )
    return response_of(result)


@router.get(
    "/v1/customers/{customer_id}",
    response_model=CustomerOut,
    operation_id="getCustomer",
    summary="A customer (masked)",
    responses={**AUTH, **problem_responses(404)},
)
async def get_customer(
    customer_id: uuid.UUID, session: SessionDep, _: Reader, codec: Codec, response: Response
) -> CustomerOut:
    customer = await service.get(session, customer_id)
    set_etag(response, customer.version)
    return await service.view(session, codec, customer)


@router.patch(
    "/v1/customers/{customer_id}",
    response_model=CustomerOut,
    operation_id="updateCustomer",
    summary="Identify a caller: set name and ID number, add phones (needs If-Match)",
    responses={**AUTH, **problem_responses(404, 409, 412, 422, 428)},
)
async def update_customer(
    customer_id: uuid.UUID,
    body: CustomerUpdate,
    session: SessionDep,
    principal: Writer,
    codec: Codec,
    response: Response,
    expected: Annotated[ExpectedVersion, Depends(require_if_match)],
) -> CustomerOut:
    customer = await service.update(session, principal, codec, customer_id, body, expected)
    set_etag(response, customer.version)
    return await service.view(session, codec, customer)


@router.post(
    "/v1/policies",
    status_code=201,
    response_model=PolicyOut,
    operation_id="registerPolicy",
    summary="Register a policy (number, product line, branch, holder)",
    responses={**AUTH, **problem_responses(409, 422)},
)
async def register_policy(body: PolicyCreate, session: SessionDep, principal: Writer) -> PolicyOut:
    policy = await service.register_policy(session, principal, body)
    return await service.policy_view(session, policy)


@router.get(
    "/v1/policies/{policy_number}",
    response_model=PolicyOut,
    operation_id="getPolicy",
    summary="A policy of your branch by its number",
    responses={**AUTH, **problem_responses(404)},
)
async def get_policy(policy_number: str, session: SessionDep, principal: Reader) -> PolicyOut:
    policy = await service.get_policy(session, principal, policy_number)
    return await service.policy_view(session, policy)
