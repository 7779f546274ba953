"""Every case, visit and mediation event survives msgspec JSON with its declared types, and
the storage mapper resolves every stored topic back to its class."""

from datetime import UTC, date, datetime
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from events import SYSTEM_META, Gps, Mediation, Mediator, Party, Visit, VisitFindings
from storage.mapper import MsgspecMapper
from tests.unit.events.conftest import MEMBER, meta
from tests.unit.events.test_case import BY_HANDLER, HANDLER, SUP, TOWN, VILLAGE, case_in
from tests.unit.events.test_serialisation import assert_round_trips

HELD = datetime(2026, 3, 3, 9, tzinfo=UTC)


def through_the_mapper(aggregate: Aggregate) -> None:
    mapper = MsgspecMapper()
    for event in aggregate.collect_events():
        assert mapper.to_domain_event(mapper.to_stored_event(event)) == event
        aggregate.pending_events.append(event)  # leave them for assert_round_trips


def test_case_events_round_trip() -> None:
    case = case_in("dispatched")
    case.supervise("请尽快处理", meta=SUP)
    case.request_delay(2, "等待材料", meta=BY_HANDLER)
    case.decide_delay(False, comment="不予延期", meta=SUP)
    case.return_("不属于本网格", meta=BY_HANDLER)
    case.dispatch(unit_id=UUID(int=5), instructions="网格处理", meta=SUP)
    case.report_up(VILLAGE, 2, "需村级协调", meta=SUP)
    case.dispatch(staff_id=HANDLER, meta=SUP)
    case.sign_for(meta=BY_HANDLER)
    assert case.warn_sla("handling", case.stage_seq, meta=SYSTEM_META)
    assert case.breach_sla("handling", case.stage_seq, meta=SYSTEM_META)
    assert case.escalate(TOWN, "handling", case.stage_seq, meta=SYSTEM_META)
    case.suspend("等待鉴定", meta=SUP)
    case.resume(meta=SUP)
    case.handle("已处置", before_photos=("a" * 64,), after_photos=("b" * 64,), meta=BY_HANDLER)
    case.fail_verification("未完成", meta=SUP)
    case.handle("已处置完毕", meta=BY_HANDLER)
    case.verify(comment="合格", meta=SUP)
    case.close(summary="办结", meta=SUP)
    case.record_satisfaction(3, comment="一般", meta=SUP)
    case.reopen("复发", meta=SUP)
    through_the_mapper(case)
    assert_round_trips(
        case,
        {
            "Reported", "Accepted", "Registered", "Dispatched", "SignedFor", "Returned",
            "Handled", "Verified", "VerificationFailed", "Closed", "Reopened", "ReportedUp",
            "Supervised", "DelayRequested", "DelayDecided", "Suspended", "Resumed",
            "SatisfactionRecorded", "SlaWarned", "SlaBreached", "Escalated",
        },
    )  # fmt: skip
    rejected = case_in("rejected")
    through_the_mapper(rejected)
    assert_round_trips(rejected, {"Reported", "Rejected"})


def test_visit_events_round_trip() -> None:
    visit = Visit.record(
        visit_id=uuid4(), household_id=UUID(int=9), grid_id=UUID(int=8), purpose="routine",
        method="wechat", visited_at=HELD, findings=VisitFindings(drinking_water="problem"),
        needs=("饮水",), gps=Gps(lat=30, lng=120, accuracy_m=12), photos=("e" * 64,),
        follow_up_case_ids=(uuid4(),), meta=meta(),
    )  # fmt: skip
    visit.amend(notes="水管冻裂", needs=(), meta=meta())
    visit.void("重复录入", meta=meta())
    through_the_mapper(visit)
    assert_round_trips(visit, {"Recorded", "Amended", "Voided"})


def test_mediation_events_round_trip() -> None:
    a, b = UUID(int=601), UUID(int=602)  # not MEMBER (int=2): nobody attends twice
    m = Mediation.open(
        mediation_id=uuid4(), case_id=uuid4(),
        parties=(Party(kind="household", ref_id=a, role="applicant"),
                 Party(kind="person", ref_id=b, role="respondent")),
        mediators=(Mediator(staff_id=MEMBER, name="王网格", kind="mediator"),), meta=meta(),
    )  # fmt: skip
    m.record_session(uuid4(), HELD, "第一次调解", (a, b, MEMBER), meta=meta())
    m.conclude(
        "agreement", agreement_summary="赔偿500元", agreement_photo="f" * 64,
        follow_up_due=date(2026, 4, 1), meta=meta(),
    )  # fmt: skip
    m.record_follow_up(uuid4(), "已履行", meta=meta())
    through_the_mapper(m)
    assert_round_trips(m, {"Opened", "SessionRecorded", "Concluded", "FollowUpRecorded"})
