"""Seed data for ``bench_intake.py``: customers with phones, policies, and 1,000,000 tickets
(inquiries, claim reports, complaints) with running clocks on the open ones.

Tickets and clocks are made by SQL ``generate_series``; phone rows are copied in from Python
because their lookup hash and ciphertext need the service's keys.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator

from sqlalchemy import text

from app.access.pii import PiiCodec

FIRST_PHONE = 13_700_000_000  # 137xxxxxxxx: one per seeded customer


def customer_uuid(n: int) -> uuid.UUID:
    """The id SQL gives customer ``n``: ``md5('c' || n)::uuid``."""
    return uuid.UUID(hashlib.md5(f"c{n}".encode()).hexdigest())  # noqa: S324 - ids, not security


def phone_of(n: int) -> str:
    return f"+86{FIRST_PHONE + n}"


def phone_rows(codec: PiiCodec, customers: int) -> Iterator[tuple[str, uuid.UUID, str]]:
    for n in range(1, customers + 1):
        e164 = phone_of(n)
        yield (
            codec.lookup(e164, purpose=codec.PHONE),
            customer_uuid(n),
            codec.seal(e164, purpose=codec.PHONE),
        )


CUSTOMERS = text(
    """
    INSERT INTO customers (id, name, source)
    SELECT md5('c' || g)::uuid, CASE WHEN g % 3 = 0 THEN NULL ELSE '客户' || g END,
           CASE WHEN g % 3 = 0 THEN 'ivr' ELSE 'agent' END
    FROM generate_series(1, CAST(:customers AS integer)) AS g
    """
)

POLICIES = text(
    """
    INSERT INTO policies (id, number, product_line, branch_id, holder_id)
    SELECT md5('p' || g)::uuid, 'PB' || lpad(g::text, 10, '0'),
           (ARRAY['motor', 'life', 'health', 'property'])[g % 4 + 1],
           (SELECT id FROM branches ORDER BY code LIMIT 1 OFFSET g % :branches), NULL
    FROM generate_series(1, CAST(:policies AS integer)) AS g
    """
)

# One in ten tickets is open; the customer of ticket g is g % customers + 1.
INQUIRIES = text(
    """
    INSERT INTO inquiries (id, number, branch_id, status, rule_set_version, channel, received_at,
        registered_by, customer_id, policy_number, product_line, question, answer,
        first_contact_resolution, answered_at, created_at, updated_at)
    SELECT md5('i' || g)::uuid, 'IQB' || lpad(g::text, 10, '0'), b.id,
           CASE WHEN g % 10 = 0 THEN 'pending' ELSE 'closed' END, 1, 'hotline', t.at, 'bench',
           md5('c' || (g % :customers + 1))::uuid, NULL, 'other', '问题',
           CASE WHEN g % 10 = 0 THEN NULL ELSE '答复' END, g % 10 <> 0,
           CASE WHEN g % 10 = 0 THEN NULL ELSE t.at END, t.at, t.at
    FROM generate_series(1, CAST(:count AS integer)) AS g,
         LATERAL (SELECT now() - (g % 720) * interval '12 hours' AS at) AS t,
         LATERAL (SELECT id FROM branches ORDER BY code LIMIT 1 OFFSET g % :branches) AS b
    """
)

CLAIM_REPORTS = text(
    """
    INSERT INTO claim_reports (id, number, branch_id, status, rule_set_version, channel,
        reported_at, registered_by, customer_id, product_line, claim_number,
        documents_complete_at, created_at, updated_at)
    SELECT md5('r' || g)::uuid, 'CRB' || lpad(g::text, 10, '0'), b.id,
           CASE WHEN g % 10 = 0 THEN 'documents_complete' ELSE 'closed' END, 1, 'hotline', t.at,
           'bench', md5('c' || (g % :customers + 1))::uuid, 'motor', 'LPB' || g, t.at, t.at, t.at
    FROM generate_series(1, CAST(:count AS integer)) AS g,
         LATERAL (SELECT now() - (g % 720) * interval '12 hours' AS at) AS t,
         LATERAL (SELECT id FROM branches ORDER BY code LIMIT 1 OFFSET g % :branches) AS b
    """
)

COMPLAINTS = text(
    """
    INSERT INTO complaints (id, number, branch_id, status, rule_set_version, channel,
        received_at, registered_by, complainant_name, complainant_relation, product_line,
        cause_code, description, created_at, updated_at)
    SELECT md5('t' || g)::uuid, 'TSB' || lpad(g::text, 10, '0'), b.id,
           CASE WHEN g % 10 = 0 THEN 'investigating' ELSE 'reviewed' END, 1, 'hotline', t.at,
           'bench', '客户', 'policyholder', 'life', 'other', '投诉', t.at, t.at
    FROM generate_series(1, CAST(:count AS integer)) AS g,
         LATERAL (SELECT now() - (g % 720) * interval '12 hours' AS at) AS t,
         LATERAL (SELECT id FROM branches ORDER BY code LIMIT 1 OFFSET g % :branches) AS b
    """
)

COMPLAINANT_PHONES = text(
    """
    INSERT INTO complainant_phones (complaint_id, position, phone_enc, phone_hash)
    SELECT md5('t' || g)::uuid, 0, p.phone_enc, p.phone_hash
    FROM generate_series(1, CAST(:count AS integer)) AS g
    JOIN customer_phones AS p ON p.customer_id = md5('c' || (g % :customers + 1))::uuid
    """
)

CLOCKS = text(
    """
    INSERT INTO clocks (id, subject_kind, subject_id, name, rule_set_version, unit, amount,
        roll_forward, calendar_code, started_at, start_date, due_date, due_at, provisional,
        paused_units, version)
    SELECT gen_random_uuid(), o.kind, o.id, o.name, 1, o.unit, o.amount, true, 'CN', o.at,
           o.at::date, (o.at + o.amount * interval '1 day')::date,
           date_trunc('day', o.at + o.amount * interval '1 day') + interval '16 hours', false,
           0, 1
    FROM (
        SELECT 'inquiry' AS kind, id, 'inquiry_answer' AS name, 'working_days' AS unit,
               1 AS amount, received_at AS at FROM inquiries WHERE status = 'pending'
        UNION ALL
        SELECT 'claim_report', id, 'claim_decision', 'calendar_days', 30, documents_complete_at
        FROM claim_reports WHERE status = 'documents_complete'
        UNION ALL
        SELECT 'complaint', id, 'C7_handling_decision', 'calendar_days', 15, received_at
        FROM complaints WHERE status = 'investigating'
    ) AS o
    """
)
