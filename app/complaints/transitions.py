"""The action → transition table the router dispatches on (one function per action)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from app.api.schemas import RequestModel
from app.complaints import acceptance, classification, details, handling
from app.complaints import schemas as s
from app.complaints.models import Complaint
from app.complaints.states import Action
from app.complaints.workflow import Context

__all__ = ["HANDLERS", "Context"]

Handler = Callable[..., Awaitable[Complaint]]

HANDLERS: dict[Action, tuple[Handler, type[RequestModel]]] = {
    Action.REQUEST_MATERIALS: (acceptance.request_materials, s.RequestMaterials),
    Action.RECEIVE_MATERIALS: (acceptance.receive_materials, s.ReceiveMaterials),
    Action.ACCEPT: (acceptance.accept, s.Accept),
    Action.REJECT: (acceptance.reject, s.Reject),
    Action.TRANSFER: (acceptance.transfer, s.Transfer),
    Action.MERGE: (acceptance.merge, s.Merge),
    Action.EXTEND: (handling.extend, s.Extend),
    Action.PAUSE: (handling.pause, s.Pause),
    Action.RESUME: (handling.resume, s.Resume),
    Action.DECIDE: (handling.decide, s.Decide),
    Action.NOTIFY: (handling.notify, s.Notify),
    Action.CLOSE: (handling.close, s.Close),
    Action.REQUEST_REVIEW: (handling.request_review, s.RequestReview),
    Action.DECIDE_REVIEW: (handling.decide_review, s.DecideReview),
    Action.WITHDRAW: (handling.withdraw, s.Withdraw),
    Action.ASSIGN: (handling.assign, s.Assign),
    Action.CORRECT_DETAILS: (details.correct, s.CorrectDetails),
    Action.RECLASSIFY: (classification.reclassify, s.Reclassify),
}
