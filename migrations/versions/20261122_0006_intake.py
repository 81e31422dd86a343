"""intake: customers and policies, inquiries, claim reports, IVR calls

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 05:43:17.407962

``ivr_calls`` carries the unique (client_id, call_id) that makes IVR intake idempotent; the two
sequences number inquiries (IQ…) and claim reports (CR…).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


SEQUENCES = ("inquiry_number_seq", "claim_report_number_seq")


def upgrade() -> None:
    for name in SEQUENCES:
        op.execute(sa.schema.CreateSequence(sa.Sequence(name)))
    op.create_table(
        "customers",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("id_number_enc", sa.Text(), nullable=True),
        sa.Column("id_number_hash", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
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
        sa.CheckConstraint("source IN ('ivr', 'agent')", name=op.f("ck_customers_source_known")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("id_number_hash", name=op.f("uq_customers_id_number_hash")),
    )
    op.create_table(
        "customer_phones",
        sa.Column("phone_hash", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("phone_enc", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_phones_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("phone_hash", name=op.f("pk_customer_phones")),
    )
    op.create_index(
        op.f("ix_customer_phones_customer_id"), "customer_phones", ["customer_id"], unique=False
    )
    op.create_table(
        "ivr_calls",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("client_id", sa.UUID(), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("intent", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("caller_phone_enc", sa.Text(), nullable=False),
        sa.Column("caller_phone_hash", sa.String(length=64), nullable=False),
        sa.Column("called_number", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("menu_path", sa.String(length=64), nullable=False),
        sa.Column("policy_number", sa.String(length=64), nullable=True),
        sa.Column("id_digits_hash", sa.String(length=64), nullable=True),
        sa.Column("recording_ref", sa.String(length=200), nullable=True),
        sa.Column("transcript", sa.Text(), nullable=True),
        sa.Column("customer_id", sa.UUID(), nullable=True),
        sa.Column("branch_id", sa.UUID(), nullable=True),
        sa.Column("ticket_kind", sa.String(length=20), nullable=True),
        sa.Column("ticket_id", sa.UUID(), nullable=True),
        sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "intent IN ('inquiry', 'claim_report', 'complaint', 'callback_request', 'status_query')",
            name=op.f("ck_ivr_calls_intent_known"),
        ),
        sa.CheckConstraint(
            "status IN ('processed', 'callback_requested')", name=op.f("ck_ivr_calls_status_known")
        ),
        sa.CheckConstraint(
            "ticket_kind IN ('inquiry', 'claim_report', 'complaint', 'callback')",
            name=op.f("ck_ivr_calls_ticket_kind_known"),
        ),
        sa.CheckConstraint(
            "ended_at IS NULL OR ended_at >= started_at", name=op.f("ck_ivr_calls_ends_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["branches.id"], name=op.f("fk_ivr_calls_branch_id_branches")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_ivr_calls_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ivr_calls")),
        sa.UniqueConstraint("client_id", "call_id", name=op.f("uq_ivr_calls_client_id_call_id")),
    )
    op.create_index(
        "ix_ivr_calls_callback_requested",
        "ivr_calls",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("status = 'callback_requested' AND ticket_id IS NULL"),
    )
    op.create_index(
        "ix_ivr_calls_caller_phone_hash", "ivr_calls", ["caller_phone_hash"], unique=False
    )
    op.create_table(
        "policies",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("product_line", sa.String(length=24), nullable=False),
        sa.Column("branch_id", sa.UUID(), nullable=False),
        sa.Column("holder_id", sa.UUID(), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
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
            "product_line IN ('motor', 'property', 'life', 'health', 'accident', 'liability', 'agriculture', 'credit_guarantee', 'other')",
            name=op.f("ck_policies_product_line_known"),
        ),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["branches.id"], name=op.f("fk_policies_branch_id_branches")
        ),
        sa.ForeignKeyConstraint(
            ["holder_id"], ["customers.id"], name=op.f("fk_policies_holder_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policies")),
        sa.UniqueConstraint("number", name=op.f("uq_policies_number")),
    )
    op.create_index(op.f("ix_policies_branch_id"), "policies", ["branch_id"], unique=False)
    op.create_index(op.f("ix_policies_holder_id"), "policies", ["holder_id"], unique=False)
    op.create_table(
        "claim_reports",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("number", sa.String(length=24), nullable=False),
        sa.Column("branch_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("rule_set_version", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=24), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registered_by", sa.String(length=80), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=True),
        sa.Column("policy_id", sa.UUID(), nullable=True),
        sa.Column("policy_number", sa.String(length=64), nullable=True),
        sa.Column("product_line", sa.String(length=24), nullable=False),
        sa.Column("incident_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("claim_number", sa.String(length=64), nullable=True),
        sa.Column(
            "missing_documents",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'"),
            nullable=False,
        ),
        sa.Column("documents_complete_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("advance_paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("agreed_amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("agreement_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
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
            "channel IN ('agent_app', 'email', 'hotline', 'online', 'walk_in')",
            name=op.f("ck_claim_reports_channel_known"),
        ),
        sa.CheckConstraint(
            "decision IN ('approved', 'declined')", name=op.f("ck_claim_reports_decision_known")
        ),
        sa.CheckConstraint(
            "product_line IN ('accident', 'agriculture', 'credit_guarantee', 'health', 'liability', 'life', 'motor', 'other', 'property')",
            name=op.f("ck_claim_reports_product_line_known"),
        ),
        sa.CheckConstraint(
            "status IN ('agreement_reached', 'cancelled', 'closed', 'decided', 'documents_complete', 'documents_requested', 'handed_off', 'paid', 'reported')",
            name=op.f("ck_claim_reports_status_known"),
        ),
        sa.CheckConstraint(
            "status IN ('reported', 'cancelled') OR claim_number IS NOT NULL",
            name=op.f("ck_claim_reports_handed_off_has_claim_number"),
        ),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["branches.id"], name=op.f("fk_claim_reports_branch_id_branches")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_claim_reports_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"], ["policies.id"], name=op.f("fk_claim_reports_policy_id_policies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_reports")),
        sa.UniqueConstraint("claim_number", name=op.f("uq_claim_reports_claim_number")),
        sa.UniqueConstraint("number", name=op.f("uq_claim_reports_number")),
    )
    op.create_index(
        "ix_claim_reports_branch_reported",
        "claim_reports",
        ["branch_id", "reported_at", "id"],
        unique=False,
    )
    op.create_index("ix_claim_reports_created", "claim_reports", ["created_at", "id"], unique=False)
    op.create_index("ix_claim_reports_customer_id", "claim_reports", ["customer_id"], unique=False)
    op.create_index(
        "ix_claim_reports_policy_number", "claim_reports", ["policy_number"], unique=False
    )
    op.create_index("ix_claim_reports_status", "claim_reports", ["status"], unique=False)
    op.create_table(
        "inquiries",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("number", sa.String(length=24), nullable=False),
        sa.Column("branch_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("rule_set_version", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=24), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registered_by", sa.String(length=80), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=True),
        sa.Column("policy_id", sa.UUID(), nullable=True),
        sa.Column("policy_number", sa.String(length=64), nullable=True),
        sa.Column("product_line", sa.String(length=24), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column(
            "first_contact_resolution",
            sa.Boolean(),
            server_default=sa.text("false"),
            nullable=False,
        ),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.String(length=80), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("converted_complaint_id", sa.UUID(), nullable=True),
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
            "(status = 'converted') = (converted_complaint_id IS NOT NULL)",
            name=op.f("ck_inquiries_converted_has_complaint"),
        ),
        sa.CheckConstraint(
            "channel IN ('email', 'fax', 'hotline', 'letter', 'online', 'walk_in')",
            name=op.f("ck_inquiries_channel_known"),
        ),
        sa.CheckConstraint(
            "product_line IN ('accident', 'agriculture', 'credit_guarantee', 'health', 'liability', 'life', 'motor', 'other', 'property')",
            name=op.f("ck_inquiries_product_line_known"),
        ),
        sa.CheckConstraint(
            "status IN ('answered', 'closed', 'converted', 'open', 'pending')",
            name=op.f("ck_inquiries_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["branches.id"], name=op.f("fk_inquiries_branch_id_branches")
        ),
        sa.ForeignKeyConstraint(
            ["converted_complaint_id"],
            ["complaints.id"],
            name=op.f("fk_inquiries_converted_complaint_id_complaints"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_inquiries_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"], ["policies.id"], name=op.f("fk_inquiries_policy_id_policies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inquiries")),
        sa.UniqueConstraint("number", name=op.f("uq_inquiries_number")),
    )
    op.create_index(
        "ix_inquiries_branch_received",
        "inquiries",
        ["branch_id", "received_at", "id"],
        unique=False,
    )
    op.create_index("ix_inquiries_created", "inquiries", ["created_at", "id"], unique=False)
    op.create_index("ix_inquiries_customer_id", "inquiries", ["customer_id"], unique=False)
    op.create_index("ix_inquiries_policy_number", "inquiries", ["policy_number"], unique=False)
    op.create_index("ix_inquiries_status", "inquiries", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_inquiries_status", table_name="inquiries")
    op.drop_index("ix_inquiries_policy_number", table_name="inquiries")
    op.drop_index("ix_inquiries_customer_id", table_name="inquiries")
    op.drop_index("ix_inquiries_created", table_name="inquiries")
    op.drop_index("ix_inquiries_branch_received", table_name="inquiries")
    op.drop_table("inquiries")
    op.drop_index("ix_claim_reports_status", table_name="claim_reports")
    op.drop_index("ix_claim_reports_policy_number", table_name="claim_reports")
    op.drop_index("ix_claim_reports_customer_id", table_name="claim_reports")
    op.drop_index("ix_claim_reports_created", table_name="claim_reports")
    op.drop_index("ix_claim_reports_branch_reported", table_name="claim_reports")
    op.drop_table("claim_reports")
    op.drop_index(op.f("ix_policies_holder_id"), table_name="policies")
    op.drop_index(op.f("ix_policies_branch_id"), table_name="policies")
    op.drop_table("policies")
    op.drop_index("ix_ivr_calls_caller_phone_hash", table_name="ivr_calls")
    op.drop_index(
        "ix_ivr_calls_callback_requested",
        table_name="ivr_calls",
        postgresql_where=sa.text("status = 'callback_requested' AND ticket_id IS NULL"),
    )
    op.drop_table("ivr_calls")
    op.drop_index(op.f("ix_customer_phones_customer_id"), table_name="customer_phones")
    op.drop_table("customer_phones")
    op.drop_table("customers")
    for name in SEQUENCES:
        op.execute(sa.schema.DropSequence(sa.Sequence(name)))
