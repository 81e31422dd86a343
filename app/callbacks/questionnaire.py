"""Questionnaire templates (data, seeded per kind) and checking a completion's answers. Pure.

An item is ``yes_no`` (a boolean), ``score`` (1–5) or ``text``. A ``yes_no`` item may carry the
answer it ``expect``s — the confirmations a new long-term life policy callback must obtain
(signed personally, knows the cooling-off period, …). A confirmation answered otherwise is a
finding: the service insists that the completion then reports ``problem_found``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

MAX_TEXT = 2000


class ItemType(StrEnum):
    YES_NO = "yes_no"
    SCORE = "score"
    TEXT = "text"


@dataclass(frozen=True, slots=True)
class Item:
    code: str
    text: str
    type: ItemType
    required: bool
    expect: bool | None = None


@dataclass(frozen=True, slots=True)
class Questionnaire:
    code: str
    kind: str
    title: str
    items: tuple[Item, ...]
    satisfaction_required: bool

    @classmethod
    def from_data(
        cls,
        *,
        code: str,
        kind: str,
        title: str,
        items: Sequence[Mapping[str, Any]],
        satisfaction_required: bool,
    ) -> Questionnaire:
        return cls(
            code=code,
            kind=kind,
            title=title,
            items=tuple(
                Item(
                    code=str(item["code"]),
                    text=str(item["text"]),
                    type=ItemType(item["type"]),
                    required=bool(item.get("required", False)),
                    expect=item.get("expect"),
                )
                for item in items
            ),
            satisfaction_required=satisfaction_required,
        )


@dataclass(frozen=True, slots=True)
class Issue:
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class Checked:
    issues: list[Issue]
    findings: list[str]
    """Codes of confirmations answered otherwise than expected."""


def _type_issue(item: Item, value: object) -> str | None:
    if item.type is ItemType.YES_NO and not isinstance(value, bool):
        return "must be true or false"
    if item.type is ItemType.SCORE and (
        isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5
    ):
        return "must be a whole number from 1 to 5"
    if item.type is ItemType.TEXT and (not isinstance(value, str) or len(value) > MAX_TEXT):
        return f"must be text of at most {MAX_TEXT} characters"
    return None


def check_answers(questionnaire: Questionnaire, answers: Mapping[str, object]) -> Checked:
    """Every problem with ``answers`` (unknown, missing, mistyped) and the findings."""
    items = {item.code: item for item in questionnaire.items}
    issues = [
        Issue(f"answers.{code}", f"is not an item of questionnaire {questionnaire.code}")
        for code in answers
        if code not in items
    ]
    findings: list[str] = []
    for item in questionnaire.items:
        if item.code not in answers:
            if item.required:
                issues.append(Issue(f"answers.{item.code}", f"is required ({item.text})"))
            continue
        value = answers[item.code]
        problem = _type_issue(item, value)
        if problem is not None:
            issues.append(Issue(f"answers.{item.code}", problem))
        elif item.expect is not None and value is not item.expect:
            findings.append(item.code)
    return Checked(issues=issues, findings=findings)
