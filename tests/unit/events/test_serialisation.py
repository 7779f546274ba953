"""Every event survives msgspec JSON with its declared field types (the storage mapper contract).

Decoding uses only the event class's type hints, as a msgspec mapper would; the decoded
values must equal the originals, rebuild an equal event and replay into an equal aggregate.
"""

import dataclasses
import typing
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.domain import Aggregate, CanMutateAggregate

from events import FieldChange, GridUnit, Staff
from tests.unit.events.conftest import GRID_B, meta, person, register

NOW = datetime(2024, 3, 1, 9, tzinfo=UTC)


def field_types(event_class: type[Any]) -> list[tuple[str, Any]]:
    hints = typing.get_type_hints(event_class)
    # originator_id is declared with eventsourcing's TypeVar; an Aggregate's ids are UUIDs.
    hints["originator_id"] = UUID
    return [(f.name, hints[f.name]) for f in dataclasses.fields(event_class)]


def round_trip(event: CanMutateAggregate[UUID]) -> CanMutateAggregate[UUID]:
    data = msgspec.json.encode(vars(event))
    shape = msgspec.defstruct("Payload", field_types(type(event)), kw_only=True)
    decoded = msgspec.json.decode(data, type=shape)
    values = msgspec.structs.asdict(decoded)
    assert values == vars(event)
    for name, value in values.items():
        assert type(value) is type(vars(event)[name]), name
    rebuilt: CanMutateAggregate[UUID] = type(event)(**values)
    return rebuilt


def assert_round_trips(aggregate: Aggregate, expected: set[str]) -> None:
    events = aggregate.collect_events()
    assert {type(e).__name__ for e in events} == expected
    rebuilt = [round_trip(e) for e in events]
    assert rebuilt == list(events)
    replayed: Any = None
    for e in rebuilt:
        replayed = e.mutate(replayed)
    assert replayed == aggregate


def test_grid_unit_events_round_trip() -> None:
    town = GridUnit.create(
        code="330102001000", name="青山镇", level=1, parent_id=None, parent_level=None,
        parent_code=None, effective_from=date(2024, 1, 1), meta=meta(role="admin"),
    )  # fmt: skip
    town.rename("青山街道", date(2024, 2, 1), meta=meta())
    town.retire(date(2024, 3, 1), "撤并", meta=meta())
    village = GridUnit.create(
        code="330102001201", name="红星村", level=2, parent_id=town.id, parent_level=1,
        parent_code=town.code, effective_from=date(2024, 1, 1), meta=meta(),
    )  # fmt: skip
    village.move(GRID_B, 1, date(2024, 2, 1), meta=meta())
    assert_round_trips(town, {"Created", "Renamed", "Retired"})
    assert_round_trips(village, {"Created", "Moved"})


def test_staff_events_round_trip() -> None:
    s = Staff.appoint(
        name="王网格", work_phone="13812341234", role="grid_member", scope_unit_id=GRID_B,
        effective_from=date(2024, 1, 1), meta=meta(role="admin"),
    )  # fmt: skip
    s.reassign("grid_head", UUID(int=7), date(2024, 2, 1), meta=meta())
    s.issue_binding_code("h", NOW + timedelta(days=1), meta=meta())
    s.bind_wechat("openid-hash", "h", NOW, meta=meta())
    s.unbind_wechat("lost", meta=meta())
    s.relieve(date(2024, 4, 1), "调离", meta=meta())
    assert_round_trips(
        s,
        {
            "Appointed", "Reassigned", "BindingCodeIssued", "WechatBound", "WechatUnbound",
            "Relieved",
        },
    )  # fmt: skip


def test_household_events_round_trip() -> None:
    head = person("张三", "户主", tags=("party_member",))
    spouse = person("李四", "配偶", phone=None, birth=None)
    hh = register(head, spouse)
    hh.update((FieldChange(path="phone", value="13700000001"),), 1, meta=meta())
    (cid,) = hh.update((FieldChange(path="phone", value="13700000002"),), 1, meta=meta())
    hh.resolve_conflict(cid, None, meta=meta(role="supervisor"))
    child = person("张小三", "子女", birth=date(2015, 1, 1))
    hh.add_person(child, meta=meta())
    hh.tag_person(child.person_id, "left_behind_child", meta=meta())
    hh.untag_person(child.person_id, "left_behind_child", meta=meta())
    hh.remove_person(child.person_id, "moved_out", meta=meta())
    hh.move_to_grid(GRID_B, date(2024, 6, 1), meta=meta())
    hh.dissolve("整户迁出", date(2024, 12, 1), meta=meta())
    assert_round_trips(
        hh,
        {
            "Registered", "FieldsUpdated", "ConflictRecorded", "ConflictResolved", "PersonAdded",
            "PersonTagged", "PersonUntagged", "PersonRemoved", "MovedToGrid", "Dissolved",
        },
    )  # fmt: skip
