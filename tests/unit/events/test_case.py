"""Stories of the case loop (事件闭环): every transition the table allows lands where the
table says, every other action is refused naming the state and the allowed actions."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, get_args
from uuid import UUID, uuid4

import eventsourcing.domain
import pytest

from events import (
    CHINA_TZ,
    SYSTEM_META,
    TRANSITIONS,
    Case,
    CaseAction,
    CaseState,
    Gps,
    InvalidTransition,
    InvalidValue,
    NotAssignee,
    Reporter,
)
from tests.unit.events.conftest import GRID_A, MEMBER, SUPERVISOR, meta

HANDLER = UUID(int=20)
VILLAGE = UUID(int=200)
TOWN = UUID(int=300)
PHOTO, PHOTO2 = "a" * 64, "b" * 64
SUP = meta(role="supervisor", actor=SUPERVISOR)
BY_HANDLER = meta(actor=HANDLER)
CLOCK_ACTIONS = ("warn_sla", "breach_sla", "escalate")
STATES: tuple[CaseState, ...] = (
    "reported", "accepted", "registered", "dispatched", "signed_for", "handled", "verified",
    "closed", "rejected", "suspended",
)  # fmt: skip


class Clock:
    """Server time for events: eventsourcing stamps each event with ``now``."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 8, 30, tzinfo=CHINA_TZ)  # a Monday

    def set(self, year: int, month: int, day: int, hour: int, minute: int = 0) -> None:
        self.now = datetime(year, month, day, hour, minute, tzinfo=CHINA_TZ)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> "Clock":
        monkeypatch.setattr(
            eventsourcing.domain, "datetime_now_with_tzinfo", lambda: self.now.astimezone(UTC)
        )
        return self


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock().install(monkeypatch)


def report(level: int = 3, **overrides: Any) -> Case:
    fields: dict[str, Any] = {
        "case_id": uuid4(), "category": "environment", "title": "垃圾堆积",
        "description": "村口垃圾三天未清运", "location": "红星村村口",
        "reporter": Reporter(source="grid_member", staff_id=MEMBER), "level": level,
        "holder_unit_id": GRID_A, "gps": Gps(lat=30, lng=120, accuracy_m=5),
        "photos": (PHOTO, PHOTO), "meta": meta(),
    }  # fmt: skip
    return Case.report(**(fields | overrides))


ACTIONS: dict[CaseAction, Callable[[Case], object]] = {
    "accept": lambda c: c.accept(meta=SUP),
    "reject": lambda c: c.reject("重复上报", meta=SUP),
    "register": lambda c: c.register(meta=SUP),
    "dispatch": lambda c: c.dispatch(staff_id=HANDLER, meta=SUP),
    "sign_for": lambda c: c.sign_for(meta=BY_HANDLER),
    "return": lambda c: c.return_("不属于本网格", meta=BY_HANDLER),
    "handle": lambda c: c.handle(
        "已清运", before_photos=(PHOTO,), after_photos=(PHOTO2,), meta=BY_HANDLER
    ),
    "verify": lambda c: c.verify(meta=SUP),
    "fail_verification": lambda c: c.fail_verification("未清理干净", meta=SUP),
    "close": lambda c: c.close(meta=SUP, summary="已办结"),
    "reopen": lambda c: c.reopen("问题复发", meta=SUP),
    "report_up": lambda c: c.report_up(VILLAGE, c.level - 1, "需村级协调", meta=SUP),
    "supervise": lambda c: c.supervise("请尽快处理", meta=SUP),
    "request_delay": lambda c: c.request_delay(2, "等待材料", meta=BY_HANDLER),
    "decide_delay": lambda c: c.decide_delay(True, meta=SUP),
    "suspend": lambda c: c.suspend("等待司法鉴定", meta=SUP),
    "resume": lambda c: c.resume(meta=SUP),
    "record_satisfaction": lambda c: c.record_satisfaction(5, meta=SUP),
    "warn_sla": lambda c: c.warn_sla(c.stage or "closing", c.stage_seq, meta=SYSTEM_META),
    "breach_sla": lambda c: c.breach_sla(c.stage or "closing", c.stage_seq, meta=SYSTEM_META),
    "escalate": lambda c: c.escalate(TOWN, c.stage or "closing", c.stage_seq, meta=SYSTEM_META),
}
HAPPY_PATH: tuple[CaseAction, ...] = (
    "accept", "register", "dispatch", "sign_for", "handle", "verify", "close",
)  # fmt: skip


