"""supervision: change feed (outbox), webhooks, report summary

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 06:02:26.797424

Written against 0005; the integrator re-chains it after the intake (0006) and callbacks (0007)
migrations. Besides the tables it creates:

- ``working_days_between(calendar, after, through)``: working days on a statutory calendar in
  SQL (weekday arithmetic plus the calendar's exceptions, regional calendars over their parents);
- statement triggers on ``ticket_events`` and ``clock_events`` that write each appended entry to
  ``outbox_events`` in the same statement (so in the same transaction), and the existing entries
  as the feed's history;
- the permissions ``events:read`` (admin, integration) and ``webhooks:admin`` (admin).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


ROLE_PERMISSIONS = [
    ("admin", "events:read"),
    ("admin", "webhooks:admin"),
    ("integration", "events:read"),
]

WORKING_DAYS_BETWEEN = """
CREATE FUNCTION working_days_between(p_calendar text, p_after date, p_through date)
RETURNS integer LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
-- Working days after p_after up to and including p_through: Monday to Friday counted by
-- arithmetic (1899-12-31 was a Sunday), then each exception of the calendar adds a working
-- weekend day or removes a rest weekday. A regional calendar counts its parents' exceptions
-- too, the nearest calendar's winning. PL/pgSQL, so the plans are prepared once per session:
-- a report calls it for every row it shows.
DECLARE
    epoch CONSTANT date := DATE '1899-12-31';
    adjust integer;
BEGIN
    IF p_through <= p_after THEN
        RETURN 0;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM calendars WHERE code = p_calendar AND parent_code IS NOT NULL)
    THEN
        SELECT COALESCE(sum(CASE
                WHEN d.working AND extract(isodow FROM d.date) >= 6 THEN 1
                WHEN NOT d.working AND extract(isodow FROM d.date) < 6 THEN -1
                ELSE 0 END), 0)
        INTO adjust
        FROM calendar_days d
        WHERE d.calendar_code = p_calendar AND d.date > p_after AND d.date <= p_through;
    ELSE
        WITH RECURSIVE chain(code, depth) AS (
            SELECT p_calendar, 0
            UNION ALL
            SELECT c.parent_code, chain.depth + 1
            FROM calendars c JOIN chain ON c.code = chain.code
            WHERE c.parent_code IS NOT NULL AND chain.depth < 16
        ), exceptions AS (
            SELECT DISTINCT ON (d.date) d.date, d.working
            FROM calendar_days d JOIN chain ON d.calendar_code = chain.code
            WHERE d.date > p_after AND d.date <= p_through
            ORDER BY d.date, chain.depth
        )
        SELECT COALESCE(sum(CASE
                WHEN e.working AND extract(isodow FROM e.date) >= 6 THEN 1
                WHEN NOT e.working AND extract(isodow FROM e.date) < 6 THEN -1
                ELSE 0 END), 0)
        INTO adjust
        FROM exceptions e;
    END IF;
    RETURN ((p_through - epoch) / 7) * 5 + LEAST((p_through - epoch) % 7, 5)
        - ((p_after - epoch) / 7) * 5 - LEAST((p_after - epoch) % 7, 5) + adjust;
END
$$
"""

# What one ledger entry becomes in the outbox: the same expressions for the triggers and for the
# history copied below, so old and new entries look alike in the feed.
TICKET_EVENT_ROW = """
    n.ticket_kind || '.' || n.action, n.ticket_kind, n.ticket_id, n.at, n.actor,
    jsonb_build_object(
        'event_id', n.id, 'from_status', n.from_status, 'to_status', n.to_status,
        'reason', n.reason, 'request_id', n.request_id, 'data', n.data)
"""
CLOCK_EVENT_ROW = """
    'clock.' || n.kind, c.subject_kind, c.subject_id, n.at, n.actor,
    jsonb_build_object(
        'event_id', n.id,
        'clock', jsonb_build_object('id', c.id, 'name', c.name, 'unit', c.unit),
        'due_at', n.new_due_at, 'old_due_at', n.old_due_at, 'reason', n.reason,
        'calendar_version', n.calendar_version, 'data', n.data)
"""
OUTBOX_COLUMNS = "outbox_events (type, ticket_kind, ticket_id, occurred_at, actor, payload)"

TRIGGER_FUNCTIONS = [
    f"""
CREATE FUNCTION outbox_from_ticket_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {OUTBOX_COLUMNS}
    SELECT {TICKET_EVENT_ROW} FROM appended n ORDER BY n.id;
    RETURN NULL;
END;
$$
""",  # noqa: S608 - only constant fragments of this file are interpolated
    f"""
CREATE FUNCTION outbox_from_clock_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {OUTBOX_COLUMNS}
    SELECT {CLOCK_EVENT_ROW} FROM appended n JOIN clocks c ON c.id = n.clock_id ORDER BY n.id;
    RETURN NULL;
