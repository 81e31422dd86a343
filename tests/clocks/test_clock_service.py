"""Clock operations on a real database: due dates, pauses, extensions, stops, one event each."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.calendar.official_data import cn_calendar
from app.clocks import service
from app.clocks.states import SubjectKind
from app.clocks.sweeper import breach_batch
from app.core.errors import InvalidInput, InvalidTransition, NotFound
from tests.clocks.helpers import ACTOR, event_kinds, local, start_clock, subject

D = dt.date
HOUR = dt.timedelta(hours=1)


async def test_start_computes_due_and_records_one_event(session: AsyncSession) -> None:
    clock = await start_clock(session, started_at=local(2025, 9, 30, 15))
    assert clock.start_date == D(2025, 9, 30)
    assert clock.due_date == D(2025, 10, 14)
    assert clock.due_at == dt.datetime(2025, 10, 14, 16, tzinfo=dt.UTC)
    assert clock.provisional is False
    assert clock.rule_set_version == 1
    assert clock.unit == "working_days"
    assert clock.amount == 5
    # C2 warns one working day ahead: at the end of Mon Oct 13, as the last day begins.
    assert clock.warn_at == dt.datetime(2025, 10, 13, 16, tzinfo=dt.UTC)
    events = await service.events_of(session, clock.id)
    assert [e.kind for e in events] == ["started"]
    assert events[0].actor == ACTOR
    assert events[0].new_due_at == clock.due_at
    assert events[0].calendar_version is not None


async def test_paused_across_national_day_is_due_later_by_the_paused_working_days(
    session: AsyncSession,
) -> None:
    cal = cn_calendar()
    clock = await start_clock(session, "C3_acceptance_notice", started_at=local(2025, 9, 22))
    before = clock.due_date
    assert before == D(2025, 10, 11)
    await service.pause(
        session, clock.id, now=local(2025, 9, 26, 16), actor=ACTOR, reason="appraisal"
    )
    resumed = await service.resume(session, clock.id, now=local(2025, 10, 10, 9), actor=ACTOR)
    # Paused after Fri Sep 26 until Fri Oct 10: Sep 28 (make-up Sunday), 29, 30, Oct 9, 10.
    assert resumed.paused_units == 5
    assert cal.count_working_days(before + dt.timedelta(days=1), resumed.due_date) == 5
    assert resumed.due_date == D(2025, 10, 17)
    assert resumed.paused_since is None
    events = await service.events_of(session, clock.id)
    assert [e.kind for e in events] == ["started", "paused", "resumed"]
    assert events[-1].data["paused_units_added"] == 5
    assert events[-1].old_due_at == dt.datetime(2025, 10, 11, 16, tzinfo=dt.UTC)
    assert events[-1].new_due_at == resumed.due_at


async def test_calendar_day_pause_adds_the_dates_crossed(session: AsyncSession) -> None:
    clock = await start_clock(session, "C7_handling_decision", started_at=local(2025, 9, 1))
    assert clock.due_date == D(2025, 9, 16)
    await service.pause(session, clock.id, now=local(2025, 9, 5), actor=ACTOR, reason="mediation")
    resumed = await service.resume(session, clock.id, now=local(2025, 9, 12), actor=ACTOR)
    assert resumed.paused_units == 7
    assert resumed.due_date == D(2025, 9, 23)


async def test_hours_clock_adds_started_hours(session: AsyncSession) -> None:
    started = local(2025, 10, 1, 9)
    clock = await start_clock(
        session, "ivr_callback_request", started_at=started, kind=SubjectKind.CALLBACK
    )
    assert clock.due_at == started + 4 * HOUR
    assert clock.warn_at is None
    await service.pause(session, clock.id, now=started + HOUR, actor=ACTOR, reason="customer busy")
    resumed = await service.resume(
        session, clock.id, now=started + 2.5 * HOUR, actor=ACTOR, reason="customer free"
    )
    assert resumed.paused_units == 2
    assert resumed.due_at == started + 6 * HOUR


@pytest.mark.parametrize(
    ("steps", "action"),
    [
        (["pause"], "pause"),
        ([], "resume"),
        (["stop"], "stop"),
        (["cancel"], "stop"),
        (["stop"], "cancel"),
        (["stop"], "pause"),
        (["stop"], "resume"),
        (["stop"], "extend"),
        (["stop"], "restart"),
    ],
)
async def test_illegal_transitions_are_refused(
    session: AsyncSession, steps: list[str], action: str
) -> None:
    clock = await start_clock(session, "C7_handling_decision", started_at=local(2025, 9, 1))
    now = local(2025, 9, 3)

    async def act(name: str) -> object:
        if name == "pause":
            return await service.pause(session, clock.id, now=now, actor=ACTOR, reason="r")
        if name == "resume":
            return await service.resume(session, clock.id, now=now, actor=ACTOR)
        if name == "stop":
            return await service.stop(session, clock.id, now=now, actor=ACTOR)
        if name == "cancel":
            return await service.cancel(session, clock.id, now=now, actor=ACTOR, reason="r")
        if name == "extend":
            return await service.extend(
                session, clock.id, amount=30, reason="r", approver="u:1", now=now, actor=ACTOR
            )
        return await service.restart(
            session, clock.id, started_at=now, now=now, actor=ACTOR, reason="new facts"
        )

    for step in steps:
        await act(step)
    with pytest.raises(InvalidTransition) as raised:
        await act(action)
    assert raised.value.extra["action"] == action
    # The refused operation wrote nothing.
    assert len(await event_kinds(session, clock.id)) == 1 + len(steps)


async def test_stop_on_time_is_met_and_late_is_met_late(session: AsyncSession) -> None:
    on_time = await start_clock(session)
    stopped = await service.stop(session, on_time.id, now=on_time.due_at, actor=ACTOR)
    assert stopped.outcome == "met"
    assert stopped.stopped_at == on_time.due_at

    late = await start_clock(session)
    stopped = await service.stop(
        session, late.id, now=late.due_at + dt.timedelta(seconds=1), actor=ACTOR
    )
    assert stopped.outcome == "met_late"
    assert stopped.breached_at is None  # the sweeper had not run; the outcome still says late


async def test_a_breach_is_never_erased(session: AsyncSession) -> None:
    clock = await start_clock(session, "C7_handling_decision", started_at=local(2025, 9, 1))
    sweep_at = clock.due_at + HOUR
    assert await breach_batch(session, sweep_at, batch=10_000) >= 1
    await session.refresh(clock)
    assert clock.breached_at == sweep_at
    extended = await service.extend(
        session, clock.id, amount=30, reason="complex", approver="u:boss", now=sweep_at, actor=ACTOR
    )
    assert extended.breached_at == sweep_at
    stopped = await service.stop(session, clock.id, now=sweep_at + HOUR, actor=ACTOR)
    # Within the extended limit, but the breach stands: the clock can only end late.
    assert stopped.due_at > sweep_at + HOUR
    assert stopped.outcome == "met_late"
    assert stopped.breached_at == sweep_at
    assert await event_kinds(session, clock.id) == ["started", "breached", "extended", "stopped"]


async def test_extension_follows_the_definition(session: AsyncSession) -> None:
    clock = await start_clock(session, "C7_handling_decision", started_at=local(2026, 9, 22))
    assert clock.due_date == D(2026, 10, 8)
    now = local(2026, 9, 25)
    with pytest.raises(InvalidInput, match="30, 60"):
        await service.extend(
            session, clock.id, amount=20, reason="complex", approver="u:1", now=now, actor=ACTOR
        )
    with pytest.raises(InvalidInput, match="reason and an approver"):
        await service.extend(
            session, clock.id, amount=30, reason=" ", approver="u:1", now=now, actor=ACTOR
        )
    extended = await service.extend(
        session, clock.id, amount=30, reason="complex", approver="u:boss", now=now, actor=ACTOR
    )
    assert extended.amount == 30
    assert extended.due_date == D(2026, 10, 22)
    with pytest.raises(InvalidInput, match="must exceed 30"):
        await service.extend(
            session, clock.id, amount=30, reason="again", approver="u:1", now=now, actor=ACTOR
        )
    events = await service.events_of(session, clock.id)
    assert events[-1].kind == "extended"
    assert events[-1].data == {"old_amount": 15, "new_amount": 30, "approver": "u:boss"}
    assert events[-1].reason == "complex"


async def test_restart_counts_from_the_new_start_and_forgets_pauses(
    session: AsyncSession,
) -> None:
    clock = await start_clock(session, "C7_handling_decision", started_at=local(2025, 9, 1))
    await service.pause(session, clock.id, now=local(2025, 9, 2), actor=ACTOR, reason="appraisal")
    restarted = await service.restart(
        session,
        clock.id,
        started_at=local(2025, 9, 20, 8),
        now=local(2025, 9, 20, 8),
        actor=ACTOR,
        reason="new facts (C6)",
    )
    assert restarted.start_date == D(2025, 9, 20)
    assert restarted.paused_since is None
    assert restarted.paused_units == 0
    # Sep 20 + 15 = Oct 5, inside National Day: rolls forward to Oct 9.
    assert restarted.due_date == D(2025, 10, 9)
    assert await event_kinds(session, clock.id) == ["started", "paused", "restarted"]


async def test_stopping_a_paused_clock_counts_the_pause(session: AsyncSession) -> None:
    clock = await start_clock(session, "C7_handling_decision", started_at=local(2025, 9, 1))
    await service.pause(session, clock.id, now=local(2025, 9, 10), actor=ACTOR, reason="appraisal")
    # Past the original due (Sep 16) but within it plus the pause so far.
    stopped = await service.stop(session, clock.id, now=local(2025, 9, 20), actor=ACTOR)
    assert stopped.outcome == "met"
    assert stopped.paused_units == 10
    assert stopped.paused_since is None


async def test_cancel_records_the_reason(session: AsyncSession) -> None:
    clock = await start_clock(session)
    cancelled = await service.cancel(
        session, clock.id, now=local(2025, 10, 2), actor=ACTOR, reason="withdrawn (C10)"
    )
    assert cancelled.outcome == "cancelled"
    events = await service.events_of(session, clock.id)
    assert (events[-1].kind, events[-1].reason) == ("cancelled", "withdrawn (C10)")


async def test_regulator_clock_takes_its_due_date(session: AsyncSession) -> None:
    clock = await start_clock(
        session, "C11_regulator_reply", started_at=local(2025, 9, 26), due_date=D(2025, 10, 5)
    )
    # The regulator's date is kept as given, even on a holiday.
    assert clock.due_date == D(2025, 10, 5)
    assert clock.amount == 9
    with pytest.raises(InvalidInput, match="needs the due date"):
        await start_clock(session, "C11_regulator_reply")
    with pytest.raises(InvalidInput, match="before the start"):
        await start_clock(session, "C11_regulator_reply", due_date=D(2025, 1, 1))
    with pytest.raises(InvalidInput, match="fixed limit"):
        await start_clock(session, due_date=D(2025, 12, 1))


async def test_start_checks_definition_subject_and_instant(session: AsyncSession) -> None:
    with pytest.raises(NotFound):
        await start_clock(session, "no_such_clock")
    with pytest.raises(InvalidInput, match="runs on a complaint"):
        await start_clock(session, kind=SubjectKind.INQUIRY)
    with pytest.raises(InvalidInput, match="timezone-aware"):
        await start_clock(session, started_at=dt.datetime(2025, 1, 1))  # noqa: DTZ001
    with pytest.raises(NotFound):
        await service.start(
            session,
            subject=subject(),
            definition="C2_supplement_or_confirm",
            started_at=local(2025, 1, 2),
            rule_set_version=1,
            now=local(2025, 1, 2),
            actor=ACTOR,
            calendar_code="NOPE",
        )


async def test_clocks_of_a_subject(session: AsyncSession) -> None:
    first = await start_clock(session)
    found = await service.clocks_for_subject(
        session, service.Subject(kind=SubjectKind.COMPLAINT, id=first.subject_id)
    )
    assert [c.id for c in found] == [first.id]
