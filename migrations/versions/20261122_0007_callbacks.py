"""callbacks: contact policies and questionnaires (seeded), callbacks, phones, attempts,
completion records

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 05:37:09.853875
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


APPEND_ONLY_FUNCTION = """
CREATE FUNCTION callback_attempts_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'callback_attempts is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$
"""


def _yes(
    code: str, text: str, *, required: bool = True, expect: bool | None = True
) -> dict[str, Any]:
    item: dict[str, Any] = {"code": code, "text": text, "type": "yes_no", "required": required}
    if expect is not None:
        item["expect"] = expect
    return item


def _comments() -> dict[str, Any]:
    return {"code": "comments", "text": "客户意见和建议", "type": "text", "required": False}


# The questionnaire templates as they stood when this migration was written (data): code, kind,
# title, items, whether a satisfaction score (1-5) is required. A yes/no item with "expect" is a
# confirmation: answered otherwise, it is a problem found (company rules ch. 5 art. 26).
QUESTIONNAIRES: list[tuple[str, str, str, list[dict[str, Any]], bool]] = [
    ("satisfaction_v1", "satisfaction", "服务满意度回访", [
        _yes("service_completed", "您办理的业务是否已经办结"),
        _yes("staff_courteous", "服务人员是否态度良好、解释清楚"),
        _comments(),
    ], True),
    ("mis_selling_check_v1", "mis_selling_check", "欺诈性销售回访", [
        _yes("knows_product_is_insurance", "您是否清楚所购买的是保险产品(而非存款或理财)"),
        _yes("no_guaranteed_return_promised", "销售人员是否未向您承诺保证收益"),
        _yes("risks_explained", "销售人员是否向您说明了产品风险和责任免除"),
        _yes("signed_personally", "投保单是否由您本人亲笔签名"),
        _comments(),
    ], False),
    ("complaint_followup_v1", "complaint_followup", "投诉处理回访", [
        _yes("decision_received", "您是否收到了投诉处理决定"),
        _yes("satisfied_with_handling", "您对投诉处理结果是否满意", expect=None),
        _comments(),
    ], True),
    ("risk_service_v1", "risk_service", "风险管理服务回访", [
        _yes("advice_received", "您是否收到了防灾防损或风险管理建议"),
        _yes("advice_useful", "该建议对您是否有帮助", required=False, expect=None),
        _comments(),
    ], True),
    ("consumer_protection_v1", "consumer_protection", "消费者权益保护回访", [
        _yes("problem_resolved", "您反映的问题是否已得到满意答复"),
        _yes("rights_explained", "我司是否向您说明了您的权利和救济途径"),
        _comments(),
    ], True),
    ("new_policy_v1", "new_policy", "新契约(长期人身险)回访", [
        _yes("signed_personally", "投保单及风险提示语是否由投保人本人亲笔签名、抄录"),
        _yes("policy_received", "您是否已收到保险合同"),
        _yes("knows_cooling_off_period", "您是否知悉犹豫期及犹豫期内退保仅扣除工本费"),
        _yes("understands_surrender_loss", "您是否了解犹豫期后退保可能遭受的损失"),
        _yes("knows_payment_term", "您是否清楚缴费期限、缴费金额及交费方式"),
        _yes("dividends_not_guaranteed", "(分红/万能型)您是否了解红利或结算利率不保证",
             required=False),
        _comments(),
    ], False),
    ("claim_paid_v1", "claim_paid", "理赔给付回访", [
        _yes("payment_received", "您是否已收到理赔款"),
        _yes("amount_as_notified", "到账金额是否与理赔通知一致"),
        _yes("process_explained", "理赔人员是否向您解释了理算结果"),
        _comments(),
    ], True),
    ("ivr_request_v1", "ivr_request", "来电预约回电", [
        _yes("request_handled", "客户来电所提的需求是否已处理", expect=None),
        {"code": "request_summary", "text": "客户需求摘要", "type": "text", "required": False},
    ], False),
]  # fmt: skip

# The contact policies per kind (data): methods in fallback order with attempts per method,
# minimum minutes between attempts, callable hours (local, [from, to)), working days only.
POLICIES: list[tuple[str, list[str], list[int], int, str, str, bool, str]] = [
    ("satisfaction", ["phone", "sms_questionnaire", "online_questionnaire"], [3, 1, 1], 120,
     "09:00", "20:00", False, "Satisfaction: three calls, then an SMS and an online questionnaire."),
    ("mis_selling_check", ["phone", "on_site"], [3, 1], 120, "09:00", "20:00", False,
     "Mis-selling check: three calls, then a visit by the sales side (ch. 5 art. 22)."),
    ("complaint_followup", ["phone", "sms_questionnaire"], [3, 1], 120, "09:00", "18:00", True,
     "Complaint follow-up: by the complaint handlers, in office hours on working days."),
    ("risk_service", ["phone", "on_site"], [2, 1], 240, "09:00", "18:00", True,
     "Risk-management service: two calls, then a visit; office hours on working days."),
    ("consumer_protection", ["phone", "sms_questionnaire", "on_site"], [3, 1, 1], 60,
     "09:00", "20:00", False,
     "Consumer protection, also the follow-up of a problem found (5 working days)."),
    ("new_policy", ["phone", "sms_questionnaire", "on_site"], [3, 1, 1], 240, "09:00", "20:00",
     False, "New long-term life policy: within the cooling-off period; a visit as last resort."),
    ("claim_paid", ["phone", "sms_questionnaire"], [2, 1], 240, "09:00", "20:00", False,
     "Claim paid: two calls, then an SMS questionnaire."),
    ("ivr_request", ["phone"], [3], 30, "08:00", "21:00", False,
     "A call-back request left in the IVR: three calls half an hour apart."),
]  # fmt: skip


def _seed() -> None:
    questionnaires = sa.table(
        "callback_questionnaires",
        sa.column("code", sa.String),
        sa.column("kind", sa.String),
        sa.column("title", sa.String),
        sa.column("items", postgresql.JSONB),
        sa.column("satisfaction_required", sa.Boolean),
    )
    op.bulk_insert(
        questionnaires,
        [
            {"code": code, "kind": kind, "title": title, "items": items,
             "satisfaction_required": satisfaction}
            for code, kind, title, items, satisfaction in QUESTIONNAIRES
        ],
    )  # fmt: skip
    policies = sa.table(
        "callback_contact_policies",
        sa.column("kind", sa.String),
        sa.column("methods", postgresql.ARRAY(sa.String)),
        sa.column("attempts", postgresql.ARRAY(sa.Integer)),
        sa.column("spacing_minutes", sa.Integer),
        sa.column("callable_from", sa.Time),
        sa.column("callable_to", sa.Time),
        sa.column("working_days_only", sa.Boolean),
        sa.column("questionnaire_code", sa.String),
        sa.column("description", sa.Text),
    )
    op.bulk_insert(
        policies,
        [
            {"kind": kind, "methods": methods, "attempts": attempts, "spacing_minutes": spacing,
             "callable_from": dt.time.fromisoformat(start), "callable_to": dt.time.fromisoformat(end),
             "working_days_only": working_only, "questionnaire_code": f"{kind}_v1",
             "description": description}
            for kind, methods, attempts, spacing, start, end, working_only, description in POLICIES
        ],
    )  # fmt: skip


def upgrade() -> None:
    op.execute(sa.schema.CreateSequence(sa.Sequence("callback_number_seq")))
    op.create_table(
        "callback_questionnaires",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("items", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "satisfaction_required", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.CheckConstraint(
            "kind IN ('satisfaction', 'mis_selling_check', 'complaint_followup', 'risk_service', 'consumer_protection', 'new_policy', 'claim_paid', 'ivr_request')",
            name=op.f("ck_callback_questionnaires_kind_known"),
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_callback_questionnaires")),
    )
    op.create_table(
        "callback_contact_policies",
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("methods", postgresql.ARRAY(sa.String(length=24)), nullable=False),
        sa.Column("attempts", postgresql.ARRAY(sa.Integer()), nullable=False),
        sa.Column("spacing_minutes", sa.Integer(), nullable=False),
        sa.Column("callable_from", sa.Time(), nullable=False),
        sa.Column("callable_to", sa.Time(), nullable=False),
        sa.Column("working_days_only", sa.Boolean(), nullable=False),
        sa.Column("questionnaire_code", sa.String(length=40), nullable=False),
        sa.Column("description", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.CheckConstraint(
            "kind IN ('satisfaction', 'mis_selling_check', 'complaint_followup', 'risk_service', 'consumer_protection', 'new_policy', 'claim_paid', 'ivr_request')",
            name=op.f("ck_callback_contact_policies_kind_known"),
        ),
        sa.CheckConstraint(
            "methods <@ ARRAY['phone', 'sms_questionnaire', 'online_questionnaire', 'on_site']::varchar[]",
            name=op.f("ck_callback_contact_policies_methods_known"),
        ),
        sa.CheckConstraint(
            "1 <= ALL(attempts)", name=op.f("ck_callback_contact_policies_attempts_positive")
        ),
        sa.CheckConstraint(
            "callable_from < callable_to",
            name=op.f("ck_callback_contact_policies_hours_in_one_day"),
        ),
        sa.CheckConstraint(
            "cardinality(methods) >= 1 AND cardinality(methods) = cardinality(attempts)",
            name=op.f("ck_callback_contact_policies_one_count_per_method"),
        ),
        sa.CheckConstraint(
            "spacing_minutes > 0", name=op.f("ck_callback_contact_policies_spacing_positive")
        ),
        sa.ForeignKeyConstraint(
            ["questionnaire_code"],
            ["callback_questionnaires.code"],
            name=op.f("fk_callback_contact_policies_questionnaire_code_callback_questionnaires"),
        ),
        sa.PrimaryKeyConstraint("kind", name=op.f("pk_callback_contact_policies")),
    )
    op.create_table(
        "callbacks",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("number", sa.String(length=24), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("origin", sa.String(length=24), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("branch_id", sa.UUID(), nullable=False),
        sa.Column("team_id", sa.UUID(), nullable=True),
        sa.Column("assignee_id", sa.UUID(), nullable=True),
        sa.Column("held_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("customer_name", sa.String(length=200), nullable=True),
        sa.Column("ticket_kind", sa.String(length=20), nullable=True),
        sa.Column("ticket_id", sa.UUID(), nullable=True),
        sa.Column("policy_number", sa.String(length=64), nullable=True),
        sa.Column("source_ref", sa.String(length=128), nullable=True),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("priority", sa.SmallInteger(), server_default=sa.text("3"), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("method_index", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("attempts_on_method", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("attempts_made", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(state = 'in_progress') = (held_until IS NOT NULL)",
            name=op.f("ck_callbacks_held_when_in_progress"),
        ),
        sa.CheckConstraint(
            "(state IN ('completed', 'unreachable', 'cancelled')) = (closed_at IS NOT NULL) AND (closed_at IS NULL) = (outcome IS NULL)",
            name=op.f("ck_callbacks_closed_when_terminal"),
        ),
        sa.CheckConstraint(
            "origin IN ('manual', 'complaint_decided', 'claim_paid', 'ivr_request', 'problem_found')",
            name=op.f("ck_callbacks_origin_known"),
        ),
        sa.CheckConstraint(
            "outcome IN ('reached', 'refused', 'unreachable', 'cancelled')",
            name=op.f("ck_callbacks_outcome_known"),
        ),
        sa.CheckConstraint(
            "state IN ('scheduled', 'in_progress', 'rescheduled', 'completed', 'unreachable', 'cancelled')",
            name=op.f("ck_callbacks_state_known"),
        ),
        sa.CheckConstraint(
            "ticket_kind IN ('complaint', 'inquiry', 'claim_report', 'callback')",
            name=op.f("ck_callbacks_ticket_kind_known"),
        ),
        sa.CheckConstraint(
            "(ticket_kind IS NULL) = (ticket_id IS NULL)", name=op.f("ck_callbacks_ticket_complete")
        ),
        sa.CheckConstraint(
            "held_until IS NULL OR assignee_id IS NOT NULL",
            name=op.f("ck_callbacks_hold_has_holder"),
        ),
        sa.CheckConstraint(
            "method_index >= 0 AND attempts_on_method >= 0 AND attempts_made >= 0",
            name=op.f("ck_callbacks_counters_not_negative"),
        ),
        sa.CheckConstraint("not_before < due_at", name=op.f("ck_callbacks_window_not_empty")),
        sa.CheckConstraint("priority BETWEEN 1 AND 5", name=op.f("ck_callbacks_priority_range")),
        sa.CheckConstraint(
            "ticket_id IS NOT NULL OR policy_number IS NOT NULL OR source_ref IS NOT NULL",
            name=op.f("ck_callbacks_concerns_something"),
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["users.id"], name=op.f("fk_callbacks_assignee_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["branches.id"], name=op.f("fk_callbacks_branch_id_branches")
        ),
        sa.ForeignKeyConstraint(
            ["kind"],
            ["callback_contact_policies.kind"],
            name=op.f("fk_callbacks_kind_callback_contact_policies"),
        ),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_callbacks_team_id_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callbacks")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_callbacks_dedupe_key")),
        sa.UniqueConstraint("number", name=op.f("uq_callbacks_number")),
    )
    op.create_index(op.f("ix_callbacks_assignee_id"), "callbacks", ["assignee_id"], unique=False)
    op.create_index(
        "ix_callbacks_branch_due", "callbacks", ["branch_id", "due_at", "id"], unique=False
    )
    op.create_index("ix_callbacks_due", "callbacks", ["due_at", "id"], unique=False)
    op.create_index(
        "ix_callbacks_queue",
        "callbacks",
        ["branch_id", "due_at", "priority", "id", "next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("state IN ('scheduled', 'rescheduled', 'in_progress')"),
    )
    op.create_index(op.f("ix_callbacks_team_id"), "callbacks", ["team_id"], unique=False)
    op.create_index("ix_callbacks_ticket", "callbacks", ["ticket_kind", "ticket_id"], unique=False)
    op.create_table(
        "callback_attempts",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("callback_id", sa.UUID(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=24), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("agent_id", sa.UUID(), nullable=True),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("recording_ref", sa.String(length=200), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "method IN ('phone', 'sms_questionnaire', 'online_questionnaire', 'on_site')",
            name=op.f("ck_callback_attempts_method_known"),
        ),
        sa.CheckConstraint(
            "outcome IN ('reached', 'no_answer', 'busy', 'wrong_number', 'refused', 'voicemail')",
            name=op.f("ck_callback_attempts_outcome_known"),
        ),
        sa.CheckConstraint(
            "started_at <= ended_at", name=op.f("ck_callback_attempts_ends_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["users.id"], name=op.f("fk_callback_attempts_agent_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["callback_id"],
            ["callbacks.id"],
            name=op.f("fk_callback_attempts_callback_id_callbacks"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_attempts")),
        sa.UniqueConstraint(
            "callback_id", "number", name=op.f("uq_callback_attempts_callback_id_number")
        ),
    )
    op.create_index(
        op.f("ix_callback_attempts_agent_id"), "callback_attempts", ["agent_id"], unique=False
    )
    op.create_table(
        "callback_phones",
        sa.Column("callback_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("phone_enc", sa.Text(), nullable=False),
        sa.Column("phone_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["callback_id"],
            ["callbacks.id"],
            name=op.f("fk_callback_phones_callback_id_callbacks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("callback_id", "position", name=op.f("pk_callback_phones")),
    )
    op.create_index(
        op.f("ix_callback_phones_phone_hash"), "callback_phones", ["phone_hash"], unique=False
    )
    op.create_table(
        "callback_completions",
        sa.Column("callback_id", sa.UUID(), nullable=False),
        sa.Column("attempt_id", sa.UUID(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("questionnaire_code", sa.String(length=40), nullable=True),
        sa.Column(
            "answers",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("satisfaction", sa.SmallInteger(), nullable=True),
        sa.Column("problem_found", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("problem_description", sa.Text(), nullable=True),
        sa.Column("follow_up_id", sa.UUID(), nullable=True),
        sa.Column("recorded_by", sa.String(length=80), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('reached', 'refused')", name=op.f("ck_callback_completions_outcome_known")
        ),
        sa.CheckConstraint(
            "NOT problem_found OR problem_description IS NOT NULL",
            name=op.f("ck_callback_completions_problem_described"),
        ),
        sa.CheckConstraint(
            "satisfaction BETWEEN 1 AND 5", name=op.f("ck_callback_completions_satisfaction_range")
        ),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["callback_attempts.id"],
            name=op.f("fk_callback_completions_attempt_id_callback_attempts"),
        ),
        sa.ForeignKeyConstraint(
            ["callback_id"],
            ["callbacks.id"],
            name=op.f("fk_callback_completions_callback_id_callbacks"),
        ),
        sa.ForeignKeyConstraint(
            ["follow_up_id"],
            ["callbacks.id"],
            name=op.f("fk_callback_completions_follow_up_id_callbacks"),
        ),
        sa.ForeignKeyConstraint(
            ["questionnaire_code"],
            ["callback_questionnaires.code"],
            name=op.f("fk_callback_completions_questionnaire_code_callback_questionnaires"),
        ),
        sa.PrimaryKeyConstraint("callback_id", name=op.f("pk_callback_completions")),
        sa.UniqueConstraint("attempt_id", name=op.f("uq_callback_completions_attempt_id")),
    )
    _seed()
    op.execute(APPEND_ONLY_FUNCTION)
    op.execute(
        "CREATE TRIGGER callback_attempts_no_update_or_delete BEFORE UPDATE OR DELETE"
        " ON callback_attempts FOR EACH ROW EXECUTE FUNCTION callback_attempts_append_only()"
    )
    op.execute(
        "CREATE TRIGGER callback_attempts_no_truncate BEFORE TRUNCATE ON callback_attempts"
        " FOR EACH STATEMENT EXECUTE FUNCTION callback_attempts_append_only()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER callback_attempts_no_truncate ON callback_attempts")
    op.execute("DROP TRIGGER callback_attempts_no_update_or_delete ON callback_attempts")
    op.execute("DROP FUNCTION callback_attempts_append_only()")
    op.drop_table("callback_completions")
    op.drop_index(op.f("ix_callback_phones_phone_hash"), table_name="callback_phones")
    op.drop_table("callback_phones")
    op.drop_index(op.f("ix_callback_attempts_agent_id"), table_name="callback_attempts")
    op.drop_table("callback_attempts")
    op.drop_index("ix_callbacks_ticket", table_name="callbacks")
    op.drop_index(op.f("ix_callbacks_team_id"), table_name="callbacks")
    op.drop_index(
        "ix_callbacks_queue",
        table_name="callbacks",
        postgresql_where=sa.text("state IN ('scheduled', 'rescheduled', 'in_progress')"),
    )
    op.drop_index("ix_callbacks_due", table_name="callbacks")
    op.drop_index("ix_callbacks_branch_due", table_name="callbacks")
    op.drop_index(op.f("ix_callbacks_assignee_id"), table_name="callbacks")
    op.drop_table("callbacks")
    op.drop_table("callback_contact_policies")
    op.drop_table("callback_questionnaires")
    op.execute(sa.schema.DropSequence(sa.Sequence("callback_number_seq")))
