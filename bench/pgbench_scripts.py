# ruff: noqa: S608 - pgbench script text built from constants and ids this benchmark made
"""pgbench scripts of the service's hot transactions: the PostgreSQL ceiling for the same work.

Each script sends the statements one request sends — read from the service's statement log
(``log_statement = all``) and rebuilt here from the same code where the code exposes them
(``app.db.batch.WriteBatch`` for the one-statement writes, the repositories' ``text()``
statements) — with literal values in place of bound parameters and fresh ids from pgbench's
``:n`` in each transaction. What they leave out: the service's reads of data it caches in
process (calendars, contact policies, principals), which a busy service does not repeat.
pgbench uses the simple query protocol (the service uses prepared statements), which if
anything makes the ceiling lower.

If a request's SQL changes, change the script beside it (compare with the log of one request).
"""

from __future__ import annotations

from typing import Any

from common import batch_sql, inline_positional

# 12 digits: the last group of a UUID, and unique enough for a run (collisions ~1e-4 per 10^4).
ID = "\\set n random(100000000000, 999999999999)\n"
NOW = "2026-01-05T08:00:00+00:00"


def uid(kind: int) -> str:
    """A per-transaction UUID for pgbench (``:n`` is substituted inside the literal)."""
    return f"00000000-0000-4000-{8000 + kind}-:n"


def calendar_guard(version: int, xmin: str) -> Any:
    from app.db.batch import Guard

    return Guard(
        "calendars",
        "code = :code AND version = :version AND xmin::text = :xmin",
        (("code", "CN"), ("version", version), ("xmin", xmin)),
    )


CONTEXT_SQL = """
SELECT (SELECT id::text FROM branches ORDER BY code LIMIT 1),
       (SELECT version FROM calendars WHERE code = 'CN'),
       (SELECT xmin::text FROM calendars WHERE code = 'CN')
"""


async def context(socket_dir: str, database: str) -> dict[str, Any]:
    """A branch and the calendar's version stamp, read from the benchmark's database."""
    import asyncpg

    connection = await asyncpg.connect(host=socket_dir, user="postgres", database=database)
    try:
        branch, version, xmin = await connection.fetchrow(CONTEXT_SQL)
    finally:
        await connection.close()
    return {"branch": branch, "version": version, "xmin": xmin}


def _clock(kind: int, subject: str, subject_kind: str, name: str, unit: str, amount: int,
           due: str) -> dict[str, Any]:  # fmt: skip
    return {"id": uid(kind), "name": name, "unit": unit, "amount": amount, "due_at": due,
            "version": 1, "warn_at": None, "due_date": due[:10], "start_date": NOW[:10],
            "started_at": NOW, "subject_id": subject, "provisional": False, "paused_units": 0,
            "roll_forward": True, "subject_kind": subject_kind, "calendar_code": "CN",
            "rule_set_version": 1}  # fmt: skip


def _clock_event(kind: int, actor: str, unit: str, amount: int, due: str) -> dict[str, Any]:
    return {"at": NOW, "data": {"unit": unit, "amount": amount, "start_date": NOW[:10]},
            "kind": "started", "actor": actor, "reason": None, "clock_id": uid(kind),
            "new_due_at": due, "old_due_at": None, "calendar_version": 1}  # fmt: skip


def registration(ctx: dict[str, Any]) -> str:
    """POST /v1/complaints (no Idempotency-Key): one WITH … INSERT statement (complaint, phone,
    C7 and C2 clocks, their ledger entries, the timeline event) guarded by the calendar, sent
    alone — without BEGIN/COMMIT, as the service sends it."""
    complaint, actor = uid(0), "user:00000000-0000-4000-9000-000000000001"
    c7, c2 = "2026-01-20T16:00:00+00:00", "2026-01-12T16:00:00+00:00"
    rows = [
        ("complaints", {
            "id": complaint, "number": "PB:n", "status": "registered", "channel": "hotline",
            "outcome": {}, "version": 1, "branch_id": ctx["branch"], "cause_code": "mis_selling",
            "created_at": NOW, "updated_at": NOW, "description": "销售误导", "received_at": NOW,
            "product_line": "life", "id_number_enc": "v1:bench1:" + "x" * 60,
            "policy_number": "P-2026-000123", "registered_by": actor, "regulator_ref": None,
            "id_number_hash": "h:n", "complainant_name": "张三", "remedy_requested": None,
            "rule_set_version": 1, "authorisation_ref": None, "materials_missing": [],
            "materials_received": ["投诉书"], "regulator_reply_by": None,
            "handling_limit_days": 15, "complainant_relation": "policyholder",
            "materials_complete_at": None}),
        ("complainant_phones", {"position": 0, "phone_enc": "v1:bench1:" + "y" * 56,
                                "phone_hash": "p:n", "complaint_id": complaint}),
        ("clocks", _clock(1, complaint, "complaint", "C7_handling_decision", "calendar_days",
                          15, c7)),
        ("clocks", _clock(2, complaint, "complaint", "C2_supplement_or_confirm",
                          "working_days", 5, c2)),
        ("clock_events", _clock_event(1, actor, "calendar_days", 15, c7)),
        ("clock_events", _clock_event(2, actor, "working_days", 5, c2)),
        ("ticket_events", {"at": NOW, "data": {"number": "PB:n", "received_at": NOW},
                           "actor": actor, "action": "register", "reason": None,
                           "ticket_id": complaint, "to_status": "registered",
                           "request_id": "r:n", "from_status": None, "ticket_kind": "complaint"}),
    ]  # fmt: skip
    guard = calendar_guard(ctx["version"], ctx["xmin"])
    return ID + batch_sql(rows, guard=guard) + "\n"


