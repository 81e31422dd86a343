"""What the IVR reads to the caller, and the plain words agents see: pure text from data.

Short sentences, the number spelled as given, dates as ``2026年11月23日`` (Beijing time).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from app.core.clock import BUSINESS_TZ
from app.tickets.views import chinese_date

KIND_WORDS = {"inquiry": "咨询", "claim_report": "报案", "complaint": "投诉", "callback": "回电"}

STATUS_WORDS: dict[tuple[str, str], str] = {
    ("inquiry", "open"): "正在处理",
    ("inquiry", "pending"): "等待答复",
    ("inquiry", "answered"): "已答复",
    ("inquiry", "closed"): "已办结",
    ("inquiry", "converted"): "已转为投诉",
    ("claim_report", "reported"): "已报案，等待移交理赔",
    ("claim_report", "handed_off"): "理赔处理中",
    ("claim_report", "documents_requested"): "等待补充理赔材料",
    ("claim_report", "documents_complete"): "材料齐全，正在核定",
    ("claim_report", "decided"): "已作出核定",
    ("claim_report", "agreement_reached"): "已达成赔付协议，等待支付",
    ("claim_report", "paid"): "已支付赔款",
    ("claim_report", "closed"): "已结案",
    ("claim_report", "cancelled"): "已注销",
    ("complaint", "registered"): "已登记",
    ("complaint", "awaiting_materials"): "等待补充材料",
    ("complaint", "under_review"): "正在审核是否受理",
    ("complaint", "investigating"): "已受理，正在调查处理",
    ("complaint", "paused"): "处理中（鉴定或调解期间）",
    ("complaint", "decided"): "已作出处理决定",
    ("complaint", "notified"): "已告知处理决定",
    ("complaint", "closed"): "已办结",
    ("complaint", "review_requested"): "正在核查",
    ("callback", "scheduled"): "已安排回电",
    ("callback", "rescheduled"): "已另约回电时间",
    ("callback", "in_progress"): "工作人员正在为您回电",
}

# What the next deadline means to the caller, by clock name.
DUE_WORDS = {
    "inquiry_answer": "答复",
    "claim_decision": "作出核定",
    "claim_refusal_notice": "发出拒赔通知",
    "claim_payment": "支付赔款",
    "claim_advance_payment": "先行支付",
    "C2_supplement_or_confirm": "与您联系确认材料",
    "C3_acceptance_notice": "告知是否受理",
    "C7_handling_decision": "告知处理结果",
    "C9b_review_decision": "告知核查结果",
    "C11_regulator_reply": "答复",
    "ivr_callback_request": "给您回电",
    "callback_problem_follow_up": "答复您反映的问题",
}

MAX_ITEMS_READ = 3


def status_text(kind: str, status: str) -> str:
    return STATUS_WORDS.get((kind, status), status)


def due_text(clock_name: str, due_date: dt.date, *, overdue: bool, provisional: bool) -> str:
    what = DUE_WORDS.get(clock_name, "处理")
    if overdue:
        return f"应于{chinese_date(due_date)}前{what}，已逾期，我们将尽快处理"
    note = "（暂定）" if provisional else ""
    return f"将于{chinese_date(due_date)}前{what}{note}"


def inquiry_created(number: str, due_date: dt.date | None) -> str:
    when = f"我们将在{chinese_date(due_date)}前答复您" if due_date else "我们将尽快答复您"
    return f"您的咨询已登记，咨询编号为{number}。{when}。"


def claim_reported(number: str, decision_days: int) -> str:
    return (
        f"您的报案已受理，报案号为{number}。理赔人员将与您联系，并一次性告知所需材料；"
        f"材料齐全后，我们将在{decision_days}日内作出核定。"
    )


def complaint_registered(number: str, contact_by: dt.date | None, decide_by: dt.date | None) -> str:
    parts = [f"您的投诉已登记，投诉编号为{number}。"]
    if contact_by is not None:
        parts.append(f"我们将在{chinese_date(contact_by)}前与您联系。")
    if decide_by is not None:
        parts.append(f"处理结果将在{chinese_date(decide_by)}前告知您。")
    return "".join(parts)


def callback_requested(due_at: dt.datetime | None) -> str:
    if due_at is None:
        return "已为您登记回电请求，工作人员将尽快给您回电，请保持电话畅通。"
    local = due_at.astimezone(BUSINESS_TZ)
    return (
        f"已为您登记回电请求，我们将在{chinese_date(local.date())}"
        f"{local.hour}点{local.minute:02d}分前给您回电，请保持电话畅通。"
    )


def open_items(items: Sequence[tuple[str, str, str, str | None]]) -> str:
    """``(kind, number, status text, due text)`` per item: how many, then the first few."""
    if not items:
        return "您目前没有正在办理的事项。"
    parts = [f"您有{len(items)}件正在办理的事项。"]
    for kind, number, status, due in items[:MAX_ITEMS_READ]:
        line = f"{KIND_WORDS.get(kind, '')}{number}，{status}"
        parts.append(f"{line}，{due}。" if due else f"{line}。")
    if len(items) > MAX_ITEMS_READ:
        parts.append("其余事项请转人工查询。")
    return "".join(parts)


def policy_unknown(number: str) -> str:
    return f"未查询到保单{number}的在办事项。"
