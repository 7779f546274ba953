"""Stories of visits (走访/入户): recording under the phone's id, amendments, voiding."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import IntegrityError
from eventsourcing.popo import POPOAggregateRecorder

from events import Gps, InvalidTransition, InvalidValue, Visit, VisitFindings, VisitRevision
from tests.unit.events.conftest import GRID_A, meta
from tests.unit.events.test_grid import stored

HOUSEHOLD = UUID(int=500)
WHEN = datetime(2026, 3, 2, 10, tzinfo=UTC)


def record(visit_id: UUID | None = None, **overrides: Any) -> Visit:
    fields: dict[str, Any] = {
        "visit_id": visit_id or uuid4(), "household_id": HOUSEHOLD, "grid_id": GRID_A,
        "purpose": "poverty_monitoring", "method": "in_person", "visited_at": WHEN,
        "findings": VisitFindings(
            food_clothing="ok", drinking_water="ok", housing_safety="problem",
            notes=" 屋顶漏雨 ",
        ),
        "needs": ("危房改造", "危房改造", " 医保续费 "), "gps": Gps(lat=30, lng=120),
        "photos": ("c" * 64,), "follow_up_case_ids": (UUID(int=7), UUID(int=7)), "meta": meta(),
    }  # fmt: skip
    return Visit.record(**(fields | overrides))


def test_a_visit_is_recorded_under_the_phone_id() -> None:
    visit_id = uuid4()
    visit = record(visit_id)
    assert visit.id == visit_id
    assert visit.findings.problems == ("housing_safety",)
    assert visit.findings.notes == "屋顶漏雨"
    assert visit.findings.basic_medical == "not_checked"
    assert visit.needs == ("危房改造", "医保续费")
    assert visit.gps == Gps(lat=30.0, lng=120.0)
    assert visit.follow_up_case_ids == (UUID(int=7),)
    assert (visit.state, visit.allowed_actions()) == ("recorded", ("amend", "void"))


def test_re_sending_a_visit_hits_the_same_aggregate() -> None:
    recorder = POPOAggregateRecorder()
    visit_id = uuid4()
    recorder.insert_events(stored(record(visit_id).collect_events()))
    with pytest.raises(IntegrityError):
        recorder.insert_events(stored(record(visit_id).collect_events()))


@pytest.mark.parametrize(
    "overrides",
    [
        {"purpose": "chat"},
        {"method": "letter"},
        {"findings": VisitFindings(food_clothing="bad")},  # type: ignore[arg-type]
        {"findings": VisitFindings(notes="x" * 1001)},
        {"visited_at": datetime(2026, 3, 2, 10)},
        {"gps": Gps(lat=-91, lng=0)},
        {"gps": Gps(lat=float("nan"), lng=0)},
        {"photos": ("not-a-hash",)},
        {"needs": ("",)},
        {"needs": tuple(f"需求{i}" for i in range(21))},
    ],
)
def test_a_visit_with_a_bad_field_is_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(InvalidValue):
        record(**overrides)


def test_an_amendment_keeps_the_history() -> None:
    visit = record()
    visit.collect_events()
    visit.amend(notes="屋顶漏雨，已上报", meta=meta())
    visit.amend(needs=(), meta=meta())
    visit.amend(notes="屋顶漏雨，已上报", needs=(), meta=meta())  # nothing changes: no event
    assert visit.findings.notes == "屋顶漏雨，已上报"
    assert visit.needs == ()
    assert visit.revisions == [
        VisitRevision(notes="屋顶漏雨", needs=("危房改造", "医保续费")),
        VisitRevision(notes="屋顶漏雨，已上报", needs=("危房改造", "医保续费")),
    ]
    assert [type(e).__name__ for e in visit.collect_events()] == ["Amended", "Amended"]
    visit.amend(notes="", meta=meta())
    assert visit.findings.notes is None


def test_a_voided_visit_stays_but_takes_no_more_commands() -> None:
    visit = record()
    visit.void("误录入：走错户", meta=meta())
    assert (visit.voided, visit.state, visit.allowed_actions()) == (True, "voided", ())
    commands: list[Callable[[], None]] = [
        lambda: visit.amend(notes="x", meta=meta()),
        lambda: visit.void("again", meta=meta()),
    ]
    for command in commands:
        with pytest.raises(InvalidTransition) as err:
            command()
        assert (err.value.details["state"], err.value.details["allowed"]) == ("voided", [])


def test_a_void_needs_a_reason() -> None:
    with pytest.raises(InvalidValue):
        record().void(" ", meta=meta())
