"""Stories of the grid tree: creation rules, effective-dated history, retirement."""

from collections.abc import Callable, Sequence
from datetime import date
from uuid import UUID

import pytest
from eventsourcing.domain import CanMutateAggregate
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.popo import POPOAggregateRecorder

from events import GridUnit, InvalidGridCode, InvalidTransition, InvalidValue
from tests.unit.events.conftest import meta

TOWN = "330102001000"
VILLAGE = "330102001201"
GRID = VILLAGE + "003"
MICRO = GRID + "07"
D1, D2, D3 = date(2024, 1, 1), date(2024, 6, 1), date(2025, 1, 1)


def town() -> GridUnit:
    return GridUnit.create(
        code=TOWN, name=" 青山镇 ", level=1, parent_id=None, parent_level=None,
        parent_code=None, effective_from=D1, meta=meta(role="admin"),
    )  # fmt: skip


def child(parent: GridUnit, code: str, level: int, name: str = "单元") -> GridUnit:
    return GridUnit.create(
        code=code, name=name, level=level, parent_id=parent.id, parent_level=parent.level,
        parent_code=parent.code, effective_from=D1, meta=meta(role="admin"),
    )  # fmt: skip


def test_creating_a_tree_of_four_levels() -> None:
    # given a town, when a village, grid and micro-grid are created under it
    t = town()
    v = child(t, VILLAGE, 2, "红星村")
    g = child(v, GRID, 3, "第三网格")
    m = child(g, MICRO, 4, "十户联防7")
    # then each id derives from its code and each parent is one level up
    assert t.id == GridUnit.id_for_code(TOWN)
    assert t.name == "青山镇"  # stripped
    assert (v.parent_id, g.parent_id, m.parent_id) == (t.id, v.id, g.id)
    assert m.code == MICRO
    assert m.level == 4
    assert m.status == "active"
    assert [type(e).__name__ for e in m.collect_events()] == ["Created"]


@pytest.mark.parametrize(
    ("code", "level", "why"),
    [
        ("33010200100", 1, "11 digits"),
        ("33010200100a", 1, "not digits"),
        ("330102001000", 5, "no level 5"),
    ],
)
def test_level_one_code_shape(code: str, level: int, why: str) -> None:
    with pytest.raises(InvalidGridCode):
        GridUnit.create(
            code=code, name="镇", level=level, parent_id=None, parent_level=None,
            parent_code=None, effective_from=D1, meta=meta(),
        )  # fmt: skip


def test_level_one_has_no_parent() -> None:
    with pytest.raises(InvalidGridCode):
        GridUnit.create(
            code=TOWN, name="镇", level=1, parent_id=UUID(int=9), parent_level=None,
            parent_code=None, effective_from=D1, meta=meta(),
        )  # fmt: skip
    with pytest.raises(InvalidGridCode):
        GridUnit.create(
            code=TOWN, name="镇", level=1, parent_id=None, parent_level=0,
            parent_code="000000000000", effective_from=D1, meta=meta(),
        )  # fmt: skip


@pytest.mark.parametrize(
    ("code", "level"),
    [
        ("330102002201", 2),  # village of another town (prefix differs)
        (TOWN, 2),  # village code equal to the town's
        (VILLAGE + "03", 3),  # grid needs 3 more digits
        ("330102001202003", 3),  # grid under another village
    ],
)
def test_child_code_must_extend_the_parent(code: str, level: int) -> None:
    t = town()
    v = child(t, VILLAGE, 2)
    parent = t if level == 2 else v
    with pytest.raises(InvalidGridCode):
        child(parent, code, level)


def test_parent_must_be_exactly_one_level_up() -> None:
    t = town()
    with pytest.raises(InvalidGridCode):
        child(t, TOWN + "003", 3)  # grid directly under a town


def test_non_root_needs_a_parent_id() -> None:
    with pytest.raises(InvalidGridCode):
        GridUnit.create(
            code=VILLAGE, name="村", level=2, parent_id=None, parent_level=1,
            parent_code=TOWN, effective_from=D1, meta=meta(),
        )  # fmt: skip


@pytest.mark.parametrize("name", ["", "   ", "长" * 65])
def test_names_are_non_empty_and_short(name: str) -> None:
    with pytest.raises(InvalidValue):
        child(town(), VILLAGE, 2, name)


