"""Callbacks (回访): contact policies and questionnaires (data), callbacks, phones, attempts
and completion records."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.callbacks.policy import AttemptOutcome, Method
from app.callbacks.states import Outcome, State, sql_in
from app.db.base import Base, TimestampsMixin

KINDS = (
    "satisfaction",
    "mis_selling_check",
    "complaint_followup",
    "risk_service",
    "consumer_protection",
    "new_policy",
    "claim_paid",
    "ivr_request",
)
ORIGINS = ("manual", "complaint_decided", "claim_paid", "ivr_request", "problem_found")
TICKET_KINDS = ("complaint", "inquiry", "claim_report", "callback")
OPEN_STATES = "state IN ('scheduled', 'rescheduled', 'in_progress')"


class CallbackQuestionnaire(Base):
    """A questionnaire template: the items a completion record answers (seeded, data)."""

    __tablename__ = "callback_questionnaires"
    __table_args__ = (CheckConstraint(f"kind IN ({sql_in(KINDS)})", name="kind_known"),)

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    title: Mapped[str] = mapped_column(String(200))
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    satisfaction_required: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))


class CallbackContactPolicy(Base):
    """How a kind of callback is pursued: methods in fallback order, attempts per method,
    spacing, callable hours. One row per kind (seeded, data)."""

    __tablename__ = "callback_contact_policies"
    __table_args__ = (
        CheckConstraint(f"kind IN ({sql_in(KINDS)})", name="kind_known"),
        CheckConstraint(
            "cardinality(methods) >= 1 AND cardinality(methods) = cardinality(attempts)",
            name="one_count_per_method",
        ),
        CheckConstraint(f"methods <@ ARRAY[{sql_in(Method)}]::varchar[]", name="methods_known"),
        CheckConstraint("1 <= ALL(attempts)", name="attempts_positive"),
        CheckConstraint("spacing_minutes > 0", name="spacing_positive"),
        CheckConstraint("callable_from < callable_to", name="hours_in_one_day"),
    )

    kind: Mapped[str] = mapped_column(String(24), primary_key=True)
    methods: Mapped[list[str]] = mapped_column(ARRAY(String(24)))
    attempts: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    spacing_minutes: Mapped[int] = mapped_column(Integer)
    callable_from: Mapped[dt.time] = mapped_column(Time)
    callable_to: Mapped[dt.time] = mapped_column(Time)
    working_days_only: Mapped[bool] = mapped_column(Boolean)
    questionnaire_code: Mapped[str] = mapped_column(ForeignKey("callback_questionnaires.code"))
    description: Mapped[str] = mapped_column(Text, server_default=text("''"))


class Callback(TimestampsMixin, Base):
    """One outbound contact owed to a customer, from scheduling to its end."""

    __tablename__ = "callbacks"
    __table_args__ = (
        CheckConstraint(f"state IN ({sql_in(State)})", name="state_known"),
        CheckConstraint(f"origin IN ({sql_in(ORIGINS)})", name="origin_known"),
        CheckConstraint(f"outcome IN ({sql_in(Outcome)})", name="outcome_known"),
        CheckConstraint(f"ticket_kind IN ({sql_in(TICKET_KINDS)})", name="ticket_kind_known"),
        CheckConstraint("(ticket_kind IS NULL) = (ticket_id IS NULL)", name="ticket_complete"),
        CheckConstraint(
            "ticket_id IS NOT NULL OR policy_number IS NOT NULL OR source_ref IS NOT NULL",
            name="concerns_something",
        ),
        CheckConstraint("priority BETWEEN 1 AND 5", name="priority_range"),
        CheckConstraint("not_before < due_at", name="window_not_empty"),
        CheckConstraint(
            "method_index >= 0 AND attempts_on_method >= 0 AND attempts_made >= 0",
            name="counters_not_negative",
        ),
        CheckConstraint(
            "(state = 'in_progress') = (held_until IS NOT NULL)", name="held_when_in_progress"
        ),
        CheckConstraint("held_until IS NULL OR assignee_id IS NOT NULL", name="hold_has_holder"),
        CheckConstraint(
            "(state IN ('completed', 'unreachable', 'cancelled')) = (closed_at IS NOT NULL)"
            " AND (closed_at IS NULL) = (outcome IS NULL)",
            name="closed_when_terminal",
        ),
        # The queue: a branch's open callbacks, most urgent first. claim-next reads it in this
        # order with FOR UPDATE SKIP LOCKED. next_attempt_at, last in the key, does not change
        # the order but lets the scan test "next attempt reached" on the index entry: the
        # rescheduled callbacks waiting ahead of the callable ones cost no heap visit (8.3 ms
        # and 10,000 buffers → 0.4 ms and 99 with 10,000 of them in front; bench/RESULTS.md).
        Index(
            "ix_callbacks_queue",
            "branch_id",
            "due_at",
            "priority",
            "id",
            "next_attempt_at",
            postgresql_where=text(OPEN_STATES),
        ),
        # Lists (due order, keyset pages) and the success-rate report (due in a period).
        Index("ix_callbacks_due", "due_at", "id"),
        Index("ix_callbacks_branch_due", "branch_id", "due_at", "id"),
        Index("ix_callbacks_ticket", "ticket_kind", "ticket_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    kind: Mapped[str] = mapped_column(ForeignKey("callback_contact_policies.kind"))
    state: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    origin: Mapped[str] = mapped_column(String(24))
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    """Rule-created callbacks: one per trigger (``ivr:<call id>``, …), settled by the index."""

    branch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("branches.id"))
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id"), index=True)
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), index=True)
    """The holder while in progress; afterwards the agent of the last attempt."""
    held_until: Mapped[dt.datetime | None]

    customer_name: Mapped[str | None] = mapped_column(String(200))
    ticket_kind: Mapped[str | None] = mapped_column(String(20))
    ticket_id: Mapped[uuid.UUID | None]
    policy_number: Mapped[str | None] = mapped_column(String(64))
    source_ref: Mapped[str | None] = mapped_column(String(128))
    """The trigger's own reference, e.g. the IVR call id."""

    not_before: Mapped[dt.datetime]
    due_at: Mapped[dt.datetime]
    priority: Mapped[int] = mapped_column(SmallInteger, server_default=text("3"))
    note: Mapped[str | None] = mapped_column(Text)

    method_index: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    attempts_on_method: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    attempts_made: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[dt.datetime]
    last_attempt_at: Mapped[dt.datetime | None]

    outcome: Mapped[str | None] = mapped_column(String(16))
    closed_at: Mapped[dt.datetime | None]
    created_by: Mapped[str] = mapped_column(String(80))


