"""The msgspec mapper stores every domain event and gives it back exactly (types included)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import MapperDeserialisationError, StoredEvent

from events.grid import GridUnit
from events.household import Household
from events.household_fields import FieldChange, PersonRecord
from events.meta import EventMeta
from events.staff import Staff
from storage.mapper import MsgspecMapper

META = EventMeta(
    actor_id=uuid4(),
    role="admin",
    device_id="phone-1",
    client_time=datetime(2026, 3, 1, 8, 30, tzinfo=UTC),
    scope_unit_ids=(uuid4(),),
)
TOWN = "330782109000"


def _grid_events() -> list[Any]:
    town = GridUnit.create(
        code=TOWN,
        name="青石镇",
        level=1,
        parent_id=None,
        parent_level=None,
        parent_code=None,
        effective_from=date(2026, 1, 1),
        meta=META,
    )
    village = GridUnit.create(
        code=TOWN[:9] + "201",
        name="王村",
        level=2,
        parent_id=town.id,
        parent_level=1,
        parent_code=TOWN,
        effective_from=date(2026, 1, 1),
        meta=META,
    )
    village.rename("王家村", date(2026, 2, 1), meta=META)
    village.move(town.id, 1, date(2026, 3, 1), meta=META)
    village.retire(date(2026, 4, 1), "撤并", meta=META)
    return [*town.collect_events(), *village.collect_events()]


def _staff_events() -> list[Any]:
    staff = Staff.appoint(
        name="李四",
        work_phone="0579-85123456",
        role="grid_member",
        scope_unit_id=uuid4(),
        effective_from=date(2026, 1, 1),
        meta=META,
    )
    staff.reassign("grid_head", uuid4(), date(2026, 2, 1), meta=META)
    now = datetime(2026, 2, 2, tzinfo=UTC)
    staff.issue_binding_code("a" * 64, now + timedelta(days=1), meta=META)
    staff.bind_wechat("b" * 64, "a" * 64, now, meta=META)
    staff.unbind_wechat("换手机", meta=META)
    staff.relieve(date(2026, 3, 1), "调离", meta=META)
    return list(staff.collect_events())


def _household_events() -> list[Any]:
    head = PersonRecord(
        person_id=uuid4(),
        name="王五",
        gender="male",
        birth_date=date(1970, 5, 1),
        id_number=None,
        phone="13800001234",
        relation="户主",
        tags=("party_member",),
    )
    child = PersonRecord(
        person_id=uuid4(),
        name="王小",
        gender="female",
        birth_date=date(2018, 6, 1),
        id_number=None,
        phone=None,
        relation="子女",
    )
    household = Household.register(
        household_no="H-1",
        grid_id=uuid4(),
        address="王村 1 号",
        phone=None,
        persons=(head,),
        effective_from=date(2026, 1, 1),
        meta=META,
    )
    household.add_person(child, meta=META)
    household.update((FieldChange(path="address", value="王村 2 号"),), 1, meta=META)
    household.update((FieldChange(path="address", value="王村 3 号"),), 1, meta=META)
    conflict = next(iter(household.conflicts))
    household.resolve_conflict(conflict, "王村 3 号", meta=META)
    household.tag_person(child.person_id, "left_behind_child", meta=META)
    household.untag_person(child.person_id, "left_behind_child", meta=META)
    household.remove_person(child.person_id, "moved_out", meta=META)
    household.move_to_grid(uuid4(), date(2026, 5, 1), meta=META)
    household.dissolve("迁出", date(2026, 6, 1), meta=META)
    return list(household.collect_events())


@pytest.mark.parametrize(
    "events",
    [_grid_events(), _staff_events(), _household_events()],
    ids=["grid", "staff", "household"],
)
def test_every_event_round_trips_with_its_types(events: list[Aggregate.Event]) -> None:
    mapper = MsgspecMapper()
    for event in events:
        # when an event is stored and read back
        stored = mapper.to_stored_event(event)
        back = mapper.to_domain_event(stored)
        # then it is the same event, field by field and type by type
        assert type(back) is type(event)
        assert vars(back) == vars(event)
        assert {k: type(v) for k, v in vars(back).items()} == {
            k: type(v) for k, v in vars(event).items()
        }


def test_the_stored_state_is_compact_json_without_the_record_fields() -> None:
    event = _grid_events()[0]
    stored = MsgspecMapper().to_stored_event(event)
    assert stored.state.startswith(b"{")
    assert b"originator_id" not in stored.state
    assert b'"code":"330782109000"' in stored.state


def test_a_payload_that_does_not_match_its_class_fails_loudly() -> None:
    event = _grid_events()[0]
    good = MsgspecMapper().to_stored_event(event)
    bad = StoredEvent(
        originator_id=good.originator_id,
        originator_version=1,
        topic=good.topic,
        state=good.state.replace(b'"level":1', b'"level":"one"'),
    )
    with pytest.raises(MapperDeserialisationError, match="does not decode"):
        MsgspecMapper().to_domain_event(bad)