def case_in(state: CaseState, level: int = 3) -> Case:
    """A case driven from its report to ``state`` by the commands themselves."""
    case = report(level)
    if state == "rejected":
        ACTIONS["reject"](case)
    elif state == "suspended":
        case = case_in("registered", level)
        ACTIONS["suspend"](case)
    else:
        for action in HAPPY_PATH:
            if case.state == state:
                break
            ACTIONS[action](case)
    assert case.state == state
    return case


def names(case: Case) -> list[str]:
    return [type(e).__name__ for e in case.collect_events()]


# -- the table -----------------------------------------------------------------------------

ALLOWED = [(s, a) for s in STATES for a in case_in(s).allowed_actions()]
REFUSED = [
    (s, a) for s in STATES for a in get_args(CaseAction) if a not in case_in(s).allowed_actions()
]


@pytest.mark.parametrize(("state", "action"), ALLOWED)
def test_an_allowed_action_lands_where_the_table_says(state: CaseState, action: CaseAction) -> None:
    # given a case in ``state``, when the allowed action runs
    case = case_in(state)
    before = case.status
    ACTIONS[action](case)
    # then the state is the table's next state; None keeps it (resume uncovers it)
    if action == "suspend":
        assert case.state == "suspended"
    elif action == "resume":
        assert case.state == before
    else:
        assert case.state == (TRANSITIONS[state][action] or state)


@pytest.mark.parametrize(("state", "action"), REFUSED)
def test_a_refused_action_names_the_state_and_the_allowed_actions(
    state: CaseState, action: CaseAction
) -> None:
    case = case_in(state)
    case.collect_events()
    allowed = list(case.allowed_actions())
    if action in CLOCK_ACTIONS and case.stage is None:
        # the scheduler racing a closure: a stale clock event is a no-op, not an error
        assert ACTIONS[action](case) is False
    else:
        with pytest.raises(InvalidTransition) as err:
            ACTIONS[action](case)
        assert err.value.errcode == 40910
        assert err.value.details["state"] == state
        assert err.value.details["allowed"] == allowed
        assert err.value.details["action"] == action
    assert case.collect_events() == []


def test_terminal_and_suspended_states_allow_little() -> None:
    assert case_in("rejected").allowed_actions() == ()
    assert case_in("suspended").allowed_actions() == ("resume", "supervise")
    assert case_in("closed").allowed_actions() == ("reopen", "record_satisfaction")


# -- the closed loop -----------------------------------------------------------------------


def test_the_happy_path_from_report_to_closure(clock: Clock) -> None:
    # given a report at 08:30 on Monday
    case = report()
    assert (case.status, case.stage, case.stage_seq) == ("reported", "acceptance", 1)
    assert case.stage_entered_at == clock.now
    assert case.photos == (PHOTO,)  # the repeated photo is dropped
    assert case.gps == Gps(lat=30.0, lng=120.0, accuracy_m=5.0)
    # when it is accepted at 09:00, the acceptance stage goes on (受理 and 立案 share it)
    clock.set(2026, 3, 2, 9)
    case.accept(meta=SUP)
    assert (case.stage, case.stage_seq) == ("acceptance", 1)
    # and each further step enters a new stage at the event's server time
    expected = [
        ("registered", "dispatch"), ("dispatched", "sign_for"), ("signed_for", "handling"),
        ("handled", "verification"), ("verified", "closing"), ("closed", None),
    ]  # fmt: skip
    for hour, action, (status, stage) in zip(range(10, 16), HAPPY_PATH[1:], expected, strict=True):
        clock.set(2026, 3, 2, hour)
        ACTIONS[action](case)
        assert (case.status, case.stage, case.stage_entered_at) == (status, stage, clock.now)
    assert case.stage_seq == 7
    assert (case.assignee_staff_id, case.result, case.after_photos) == (
        HANDLER,
        "已清运",
        (PHOTO2,),
    )
    assert names(case) == [
        "Reported", "Accepted", "Registered", "Dispatched", "SignedFor", "Handled", "Verified",
        "Closed",
    ]  # fmt: skip