IVR_CLIENT = "00000000-0000-4000-9000-000000000002"


PHONE_ENC = "v1:bench1:" + "z" * 56


def _ivr_context(call: str, phone_hash: str) -> str:
    """What is known of a call before it is handled: a retry's stored answer, the default
    branch, the policy, and the caller (created as ``uid(6)`` the first time the phone is
    heard). Sent on its own, as the service sends it."""
    from app.ivr.repository import _CALL_CONTEXT

    args = (IVR_CLIENT, call, phone_hash, uid(6), PHONE_ENC, "HQ", None)
    return inline_positional(_CALL_CONTEXT, args).strip() + ";\n"


def intake_new(ctx: dict[str, Any]) -> str:
    """POST /v1/ivr/calls, a new caller's inquiry, as the service sends it (no BEGIN/COMMIT):
    the call's context (the customer created by phone), then one statement for inquiry + clock
    + ledger + timeline, with the call's row and answer as the statement's claim."""
    inquiry, actor, call = uid(0), f"api_key:{IVR_CLIENT}", "pgb-:n"
    due = "2026-01-06T16:00:00+00:00"
    ticket = {"number": "IQ:n", "status": "pending", "due_date": due[:10], "id": inquiry,
              "kind": "inquiry"}  # fmt: skip
    rows = [
        ("inquiries", {
            "id": inquiry, "answer": None, "number": "IQ:n", "status": "pending",
            "channel": "hotline", "version": 1, "question": "热线IVR来电咨询：来电内容",
            "branch_id": ctx["branch"], "policy_id": None, "created_at": NOW, "updated_at": NOW,
            "answered_at": None, "answered_by": None, "customer_id": uid(6), "received_at": NOW,
            "product_line": "other", "policy_number": None, "registered_by": actor,
            "rule_set_version": 1, "first_contact_resolution": False}),
        ("clocks", _clock(1, inquiry, "inquiry", "inquiry_answer", "working_days", 1, due)),
        ("clock_events", _clock_event(1, actor, "working_days", 1, due)),
        ("ticket_events", {"at": NOW, "data": {"number": "IQ:n", "source": "ivr",
                           "call_id": call}, "actor": actor, "action": "register",
                           "reason": None, "ticket_id": inquiry, "to_status": "pending",
                           "request_id": "r:n", "from_status": None, "ticket_kind": "inquiry"}),
    ]  # fmt: skip
    call_row = {
        "id": uid(5), "client_id": IVR_CLIENT, "call_id": call, "fingerprint": "f" * 64,
        "intent": "inquiry", "status": "processed", "caller_phone_enc": PHONE_ENC,
        "caller_phone_hash": "c:n", "called_number": "95500", "started_at": NOW,
        "ended_at": None, "menu_path": "2", "policy_number": None, "id_digits_hash": None,
        "recording_ref": None, "transcript": "来电内容", "branch_id": ctx["branch"],
        "ticket_id": inquiry, "customer_id": uid(6), "ticket_kind": "inquiry",
        "response": {"intent": "inquiry", "speech": "您的咨询已登记。", "ticket": ticket,
                     "call_id": call, "outcome": "ticket_created", "open_items": []},
    }  # fmt: skip
    write = batch_sql(rows, claim=("ivr_calls", call_row, ("client_id", "call_id")),
                      guard=calendar_guard(ctx["version"], ctx["xmin"]))  # fmt: skip
    return ID + _ivr_context(call, "c:n") + write + "\n"