END;
$$
""",  # noqa: S608 - only constant fragments of this file are interpolated
]

TRIGGERS = [
    "CREATE TRIGGER ticket_events_to_outbox AFTER INSERT ON ticket_events"
    " REFERENCING NEW TABLE AS appended FOR EACH STATEMENT"
    " EXECUTE FUNCTION outbox_from_ticket_events()",
    "CREATE TRIGGER clock_events_to_outbox AFTER INSERT ON clock_events"
    " REFERENCING NEW TABLE AS appended FOR EACH STATEMENT"
    " EXECUTE FUNCTION outbox_from_clock_events()",
]

HISTORY = f"""
INSERT INTO {OUTBOX_COLUMNS}
SELECT type, ticket_kind, ticket_id, occurred_at, actor, payload FROM (
    SELECT {TICKET_EVENT_ROW}, 0 AS ledger, n.id AS entry
    FROM ticket_events n
    UNION ALL
    SELECT {CLOCK_EVENT_ROW}, 1, n.id
    FROM clock_events n JOIN clocks c ON c.id = n.clock_id
) AS history (type, ticket_kind, ticket_id, occurred_at, actor, payload, ledger, entry)
ORDER BY occurred_at, ledger, entry
"""  # noqa: S608 - only constant fragments of this file are interpolated


def upgrade() -> None:
    op.create_table(
        "outbox_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "xact_id",
            sa.BigInteger(),
            server_default=sa.text("(pg_current_xact_id()::text)::bigint"),
            nullable=False,
        ),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("ticket_kind", sa.String(length=20), nullable=True),
        sa.Column("ticket_id", sa.UUID(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column(
            "payload",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_events")),
    )
    op.create_index("ix_outbox_events_position", "outbox_events", ["xact_id", "id"], unique=True)
    op.create_table(
        "report_cursors",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("after_xact", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("after_id", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_report_cursors")),
    )
    op.create_table(
        "report_sla_summary",
        sa.Column("grain", sa.String(length=8), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.UUID(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("subject_kind", sa.String(length=20), nullable=False),
        sa.Column("clock_name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("settled", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("met", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("handled", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "handling_working_days", sa.BigInteger(), server_default=sa.text("0"), nullable=False
        ),
        sa.CheckConstraint(
            "dimension IN ('total', 'branch', 'team', 'product_line', 'cause', 'channel')",
            name=op.f("ck_report_sla_summary_dimension_known"),
        ),
        sa.CheckConstraint(
            "grain IN ('day', 'month')", name=op.f("ck_report_sla_summary_grain_known")
        ),
        sa.PrimaryKeyConstraint(
            "grain",
            "dimension",
            "scope",
            "starts_on",
            "subject_kind",
            "clock_name",
            "value",
            name=op.f("pk_report_sla_summary"),
        ),
    )
    op.create_table(
        "report_ticket_months",
        sa.Column("subject_kind", sa.String(length=20), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("branch_id", sa.UUID(), nullable=False),
        sa.Column("cause", sa.String(length=64), nullable=False),
        sa.Column("product_line", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("received", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint(
            "subject_kind",
            "month",
            "branch_id",
            "cause",
            "product_line",
            "channel",
            name=op.f("pk_report_ticket_months"),
        ),
    )
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("event_types", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("secret_enc", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("after_xact", sa.BigInteger(), nullable=False),
        sa.Column("after_id", sa.BigInteger(), nullable=False),
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
        sa.CheckConstraint("version >= 1", name=op.f("ck_webhook_subscriptions_version_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscriptions")),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("subscription_id", sa.UUID(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'failed')",
            name=op.f("ck_webhook_deliveries_status_known"),
        ),
        sa.CheckConstraint(
            "attempts >= 0", name=op.f("ck_webhook_deliveries_attempts_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["outbox_events.id"],
            name=op.f("fk_webhook_deliveries_event_id_outbox_events"),
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["webhook_subscriptions.id"],
            name=op.f("fk_webhook_deliveries_subscription_id_webhook_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint(
            "subscription_id",
            "event_id",
            name=op.f("uq_webhook_deliveries_subscription_id_event_id"),
        ),
    )
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_complaints_received_statistics",
        "complaints",
        ["received_at"],
        unique=False,
        postgresql_include=["branch_id", "cause_code", "product_line", "channel"],
    )
    op.execute(WORKING_DAYS_BETWEEN)
    op.execute(HISTORY)
    for statement in TRIGGER_FUNCTIONS + TRIGGERS:
        op.execute(statement)
    op.execute(
        "INSERT INTO report_cursors (name, after_xact, after_id) VALUES ('report_summary', 0, 0)"
    )
    permissions = sa.table("role_permissions", sa.column("role"), sa.column("permission"))
    op.bulk_insert(permissions, [{"role": r, "permission": p} for r, p in ROLE_PERMISSIONS])


def downgrade() -> None:
    for role, permission in ROLE_PERMISSIONS:
        op.execute(
            sa.text("DELETE FROM role_permissions WHERE role = :r AND permission = :p").bindparams(
                r=role, p=permission
            )
        )
    op.execute("DROP TRIGGER clock_events_to_outbox ON clock_events")
    op.execute("DROP TRIGGER ticket_events_to_outbox ON ticket_events")
    op.execute("DROP FUNCTION outbox_from_clock_events()")
    op.execute("DROP FUNCTION outbox_from_ticket_events()")
    op.execute("DROP FUNCTION working_days_between(text, date, date)")
    op.drop_index(
        "ix_complaints_received_statistics",
        table_name="complaints",
        postgresql_include=["branch_id", "cause_code", "product_line", "channel"],
    )
    op.drop_index(
        "ix_webhook_deliveries_due",
        table_name="webhook_deliveries",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_subscriptions")
    op.drop_table("report_ticket_months")
    op.drop_table("report_sla_summary")
    op.drop_table("report_cursors")
    op.drop_index("ix_outbox_events_position", table_name="outbox_events")
    op.drop_table("outbox_events")
