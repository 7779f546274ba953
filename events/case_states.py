"""The case (事件) closed loop as data: state × action → next state (DESIGN §2, §4).

上报→受理→立案→派遣→签收→处置→核查→结案, with 退回, 核查不通过, 重新打开, 上报上级 and the side
actions 督办, 延期, 挂起, 回访 and the scheduler's SLA events. Keeping the table as data lets a
refusal name the current state and the actions that *are* allowed, and lets the phone grey out
buttons from the same source.

``None`` as a next state means "the lifecycle state does not change" (a side action). The
overlay state ``suspended`` (挂起) hides the lifecycle state: while suspended only ``resume``
and ``supervise`` are allowed, and ``resume`` returns to the state the case was in.

Each lifecycle state belongs to an SLA *stage*; entering a stage (again) starts its clock
afresh. ``accept`` is the one transition that stays inside its stage: 受理 and 立案 share the
acceptance window.
"""

from collections.abc import Mapping
from typing import Final, Literal

__all__ = [
    "CASE_STAGES",
    "STAGE_OF",
    "TRANSITIONS",
    "CaseAction",
    "CaseState",
    "CaseStatus",
    "Stage",
    "Threshold",
    "actions_in",
    "next_status",
]

CaseStatus = Literal[
    "reported",
    "accepted",
    "rejected",
    "registered",
    "dispatched",
    "signed_for",
    "handled",
    "verified",
    "closed",
]
CaseState = Literal[CaseStatus, "suspended"]
CaseAction = Literal[
    "accept",
    "reject",
    "register",
    "dispatch",
    "sign_for",
    "return",
    "handle",
    "verify",
    "fail_verification",
    "close",
    "reopen",
    "report_up",
    "supervise",
    "request_delay",
    "decide_delay",
    "suspend",
    "resume",
    "record_satisfaction",
    "warn_sla",
    "breach_sla",
    "escalate",
]
Stage = Literal["acceptance", "dispatch", "sign_for", "handling", "verification", "closing"]
CASE_STAGES: Final[tuple[Stage, ...]] = (
    "acceptance",
    "dispatch",
    "sign_for",
    "handling",
    "verification",
    "closing",
)
Threshold = Literal["yellow", "red"]

_Row = Mapping[CaseAction, CaseStatus | None]
# Scheduler events: any state whose SLA clock runs.
_CLOCK: Final[_Row] = {"warn_sla": None, "breach_sla": None, "escalate": None}
# Side actions of an accepted, open case.
_ACTIVE: Final[_Row] = {
    "supervise": None,
    "request_delay": None,
    "decide_delay": None,
    "suspend": None,
    **_CLOCK,
}

TRANSITIONS: Final[Mapping[CaseState, _Row]] = {
    "reported": {"accept": "accepted", "reject": "rejected", "supervise": None, **_CLOCK},
    "accepted": {"register": "registered", "report_up": "registered", **_ACTIVE},
    "registered": {"dispatch": "dispatched", "report_up": "registered", **_ACTIVE},
    "dispatched": {
        "sign_for": "signed_for",
        "return": "registered",
        "report_up": "registered",
        **_ACTIVE,
    },
    "signed_for": {"handle": "handled", "report_up": "registered", **_ACTIVE},
    "handled": {"verify": "verified", "fail_verification": "signed_for", **_ACTIVE},
    "verified": {"close": "closed", **_ACTIVE},
    "closed": {"reopen": "registered", "record_satisfaction": None},
    "rejected": {},
    "suspended": {"resume": None, "supervise": None},
}

STAGE_OF: Final[Mapping[CaseStatus, Stage | None]] = {
    "reported": "acceptance",
    "accepted": "acceptance",
    "registered": "dispatch",
    "dispatched": "sign_for",
    "signed_for": "handling",
    "handled": "verification",
    "verified": "closing",
    "closed": None,
    "rejected": None,
}


def actions_in(state: CaseState) -> tuple[CaseAction, ...]:
    """Every action the table allows in ``state`` (before the aggregate's guards)."""
    return tuple(TRANSITIONS[state])


def next_status(state: CaseState, action: CaseAction) -> CaseStatus | None:
    """The lifecycle state after ``action``; None when it stays. KeyError if not allowed."""
    return TRANSITIONS[state][action]
