"""The transition table and the questionnaire check (pure)."""

from __future__ import annotations

from app.callbacks.questionnaire import Questionnaire, check_answers
from app.callbacks.states import (
    OPEN,
    TERMINAL,
    Action,
    State,
    allowed_actions,
    mermaid,
    release_target,
    targets,
)


def test_terminal_states_allow_nothing_and_every_open_state_can_be_cancelled() -> None:
    for state in TERMINAL:
        assert allowed_actions(state) == []
    for state in OPEN:
        assert targets(Action.CANCEL, state) == {State.CANCELLED}


def test_only_a_claimed_callback_takes_attempts_and_releases() -> None:
    assert [s for s in State if targets(Action.ATTEMPT, s)] == [State.IN_PROGRESS]
    assert targets(Action.ATTEMPT, State.IN_PROGRESS) == {
        State.COMPLETED,
        State.RESCHEDULED,
        State.UNREACHABLE,
    }
    assert release_target(0) is State.SCHEDULED
    assert release_target(2) is State.RESCHEDULED
    assert release_target(0) in targets(Action.RELEASE, State.IN_PROGRESS)


def test_the_table_renders_as_a_diagram() -> None:
    diagram = mermaid()
    assert "scheduled --> in_progress: claim" in diagram
    assert "in_progress --> unreachable: attempt" in diagram


NEW_POLICY = Questionnaire.from_data(
    code="new_policy_v1",
    kind="new_policy",
    title="新契约回访",
    items=[
        {"code": "signed_personally", "text": "本人签名", "type": "yes_no", "required": True,
         "expect": True},
        {"code": "knows_cooling_off_period", "text": "犹豫期", "type": "yes_no",
         "required": True, "expect": True},
        {"code": "score", "text": "评分", "type": "score", "required": False},
        {"code": "comments", "text": "意见", "type": "text", "required": False},
    ],
    satisfaction_required=False,
)  # fmt: skip


def test_complete_answers_pass() -> None:
    checked = check_answers(
        NEW_POLICY, {"signed_personally": True, "knows_cooling_off_period": True, "score": 4}
    )
    assert checked.issues == []
    assert checked.findings == []


def test_missing_unknown_and_mistyped_answers_are_each_named() -> None:
    checked = check_answers(
        NEW_POLICY, {"signed_personally": "yes", "score": True, "colour": "blue", "comments": 3}
    )
    assert sorted(i.field for i in checked.issues) == [
        "answers.colour",
        "answers.comments",
        "answers.knows_cooling_off_period",
        "answers.score",
        "answers.signed_personally",
    ]


def test_a_confirmation_answered_no_is_a_finding() -> None:
    checked = check_answers(
        NEW_POLICY, {"signed_personally": False, "knows_cooling_off_period": True}
    )
    assert checked.issues == []
    assert checked.findings == ["signed_personally"]
