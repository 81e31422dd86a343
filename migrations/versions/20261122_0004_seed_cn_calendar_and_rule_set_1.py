"""seed: the CN calendar 2004-2026 and the default rule set (version 1)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 05:30:00

The calendar comes from the packaged ``app/calendar/data/cn_official_2004_2026.json``, read
here (no holiday library is imported: those guess future years). Weekend days inside a holiday
period are stored as labelled rest days. The rule set's definitions are written out below on
purpose: a migration is a frozen record of what was shipped, not a call into today's code.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from importlib import resources
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOADED_BY = "migration:0004"

calendars = sa.table(
    "calendars",
    sa.column("code", sa.String),
    sa.column("name", sa.String),
    sa.column("time_zone", sa.String),
    sa.column("parent_code", sa.String),
    sa.column("version", sa.Integer),
)
calendar_days = sa.table(
    "calendar_days",
    sa.column("calendar_code", sa.String),
    sa.column("date", sa.Date),
    sa.column("working", sa.Boolean),
    sa.column("kind", sa.String),
    sa.column("name", sa.String),
)
calendar_years = sa.table(
    "calendar_years",
    sa.column("calendar_code", sa.String),
    sa.column("year", sa.Integer),
    sa.column("status", sa.String),
    sa.column("source", sa.Text),
    sa.column("loaded_at", sa.DateTime(timezone=True)),
    sa.column("loaded_by", sa.String),
    sa.column("version", sa.Integer),
)
rule_sets = sa.table(
    "rule_sets",
    sa.column("version", sa.Integer),
    sa.column("name", sa.String),
    sa.column("effective_from", sa.Date),
    sa.column("created_by", sa.String),
)
clock_definitions = sa.table(
    "clock_definitions",
    sa.column("rule_set_version", sa.Integer),
    sa.column("name", sa.String),
    sa.column("subject_kind", sa.String),
    sa.column("amount", sa.Integer),
    sa.column("unit", sa.String),
    sa.column("start_event", sa.String),
    sa.column("stop_events", postgresql.ARRAY(sa.Text)),
    sa.column("roll_forward", sa.Boolean),
    sa.column("warning_lead_working_days", sa.Integer),
    sa.column("extensions", postgresql.ARRAY(sa.Integer)),
    sa.column("description", sa.Text),
)

# name, subject kind, amount, unit, start event, stop events, roll forward, warning lead,
# extensions, description. DOMAIN.md sections 3-5; company rules seeds/001 ch. 4-5; CBIRC order
# 2020 No. 3 art. 18, 20; Insurance Law arts. 22-25.
DEFAULT_RULES: list[tuple[Any, ...]] = [
    ("C2_supplement_or_confirm", "complaint", 5, "working_days", "complaint_received",
     ["supplement_notice_sent", "materials_confirmed_complete"], True, 1, [],
     "C2: one supplement notice listing everything missing, or confirmation that the materials"
     " are complete, within 5 working days of receipt."),
    ("C3_acceptance_notice", "complaint", 10, "working_days", "materials_complete",
     ["acceptance_notice_sent"], True, 2, [],
     "C3: acceptance notice (accepted, or not accepted with the reason) within 10 working days"
     " of receipt of complete materials."),
    ("C7_handling_decision", "complaint", 15, "calendar_days", "complaint_received",
     ["decision_notified"], True, 3, [30, 60],
     "C7 (CBIRC 2020 No. 3 art. 18): decision notified within 15 days of receipt; a complex case"
     " may be extended to 30, an especially complex one to 60 with a superior's approval and"
     " notice to the complainant. Appraisal and mediation periods pause it."),
    ("C9a_review_request_window", "complaint", 30, "calendar_days", "decision_received",
     ["review_requested"], True, 0, [],
     "C9 (art. 20): the complainant may ask for a review within 30 days of receiving the"
     " decision. The complainant's window, so no warning; rolls forward (Civil Code art. 203)."),
    ("C9b_review_decision", "complaint", 30, "calendar_days", "review_requested",
     ["review_notified"], True, 3, [],
     "C9 (art. 20): the review is decided and notified within 30 days of the request."),
    ("C11_regulator_reply", "complaint", 0, "calendar_days", "complaint_received",
     ["written_report_sent"], False, 1, [],
     "C11: the forwarding regulator's own reply-by date. Amount 0: the due date is given when the"
     " clock starts (stored as the calendar days from the start date), never rolled forward."),
    ("inquiry_answer", "inquiry", 1, "working_days", "inquiry_received",
     ["inquiry_answered"], True, 0, [],
     "Inquiries not answered in the call: answered within 1 working day."),
    ("claim_decision", "claim_report", 30, "calendar_days", "claim_documents_complete",
     ["claim_decided"], True, 3, [],
     "Insurance Law art. 23: decision within 30 days of complete documents (unless the contract"
     " says otherwise)."),
    ("claim_refusal_notice", "claim_report", 3, "calendar_days", "claim_declined",
     ["refusal_notice_sent"], True, 1, [],
     "Insurance Law art. 24: refusal notice, with the reason, within 3 days of the decision."),
    ("claim_payment", "claim_report", 10, "calendar_days", "claim_agreement_reached",
     ["claim_paid"], True, 2, [],
     "Insurance Law art. 23: payment within 10 days of the agreement on the amount."),
    ("claim_advance_payment", "claim_report", 60, "calendar_days", "claim_documents_complete",
     ["claim_amount_fixed", "advance_payment_made"], True, 5, [],
     "Insurance Law art. 25: if the amount is not fixed within 60 days of complete documents,"
     " advance the part that is certain."),
    ("callback_problem_follow_up", "callback", 5, "working_days", "callback_problem_found",
     ["follow_up_answered"], True, 1, [],
     "Company rules ch. 1 s. 4: a problem found in a callback gets a satisfactory answer within"
     " 5 working days."),
    ("ivr_callback_request", "callback", 4, "hours", "ivr_callback_requested",
     ["callback_completed"], True, 0, [],
     "A call-back request left in the IVR: call the customer back within 4 hours."),
]  # fmt: skip


def _calendar_file() -> dict[str, Any]:
    path = resources.files("app.calendar").joinpath("data", "cn_official_2004_2026.json")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _seed_calendar() -> None:
    data = _calendar_file()
    code = data["calendar"]
    op.bulk_insert(
        calendars,
        [{"code": code, "name": "中国法定节假日 (State Council schedule)",
          "time_zone": data["time_zone"], "parent_code": None, "version": 1}],
    )  # fmt: skip
    loaded_at = dt.datetime.now(dt.UTC)
    years, days = [], []
    for year, year_data in sorted(data["years"].items()):
        years.append(
            {"calendar_code": code, "year": int(year), "status": "official",
             "source": year_data["source"], "loaded_at": loaded_at, "loaded_by": LOADED_BY,
             "version": 1}
        )  # fmt: skip
        days.extend(
            {"calendar_code": code, "date": dt.date.fromisoformat(day["date"]),
             "working": day["working"], "kind": day["kind"], "name": day["name"]}
            for day in year_data["days"]
        )  # fmt: skip
    op.bulk_insert(calendar_years, years)
    op.bulk_insert(calendar_days, days)


def _seed_rule_set() -> None:
    op.bulk_insert(
        rule_sets,
        [{"version": 1, "name": "Default rules (company rules, CBIRC 2020 No. 3, Insurance Law)",
          "effective_from": dt.date(2020, 3, 1), "created_by": LOADED_BY}],
    )  # fmt: skip
    keys = ("name", "subject_kind", "amount", "unit", "start_event", "stop_events",
            "roll_forward", "warning_lead_working_days", "extensions", "description")  # fmt: skip
    op.bulk_insert(
        clock_definitions,
        [{"rule_set_version": 1, **dict(zip(keys, rule, strict=True))} for rule in DEFAULT_RULES],
    )


def upgrade() -> None:
    _seed_calendar()
    _seed_rule_set()


def downgrade() -> None:
    op.execute("DELETE FROM clock_definitions WHERE rule_set_version = 1")
    op.execute("DELETE FROM rule_sets WHERE version = 1")
    op.execute("DELETE FROM calendar_days WHERE calendar_code = 'CN'")
    op.execute("DELETE FROM calendar_years WHERE calendar_code = 'CN'")
    op.execute("DELETE FROM calendars WHERE code = 'CN'")
