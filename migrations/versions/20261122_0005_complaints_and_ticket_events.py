"""complaints and ticket events

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 05:23:53.542735
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The cause code list as it stood when this migration was written (data, editable later).
CAUSES = [
    ("mis_selling", "销售误导", "Mis-selling"),
    ("claims_dispute", "理赔纠纷", "Claims dispute"),
    ("surrender", "退保纠纷", "Surrender dispute"),
    ("premium_fees", "保费及费用", "Premium and fees"),
    ("service_attitude", "服务态度", "Service attitude"),
    ("policy_servicing", "保全服务", "Policy servicing"),
    ("renewal", "续期续保", "Renewal"),
    ("product_terms", "产品条款", "Product terms"),
    ("marketing_harassment", "营销扰民", "Marketing harassment"),
    ("privacy", "个人信息保护", "Personal information"),
    ("other", "其他", "Other"),
]

APPEND_ONLY_FUNCTION = """
CREATE FUNCTION ticket_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ticket_events is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$
"""


def upgrade() -> None:
    op.execute(sa.schema.CreateSequence(sa.Sequence("complaint_number_seq")))
    op.create_table(
        "complaint_causes",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name_zh", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_complaint_causes")),
    )
    op.create_table(
        "ticket_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("ticket_kind", sa.String(length=20), nullable=False),
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("from_status", sa.String(length=40), nullable=True),
        sa.Column("to_status", sa.String(length=40), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column(
            "data",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "ticket_kind IN ('complaint', 'inquiry', 'claim_report', 'callback')",
            name=op.f("ck_ticket_events_ticket_kind_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_events")),
    )
    op.create_index(
        "ix_ticket_events_ticket", "ticket_events", ["ticket_kind", "ticket_id", "id"], unique=False
    )
    op.create_table(
        "complaints",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("number", sa.String(length=24), nullable=False),
        sa.Column("branch_id", sa.UUID(), nullable=False),
        sa.Column("team_id", sa.UUID(), nullable=True),
        sa.Column("assignee_id", sa.UUID(), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("rule_set_version", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=24), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registered_by", sa.String(length=80), nullable=False),
        sa.Column("complainant_name", sa.String(length=200), nullable=False),
        sa.Column("complainant_relation", sa.String(length=24), nullable=False),
        sa.Column("authorisation_ref", sa.String(length=200), nullable=True),
        sa.Column("id_number_enc", sa.Text(), nullable=True),
        sa.Column("id_number_hash", sa.String(length=64), nullable=True),
        sa.Column("policy_number", sa.String(length=64), nullable=True),
        sa.Column("product_line", sa.String(length=24), nullable=False),
        sa.Column("cause_code", sa.String(length=40), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("remedy_requested", sa.Text(), nullable=True),
        sa.Column(
            "materials_received",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'"),
            nullable=False,
        ),
        sa.Column(
            "materials_missing",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'"),
            nullable=False,
        ),
        sa.Column("materials_complete_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("regulator_ref", sa.String(length=100), nullable=True),
        sa.Column("regulator_reply_by", sa.Date(), nullable=True),
        sa.Column(
            "handling_limit_days", sa.Integer(), server_default=sa.text("15"), nullable=False
        ),
        sa.Column("merged_into_id", sa.UUID(), nullable=True),
        sa.Column(
            "outcome",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_received_on", sa.Date(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
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
            "channel <> 'regulator_referral' OR (regulator_ref IS NOT NULL AND regulator_reply_by IS NOT NULL)",
            name=op.f("ck_complaints_referral_needs_reference"),
        ),
        sa.CheckConstraint(
            "channel IN ('hotline', 'online', 'fax', 'letter', 'walk_in', 'email', 'regulator_referral')",
            name=op.f("ck_complaints_channel_known"),
        ),
        sa.CheckConstraint(
            "complainant_relation <> 'authorised_agent' OR authorisation_ref IS NOT NULL",
            name=op.f("ck_complaints_agent_needs_authorisation"),
        ),
        sa.CheckConstraint(
            "complainant_relation IN ('policyholder', 'insured', 'beneficiary', 'authorised_agent')",
            name=op.f("ck_complaints_relation_known"),
        ),
        sa.CheckConstraint(
            "product_line IN ('motor', 'property', 'life', 'health', 'accident', 'liability', 'agriculture', 'credit_guarantee', 'other')",
            name=op.f("ck_complaints_product_line_known"),
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["users.id"], name=op.f("fk_complaints_assignee_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["branches.id"], name=op.f("fk_complaints_branch_id_branches")
        ),
        sa.ForeignKeyConstraint(
            ["cause_code"],
            ["complaint_causes.code"],
            name=op.f("fk_complaints_cause_code_complaint_causes"),
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["complaints.id"],
            name=op.f("fk_complaints_merged_into_id_complaints"),
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_complaints_team_id_teams")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
        sa.UniqueConstraint("number", name=op.f("uq_complaints_number")),
    )
    op.create_index(op.f("ix_complaints_assignee_id"), "complaints", ["assignee_id"], unique=False)
    op.create_index(
        "ix_complaints_branch_received",
        "complaints",
        ["branch_id", "received_at", "id"],
        unique=False,
    )
    op.create_index(op.f("ix_complaints_cause_code"), "complaints", ["cause_code"], unique=False)
    op.create_index("ix_complaints_id_number_hash", "complaints", ["id_number_hash"], unique=False)
    op.create_index("ix_complaints_policy_number", "complaints", ["policy_number"], unique=False)
    op.create_index("ix_complaints_status", "complaints", ["status"], unique=False)
    op.create_table(
        "complainant_phones",
        sa.Column("complaint_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("phone_enc", sa.Text(), nullable=False),
        sa.Column("phone_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaints.id"],
            name=op.f("fk_complainant_phones_complaint_id_complaints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("complaint_id", "position", name=op.f("pk_complainant_phones")),
    )
    op.create_index(
        op.f("ix_complainant_phones_phone_hash"), "complainant_phones", ["phone_hash"], unique=False
    )
    op.create_table(
        "complaint_notices",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("complaint_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("mode", sa.String(length=12), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivery", sa.String(length=12), nullable=False),
        sa.Column("proof_ref", sa.String(length=200), nullable=True),
        sa.Column("template_id", sa.String(length=100), nullable=True),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("counted", sa.Boolean(), nullable=False),
        sa.Column("recorded_by", sa.String(length=80), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "delivery IN ('pending', 'sent', 'delivered', 'failed')",
            name=op.f("ck_complaint_notices_delivery_known"),
        ),
        sa.CheckConstraint(
            "kind IN ('supplement', 'acceptance', 'refusal', 'extension', 'pause', 'decision', 'review_decision', 'regulator_report')",
            name=op.f("ck_complaint_notices_kind_known"),
        ),
        sa.CheckConstraint(
            "mode IN ('written', 'post', 'sms', 'email', 'phone')",
            name=op.f("ck_complaint_notices_mode_known"),
        ),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaints.id"],
            name=op.f("fk_complaint_notices_complaint_id_complaints"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_notices")),
    )
    op.create_index(
        op.f("ix_complaint_notices_complaint_id"),
        "complaint_notices",
        ["complaint_id"],
        unique=False,
    )
    causes = sa.table(
        "complaint_causes",
        sa.column("code", sa.String),
        sa.column("name_zh", sa.String),
        sa.column("name_en", sa.String),
    )
    op.bulk_insert(causes, [{"code": c, "name_zh": zh, "name_en": en} for c, zh, en in CAUSES])
    op.execute(APPEND_ONLY_FUNCTION)
    op.execute(
        "CREATE TRIGGER ticket_events_no_update_or_delete BEFORE UPDATE OR DELETE ON ticket_events"
        " FOR EACH ROW EXECUTE FUNCTION ticket_events_append_only()"
    )
    op.execute(
        "CREATE TRIGGER ticket_events_no_truncate BEFORE TRUNCATE ON ticket_events"
        " FOR EACH STATEMENT EXECUTE FUNCTION ticket_events_append_only()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER ticket_events_no_truncate ON ticket_events")
    op.execute("DROP TRIGGER ticket_events_no_update_or_delete ON ticket_events")
    op.execute("DROP FUNCTION ticket_events_append_only()")
    op.drop_index(op.f("ix_complaint_notices_complaint_id"), table_name="complaint_notices")
    op.drop_table("complaint_notices")
    op.drop_index(op.f("ix_complainant_phones_phone_hash"), table_name="complainant_phones")
    op.drop_table("complainant_phones")
    op.drop_index("ix_complaints_status", table_name="complaints")
    op.drop_index("ix_complaints_policy_number", table_name="complaints")
    op.drop_index("ix_complaints_id_number_hash", table_name="complaints")
    op.drop_index(op.f("ix_complaints_cause_code"), table_name="complaints")
    op.drop_index("ix_complaints_branch_received", table_name="complaints")
    op.drop_index(op.f("ix_complaints_assignee_id"), table_name="complaints")
    op.drop_table("complaints")
    op.drop_index("ix_ticket_events_ticket", table_name="ticket_events")
    op.drop_table("ticket_events")
    op.drop_table("complaint_causes")
    op.execute(sa.schema.DropSequence(sa.Sequence("complaint_number_seq")))
