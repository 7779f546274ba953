"""Stories of the case's side roads: report-up (上报), delay (延期), suspension (挂起),
satisfaction (回访) and the scheduler's idempotent SLA events."""

from datetime import datetime, timedelta

import pytest

from events import CHINA_TZ, SYSTEM_META, InvalidTransition, InvalidValue
from tests.unit.events.conftest import GRID_A
from tests.unit.events.test_case import (
    BY_HANDLER,
    HANDLER,
    SUP,
    TOWN,
    VILLAGE,
    Clock,
    case_in,
    names,
)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock().install(monkeypatch)


# -- report up -----------------------------------------------------------------------------


def test_report_up_moves_the_case_to_the_parent_unit() -> None:
    # given a grid-level case dispatched to a handler
    case = case_in("dispatched", level=3)
    seq = case.stage_seq
    # when it is reported up to the village
    case.report_up(VILLAGE, 2, "需村级协调", meta=SUP)
    # then the village holds it, registered afresh and unassigned
    assert (case.holder_unit_id, case.level, case.status) == (VILLAGE, 2, "registered")
    assert (case.assignee_staff_id, case.stage, case.stage_seq) == (None, "dispatch", seq + 1)
    # and from the village it can go up to the town, but not beyond
    case.report_up(TOWN, 1, "需镇级协调", meta=SUP)
    assert case.level == 1
    assert "report_up" not in case.allowed_actions()


def test_report_up_must_go_exactly_one_level_up() -> None:
    case = case_in("registered", level=3)
    with pytest.raises(InvalidValue):
        case.report_up(TOWN, 1, "越级", meta=SUP)
    with pytest.raises(InvalidValue):
        case.report_up(GRID_A, 2, "自己", meta=SUP)


# -- delay, suspension, supervision, satisfaction ------------------------------------------


def test_a_delay_is_approved_or_rejected_one_request_at_a_time() -> None:
    case = case_in("signed_for")
    case.request_delay(3, "等待材料", meta=BY_HANDLER)
    assert case.pending_delay_days == 3
    with pytest.raises(InvalidTransition) as err:
        case.request_delay(1, "再延", meta=BY_HANDLER)
    assert "decide_delay" in err.value.details["allowed"]  # type: ignore[operator]
    assert "request_delay" not in err.value.details["allowed"]  # type: ignore[operator]
    case.decide_delay(True, meta=SUP)
    assert case.extension_days == 3
    assert case.pending_delay_days is None
    case.request_delay(2, "还需时间", meta=BY_HANDLER)
    case.decide_delay(False, comment="不予延期", meta=SUP)
    assert case.extension_days == 3
    assert names(case)[-4:] == ["DelayRequested", "DelayDecided", "DelayRequested", "DelayDecided"]


def test_a_delay_belongs_to_its_stage() -> None:
    case = case_in("signed_for")
    case.request_delay(3, "等待材料", meta=BY_HANDLER)
    case.decide_delay(True, meta=SUP)
    case.request_delay(1, "再延", meta=BY_HANDLER)
    case.handle("已处置", meta=BY_HANDLER)  # a new stage: extension and pending request lapse
    assert (case.extension_days, case.pending_delay_days) == (0, None)


@pytest.mark.parametrize("days", [0, 31, True])
def test_delay_days_are_bounded(days: int) -> None:
    with pytest.raises(InvalidValue):
        case_in("signed_for").request_delay(days, "x", meta=BY_HANDLER)


def test_suspension_stops_the_clock_and_blocks_everything_but_resume(clock: Clock) -> None:
    # given a case registered on Monday 09:00
    clock.set(2026, 3, 2, 9)
    case = case_in("registered")
    # when it is suspended at 10:00 and resumed on Tuesday at 10:00
    clock.set(2026, 3, 2, 10)
    case.suspend("等待司法鉴定", meta=SUP)
    with pytest.raises(InvalidTransition) as err:
        case.dispatch(staff_id=HANDLER, meta=SUP)
    assert err.value.details == {
        "state": "suspended", "action": "dispatch", "allowed": ["resume", "supervise"],
    }  # fmt: skip
    case.supervise("尽快鉴定", meta=SUP)
    clock.set(2026, 3, 3, 10)
    case.resume(meta=SUP)
    # then the pause is on record and 24 wall-clock hours were spent suspended
    (pause,) = case.pauses
    assert (pause.start, pause.end) == (datetime(2026, 3, 2, 10, tzinfo=CHINA_TZ), clock.now)
    assert case.paused_total == timedelta(hours=24)
    assert (case.state, case.supervisions) == ("registered", 1)
    # and a second suspension adds up
    case.suspend("再次挂起", meta=SUP)
    clock.set(2026, 3, 3, 12)
    case.resume(meta=SUP)
    assert case.paused_total == timedelta(hours=26)
    assert len(case.sla_clock().pauses) == 2


def test_satisfaction_is_recorded_once_per_closure() -> None:
    case = case_in("closed")
    case.record_satisfaction(4, comment="满意", meta=SUP)
    assert (case.satisfaction.rating, case.satisfaction.comment) == (4, "满意")  # type: ignore[union-attr]
    with pytest.raises(InvalidTransition) as err:
        case.record_satisfaction(5, meta=SUP)
    assert err.value.details["allowed"] == ["reopen"]


@pytest.mark.parametrize("rating", [0, 6, True])
def test_ratings_are_one_to_five(rating: int) -> None:
    with pytest.raises(InvalidValue):
        case_in("closed").record_satisfaction(rating, meta=SUP)


# -- scheduler events ----------------------------------------------------------------------


def test_sla_events_are_idempotent_per_stage_entry() -> None:
    # given a dispatched case
    case = case_in("dispatched")
    stage, seq = case.stage, case.stage_seq
    assert stage == "sign_for"
    # when the scheduler warns twice, breaches and escalates twice
    assert case.warn_sla(stage, seq, meta=SYSTEM_META) is True
    assert case.warn_sla(stage, seq, meta=SYSTEM_META) is False
    assert case.breach_sla(stage, seq, meta=SYSTEM_META) is True
    assert case.breach_sla(stage, seq, meta=SYSTEM_META) is False
    assert case.escalate(VILLAGE, stage, seq, meta=SYSTEM_META) is True
    assert case.escalate(VILLAGE, stage, seq, meta=SYSTEM_META) is False
    # then each was recorded once
    assert names(case)[-3:] == ["SlaWarned", "SlaBreached", "Escalated"]
    assert case.sla_clock().emitted == ("yellow", "red", "escalated")
    # and after re-entering the same stage the warnings are fresh; the old entry is stale
    case.return_("退回", meta=BY_HANDLER)
    case.dispatch(staff_id=HANDLER, meta=SUP)
    assert (case.stage, case.stage_seq) == (stage, seq + 2)
    assert case.warn_sla(stage, seq, meta=SYSTEM_META) is False
    assert case.warn_sla(stage, seq + 2, meta=SYSTEM_META) is True
    assert names(case) == ["Returned", "Dispatched", "SlaWarned"]


def test_sla_events_are_refused_while_suspended() -> None:
    case = case_in("suspended")
    with pytest.raises(InvalidTransition):
        case.warn_sla("dispatch", case.stage_seq, meta=SYSTEM_META)