def test_reject_is_final_with_its_reason() -> None:
    case = case_in("rejected")
    assert (case.last_reason, case.stage) == ("重复上报", None)


@pytest.mark.parametrize(
    "overrides",
    [
        {"level": 5},
        {"title": "  "},
        {"photos": ("A" * 64,)},
        {"photos": ("a" * 63,)},
        {"gps": Gps(lat=91, lng=120)},
        {"gps": Gps(lat=30, lng=181)},
        {"gps": Gps(lat=30, lng=120, accuracy_m=-1)},
        {"reporter": Reporter(source="grid_member")},
        {"reporter": Reporter(source="resident")},
        {"reporter": Reporter(source="hotline", contact_phone="12345")},
        {"reporter": Reporter(source="neighbour", staff_id=MEMBER)},  # type: ignore[arg-type]
    ],
)
def test_a_report_with_a_bad_field_is_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(InvalidValue):
        report(**overrides)


def test_a_resident_report_keeps_the_contact_and_a_staff_report_drops_it() -> None:
    resident = Reporter(source="resident", contact_name=" 王大妈 ", contact_phone="13900001111")
    assert report(reporter=resident).reporter == Reporter(
        source="resident", contact_name="王大妈", contact_phone="13900001111"
    )
    staff = Reporter(source="superior", staff_id=SUPERVISOR, contact_name="x")
    assert report(reporter=staff).reporter == Reporter(source="superior", staff_id=SUPERVISOR)


def test_dispatch_goes_to_exactly_one_staff_member_or_unit() -> None:
    case = case_in("registered")
    with pytest.raises(InvalidValue):
        case.dispatch(meta=SUP)
    with pytest.raises(InvalidValue):
        case.dispatch(staff_id=HANDLER, unit_id=GRID_A, meta=SUP)


def test_only_the_assignee_signs_for_a_case() -> None:
    case = case_in("dispatched")
    with pytest.raises(NotAssignee) as err:
        case.sign_for(meta=meta(actor=UUID(int=99)))
    assert err.value.errcode == 40340
    with pytest.raises(NotAssignee):
        case.sign_for(meta=SYSTEM_META)
    case.sign_for(meta=BY_HANDLER)
    assert case.status == "signed_for"


def test_a_unit_assignment_gets_a_named_handler_when_signed() -> None:
    case = case_in("registered")
    case.dispatch(unit_id=GRID_A, instructions="请网格内处理", meta=SUP)
    case.sign_for(meta=meta(actor=MEMBER))
    assert (case.assignee_staff_id, case.assignee_unit_id) == (MEMBER, GRID_A)


def test_return_sends_the_case_back_for_dispatch_with_a_fresh_clock(clock: Clock) -> None:
    case = case_in("dispatched")
    seq = case.stage_seq
    clock.set(2026, 3, 3, 9)
    case.return_("不属于本网格", meta=BY_HANDLER)
    assert (case.status, case.stage, case.stage_seq) == ("registered", "dispatch", seq + 1)
    assert (case.assignee_staff_id, case.last_reason) == (None, "不属于本网格")
    assert case.stage_entered_at == clock.now


def test_failed_verification_goes_back_to_handling() -> None:
    case = case_in("handled")
    seq = case.stage_seq
    case.fail_verification("未清理干净", meta=SUP)
    assert (case.status, case.stage, case.stage_seq) == ("signed_for", "handling", seq + 1)
    assert case.assignee_staff_id == HANDLER


def test_reopen_registers_the_case_again() -> None:
    case = case_in("closed")
    case.record_satisfaction(2, comment="问题复发", meta=SUP)
    case.reopen("问题复发", meta=SUP)
    assert (case.status, case.stage, case.satisfaction) == ("registered", "dispatch", None)


def test_reasons_are_required() -> None:
    with pytest.raises(InvalidValue):
        case_in("reported").reject(" ", meta=SUP)