def test_codes_are_never_reused_even_after_retirement() -> None:
    # given a village that was created, saved and retired
    # (the recorder's unique key is (originator_id, originator_version), as in PostgreSQL)
    recorder = POPOAggregateRecorder()
    t = town()
    v = child(t, VILLAGE, 2, "红星村")
    v.retire(D2, "合并", meta=meta(role="admin"))
    recorder.insert_events(stored(v.collect_events()))
    # when someone creates a new unit with the same code
    again = child(t, VILLAGE, 2, "新村")
    # then it has the same id and the event store refuses a second version 1
    assert again.id == v.id
    with pytest.raises(IntegrityError):
        recorder.insert_events(stored(again.collect_events()))


def stored(events: Sequence[CanMutateAggregate[UUID]]) -> list[StoredEvent]:
    """Position-only stored events: the storage mapper is not under test here."""
    return [
        StoredEvent(
            originator_id=e.originator_id,
            originator_version=e.originator_version,
            topic=type(e).__qualname__,
            state=b"",
        )
        for e in events
    ]


def test_rename_is_effective_dated() -> None:
    # given a village renamed from D2
    v = child(town(), VILLAGE, 2, "红星村")
    v.rename("红星社区", D2, meta=meta(role="admin"))
    # then as_of tells the name on each day, and nothing before creation
    assert v.as_of(date(2023, 12, 31)) is None
    before = v.as_of(date(2024, 5, 31))
    after = v.as_of(D2)
    assert before is not None
    assert after is not None
    assert (before.name, after.name) == ("红星村", "红星社区")
    assert after.effective_from == D2
    assert v.name == "红星社区"


def test_rename_to_same_name_is_a_no_op() -> None:
    v = child(town(), VILLAGE, 2, "红星村")
    v.collect_events()
    v.rename(" 红星村 ", D2, meta=meta())
    assert v.collect_events() == []


def test_effective_dates_may_not_go_backwards() -> None:
    v = child(town(), VILLAGE, 2, "红星村")
    v.rename("甲", D2, meta=meta())
    with pytest.raises(InvalidValue) as exc:
        v.rename("乙", D1, meta=meta())
    assert exc.value.details["previous"] == D2.isoformat()
    v.rename("丙", D2, meta=meta())  # same day is allowed; the later change wins
    snap = v.as_of(D2)
    assert snap is not None
    assert snap.name == "丙"


def test_move_changes_parent_but_keeps_code() -> None:
    # given a grid under village A and another village B of the same town
    t = town()
    a = child(t, VILLAGE, 2)
    b = child(t, "330102001202", 2)
    g = child(a, GRID, 3)
    # when the grid moves to B from D2
    g.move(b.id, 2, D2, meta=meta(role="admin"))
    # then the parent changes from D2 on and the code stays
    old, new = g.as_of(D1), g.as_of(D3)
    assert old is not None
    assert new is not None
    assert (old.parent_id, new.parent_id) == (a.id, b.id)
    assert g.code == GRID
    g.collect_events()
    g.move(b.id, 2, D3, meta=meta())  # already there: no-op
    assert g.collect_events() == []


def test_move_rules() -> None:
    t = town()
    v = child(t, VILLAGE, 2)
    g = child(v, GRID, 3)
    with pytest.raises(InvalidValue):
        g.move(g.id, 2, D2, meta=meta())  # to itself
    with pytest.raises(InvalidGridCode):
        g.move(t.id, 1, D2, meta=meta())  # two levels up
    with pytest.raises(InvalidGridCode):
        t.move(v.id, 0, D2, meta=meta())  # a town has no parent
    with pytest.raises(InvalidValue):
        g.move(UUID(int=7), 2, date(2023, 1, 1), meta=meta())  # backwards


def test_retired_unit_refuses_every_command() -> None:
    # given a retired grid
    g = child(child(town(), VILLAGE, 2), GRID, 3)
    g.retire(D2, "撤并", meta=meta(role="admin"))
    assert g.status == "retired"
    snap = g.as_of(D3)
    assert snap is not None
    assert snap.status == "retired"
    # then rename, move and retire raise InvalidTransition with the state
    commands: list[Callable[[], None]] = [
        lambda: g.rename("新", D3, meta=meta()),
        lambda: g.move(UUID(int=5), 2, D3, meta=meta()),
        lambda: g.retire(D3, "again", meta=meta()),
    ]
    for command in commands:
        with pytest.raises(InvalidTransition) as exc:
            command()
        assert exc.value.details["state"] == "retired"


def test_retire_needs_a_reason() -> None:
    g = child(child(town(), VILLAGE, 2), GRID, 3)
    with pytest.raises(InvalidValue):
        g.retire(D2, " ", meta=meta())
