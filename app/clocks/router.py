"""Rule-set administration. There is deliberately no PUT or PATCH: versions are only added."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from app.access.deps import require
from app.access.permissions import Permission
from app.access.principal import Principal
from app.api.deps import SessionDep
from app.api.pagination import Page, PageParams, encode_cursor, page_params
from app.api.problems import problem_responses
from app.api.routing import TransactionalRoute
from app.clocks import rule_sets
from app.clocks.schemas import ClockDefinitionOut, RuleSetIn, RuleSetOut

router = APIRouter(
    prefix="/v1/rule-sets",
    tags=["rule sets"],
    route_class=TransactionalRoute,
    dependencies=[Depends(require(Permission.RULES_READ))],
    responses=problem_responses(401, 403, 429),
)


def _out(detail: rule_sets.RuleSetDetail) -> RuleSetOut:
    rule_set = detail.rule_set
    return RuleSetOut(
        version=rule_set.version,
        name=rule_set.name,
        effective_from=rule_set.effective_from,
        created_at=rule_set.created_at,
        created_by=rule_set.created_by,
        definitions=[ClockDefinitionOut.model_validate(d) for d in detail.definitions],
    )


@router.get(
    "",
    response_model=Page[RuleSetOut],
    operation_id="listRuleSets",
    summary="List rule set versions with their clock definitions",
)
async def list_rule_sets(
    session: SessionDep, page: Annotated[PageParams, Depends(page_params)]
) -> Page[RuleSetOut]:
    rows, last = await rule_sets.list_rule_sets(session, limit=page.limit, after=page.after())
    return Page[RuleSetOut](
        items=[_out(row) for row in rows],
        next_cursor=encode_cursor([last]) if last is not None else None,
    )


@router.get(
    "/{version}",
    response_model=RuleSetOut,
    operation_id="getRuleSet",
    summary="Get one rule set version",
    responses=problem_responses(404),
)
async def get_rule_set(
    version: Annotated[int, Path(ge=1, le=1_000_000)], session: SessionDep
) -> RuleSetOut:
    return _out(await rule_sets.get_rule_set(session, version))


@router.post(
    "",
    status_code=201,
    response_model=RuleSetOut,
    operation_id="createRuleSet",
    summary="Add a new rule set version (existing versions are never edited)",
    responses=problem_responses(409),
)
async def create_rule_set(
    body: RuleSetIn,
    session: SessionDep,
    response: Response,
    actor: Annotated[Principal, Depends(require(Permission.RULES_WRITE))],
) -> RuleSetOut:
    detail = await rule_sets.create_rule_set(session, body, actor=actor.actor)
    response.headers["Location"] = f"/v1/rule-sets/{detail.rule_set.version}"
    return _out(detail)
