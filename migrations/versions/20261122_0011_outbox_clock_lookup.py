"""outbox: the clock-event trigger looks each clock up by its key

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22 13:30:00

``outbox_from_clock_events`` copied the appended clock events to the outbox joined to their
clocks. The transition table has no statistics, and a backend that planned the join while
``clocks`` was small kept a hash join over a sequential scan of the whole table: every
registration then read every clock (measured: 1,020 scans reading 5.7 million rows in ten
seconds of registrations over 6,000 clocks). With a million clocks each registration would have
read a million rows. The lookup is now a lateral subquery with ``LIMIT 1``, which the planner
cannot flatten into a join: one primary-key probe per event, whatever the table's size or
statistics. The rows written are the same.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in 0008 (the outbox row of one clock event), read from the looked-up clock ``c``.
_CLOCK_EVENT_ROW = """
    'clock.' || n.kind, c.subject_kind, c.subject_id, n.at, n.actor,
    jsonb_build_object(
        'event_id', n.id,
        'clock', jsonb_build_object('id', c.id, 'name', c.name, 'unit', c.unit),
        'due_at', n.new_due_at, 'old_due_at', n.old_due_at, 'reason', n.reason,
        'calendar_version', n.calendar_version, 'data', n.data)
"""
_INTO = "outbox_events (type, ticket_kind, ticket_id, occurred_at, actor, payload)"


def _function(source: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION outbox_from_clock_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {_INTO}
    SELECT {_CLOCK_EVENT_ROW} FROM {source} ORDER BY n.id;
    RETURN NULL;
END;
$$
"""  # noqa: S608 - only constant fragments of this file are interpolated


def upgrade() -> None:
    op.execute(
        _function(
            "appended n CROSS JOIN LATERAL"
            " (SELECT * FROM clocks WHERE clocks.id = n.clock_id LIMIT 1) c"
        )
    )


def downgrade() -> None:
    op.execute(_function("appended n JOIN clocks c ON c.id = n.clock_id"))