def intake_replay() -> str:
    """A retried call: its context, which finds the stored answer (nothing else is sent)."""
    return ID + "\\set r random(1, 64)\n" + _ivr_context("pgb-replay-:r", "c:replay")


def callback_claim_attempt(branch: str, agent: str, kinds: list[str]) -> str:
    """One callback worked: claim-next (a held one? the queue's head FOR UPDATE SKIP LOCKED,
    hold it, timeline, phones, clocks), then an attempt (lock it, record the attempt,
    reschedule, timeline, read back attempts, phones, clocks) — two transactions."""
    now = "now()"
    kinds_sql = ", ".join(f"'{k}'::VARCHAR" for k in kinds)
    head = ("SELECT quote_literal(id::text) AS cb FROM callbacks WHERE state IN ('scheduled', 'rescheduled',"
            " 'in_progress') AND (callbacks.state IN ('scheduled'::VARCHAR,"
            " 'rescheduled'::VARCHAR) OR callbacks.state = 'in_progress'::VARCHAR AND"
            f" callbacks.held_until <= {now}) AND callbacks.not_before <= {now} AND"
            f" callbacks.next_attempt_at <= {now} AND callbacks.kind IN ({kinds_sql}) AND"
            f" callbacks.branch_id = '{branch}'::UUID AND callbacks.team_id IS NULL"
            " ORDER BY callbacks.due_at, callbacks.priority, callbacks.id"
            " LIMIT 1 FOR UPDATE SKIP LOCKED\n\\gset\n")  # fmt: skip
    held = (f"SELECT * FROM callbacks WHERE callbacks.assignee_id = '{agent}'::UUID AND"
            f" callbacks.state = 'in_progress'::VARCHAR AND callbacks.held_until > {now} AND"
            f" callbacks.branch_id = '{branch}'::UUID ORDER BY callbacks.held_until LIMIT 1"
            " FOR UPDATE;\n")  # fmt: skip
    event = ("INSERT INTO ticket_events (ticket_kind, ticket_id, at, actor, action, from_status,"
             " to_status, reason, request_id, data) VALUES ('callback', :cb, now(),"
             " 'user:bench', '{action}', '{old}', '{new}', NULL, 'r:n', '{{}}'::jsonb)"
             " RETURNING ticket_events.id;\n")  # fmt: skip
    reads = ("SELECT * FROM callback_phones WHERE callback_id = :cb ORDER BY position;\n"
             "SELECT * FROM clocks WHERE subject_kind = 'callback' AND subject_id = :cb;\n")  # fmt: skip
    claim = (
        "BEGIN;\n" + held + head
        + "UPDATE callbacks SET state = 'in_progress', version = version + 1,"
        f" assignee_id = '{agent}'::UUID, held_until = now() + interval '15 minutes',"
        " updated_at = now() WHERE callbacks.id = :cb;\n"
        + event.format(action="claim", old="scheduled", new="in_progress") + reads + "COMMIT;\n"
    )  # fmt: skip
    attempt = (
        "BEGIN;\nSELECT * FROM callbacks WHERE callbacks.id = :cb AND callbacks.branch_id ="
        f" '{branch}'::UUID FOR UPDATE;\n"
        "INSERT INTO callback_attempts (id, callback_id, number, method, outcome, agent_id,"
        " actor, started_at, ended_at, notes, recording_ref) VALUES"
        f" ('{uid(0)}', :cb, 1, 'phone', 'no_answer', '{agent}'::UUID, 'user:bench', now(), now(),"
        " NULL, NULL) RETURNING callback_attempts.created_at;\n"
        "UPDATE callbacks SET state = 'rescheduled', version = version + 1, held_until = NULL,"
        " attempts_on_method = attempts_on_method + 1, attempts_made = attempts_made + 1,"
        " next_attempt_at = now() + interval '2 hours', last_attempt_at = now(),"
        " updated_at = now() WHERE callbacks.id = :cb;\n"
        + event.format(action="attempt", old="in_progress", new="rescheduled")
        + "SELECT * FROM callback_attempts WHERE callback_id = :cb;\n" + reads + "COMMIT;\n"
    )  # fmt: skip
    return ID + claim + attempt


async def scalar(socket_dir: str, database: str, sql: str) -> Any:
    """One value from the benchmark's database (to check that pgbench's writes applied: a
    guard that finds no row makes the whole statement a no-op)."""
    import asyncpg

    connection = await asyncpg.connect(host=socket_dir, user="postgres", database=database)
    try:
        return await connection.fetchval(sql)
    finally:
        await connection.close()