class CallbackPhone(Base):
    """A customer phone: encrypted, with a keyed hash of the E.164 form for lookups."""

    __tablename__ = "callback_phones"

    callback_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("callbacks.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone_enc: Mapped[str] = mapped_column(Text)
    phone_hash: Mapped[str] = mapped_column(String(64), index=True)


class CallbackAttempt(Base):
    """One contact attempt. Append-only (a trigger refuses UPDATE, DELETE and TRUNCATE)."""

    __tablename__ = "callback_attempts"
    __table_args__ = (
        CheckConstraint(f"method IN ({sql_in(Method)})", name="method_known"),
        CheckConstraint(f"outcome IN ({sql_in(AttemptOutcome)})", name="outcome_known"),
        CheckConstraint("started_at <= ended_at", name="ends_after_start"),
        UniqueConstraint("callback_id", "number"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    callback_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("callbacks.id"))
    number: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(24))
    outcome: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), index=True)
    actor: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime]
    notes: Mapped[str | None] = mapped_column(Text)
    recording_ref: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(server_default=text("now()"))


class CallbackCompletion(Base):
    """The written record of a completed callback (company rules art. 25): answers to the
    kind's questionnaire, satisfaction, and any problem found with its follow-up."""

    __tablename__ = "callback_completions"
    __table_args__ = (
        CheckConstraint("outcome IN ('reached', 'refused')", name="outcome_known"),
        CheckConstraint("satisfaction BETWEEN 1 AND 5", name="satisfaction_range"),
        CheckConstraint(
            "NOT problem_found OR problem_description IS NOT NULL", name="problem_described"
        ),
    )

    callback_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("callbacks.id"), primary_key=True)
    attempt_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("callback_attempts.id"), unique=True)
    outcome: Mapped[str] = mapped_column(String(16))
    questionnaire_code: Mapped[str | None] = mapped_column(
        ForeignKey("callback_questionnaires.code")
    )
    answers: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    satisfaction: Mapped[int | None] = mapped_column(SmallInteger)
    problem_found: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    problem_description: Mapped[str | None] = mapped_column(Text)
    follow_up_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("callbacks.id"))
    recorded_by: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[dt.datetime]
