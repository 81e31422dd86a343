"""Rule sets: versioned deadline rules. A version is only ever added, never edited, so a clock
started under version N stays explainable by version N forever."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.clocks import repository
from app.clocks.models import ClockDefinition, RuleSet
from app.clocks.schemas import ClockDefinitionIn, RuleSetIn
from app.clocks.states import DAY_UNITS, Unit
from app.core.errors import AlreadyExists, InvalidInput, NoRuleSetInForce, NotFound


@dataclass(frozen=True, slots=True)
class RuleSetDetail:
    rule_set: RuleSet
    definitions: list[ClockDefinition]


class InvalidDefinition(InvalidInput):
    code = "invalid_clock_definition"
    title = "A clock definition of the rule set is not valid."

    def __init__(self, name: str, detail: str) -> None:
        super().__init__(f"{name}: {detail}", definition=name)


def check_definition(item: ClockDefinitionIn) -> None:
    """Refuse definitions that would make clocks ill-defined or warnings meaningless."""
    unit = Unit(item.unit)
    if item.amount == 0 and unit is not Unit.CALENDAR_DAYS:
        raise InvalidDefinition(item.name, "only calendar-day clocks may take their amount (0).")
    if unit is Unit.HOURS and item.warning_lead_working_days:
        raise InvalidDefinition(item.name, "an hours clock cannot warn in working days.")
    if unit in DAY_UNITS and 0 < item.amount <= item.warning_lead_working_days:
        raise InvalidDefinition(item.name, "the warning lead must be shorter than the limit.")
    previous = item.amount
    for extension in item.extensions:
        if extension <= previous:
            raise InvalidDefinition(
                item.name, "extensions must be longer than the limit, in increasing order."
            )
        previous = extension
    if len(set(item.stop_events)) != len(item.stop_events):
        raise InvalidDefinition(item.name, "a stop event is listed twice.")
    if item.start_event in item.stop_events:
        raise InvalidDefinition(item.name, "the start event cannot also stop the clock.")


def check_rule_set(data: RuleSetIn) -> None:
    seen: set[str] = set()
    for item in data.definitions:
        if item.name in seen:
            raise InvalidDefinition(item.name, "defined twice in this rule set.")
        seen.add(item.name)
        check_definition(item)


async def create_rule_set(session: AsyncSession, data: RuleSetIn, *, actor: str) -> RuleSetDetail:
    """Add a new version with its full definitions (409 if the version number is taken)."""
    check_rule_set(data)
    created = await repository.insert_rule_set(
        session,
        version=data.version,
        name=data.name,
        effective_from=data.effective_from,
        created_by=actor,
        definitions=[d.model_dump(mode="json") for d in data.definitions],
    )
    if created is None:
        raise AlreadyExists(
            f"Rule set version {data.version} exists; versions are never edited. Add a new one.",
            field="version",
        )
    return RuleSetDetail(created, await repository.definitions_of(session, data.version))


async def get_rule_set(session: AsyncSession, version: int) -> RuleSetDetail:
    rule_set = await repository.get_rule_set(session, version)
    if rule_set is None:
        raise NotFound(f"Rule set version {version} does not exist.")
    return RuleSetDetail(rule_set, await repository.definitions_of(session, version))


async def list_rule_sets(
    session: AsyncSession, *, limit: int, after: list[object] | None
) -> tuple[list[RuleSetDetail], int | None]:
    """One page of rule sets in version order, and the version to continue after."""
    last: int | None = None
    if after is not None:
        if len(after) != 1 or not isinstance(after[0], int):
            raise InvalidInput("The cursor is not one this service issued.", field="cursor")
        last = after[0]
    rows = await repository.list_rule_sets(session, limit=limit + 1, after=last)
    page = [
        RuleSetDetail(row, await repository.definitions_of(session, row.version))
        for row in rows[:limit]
    ]
    return page, (rows[limit - 1].version if len(rows) > limit else None)


_IN_FORCE_TTL_SECONDS = 30.0
_in_force: dict[dt.date, tuple[float, int]] = {}


async def version_in_force(session: AsyncSession, on_date: dt.date) -> int:
    """The version number in force on ``on_date``, cached for 30 s: a version added for today
    is picked up within that, and tickets keep the version they were opened under anyway."""
    cached = _in_force.get(on_date)
    if cached is not None and time.monotonic() - cached[0] < _IN_FORCE_TTL_SECONDS:
        return cached[1]
    version = (await current_rule_set(session, on_date)).version
    _in_force[on_date] = (time.monotonic(), version)
    return version


async def current_rule_set(session: AsyncSession, on_date: dt.date) -> RuleSet:
    """The rule set in force on ``on_date``: the latest ``effective_from`` on or before it."""
    rule_set = await repository.rule_set_in_force(session, on_date)
    if rule_set is None:
        # 422, not 404: the date comes from the request (a back-dated received_at), and the
        # operations that open tickets do not declare 404.
        raise NoRuleSetInForce(f"No rule set is in force on {on_date.isoformat()}.")
    return rule_set
