"""Stories of the household file: registration, members, tags, grid history, dissolution."""

from collections.abc import Callable
from datetime import date
from uuid import uuid4

import msgspec
import pytest

from events import (
    FieldChange,
    Household,
    InvalidTransition,
    InvalidValue,
    NotFound,
    PersonRecord,
)
from tests.unit.events.conftest import DAY, GRID_A, GRID_B, id_number, meta, person, register


def test_registration_derives_the_id_from_the_household_number(household: Household) -> None:
    assert household.id == Household.id_for_number("HH-0001")
    assert household.id == Household.id_for_number(" HH-0001 ")
    assert household.version == 1
    assert household.grid_id == GRID_A
    assert len(household.persons) == 2


def test_reimporting_the_same_number_targets_the_same_aggregate() -> None:
    # the event store then refuses the second Created event (see the grid story)
    assert register(person()).id == register(person()).id


@pytest.mark.parametrize(
    "members",
    [
        (),  # no 户主 at all
        ("配偶",),
        ("户主", "户主"),
    ],
)
def test_exactly_one_head_of_household(members: tuple[str, ...]) -> None:
    with pytest.raises(InvalidValue) as exc:
        Household.register(
            household_no="HH-9", grid_id=GRID_A, address="某村", phone=None,
            persons=tuple(person(relation=r) for r in members), effective_from=DAY, meta=meta(),
        )  # fmt: skip
    assert exc.value.details["field"] == "relation"


@pytest.mark.parametrize(
    "bad",
    [
        {"phone": "12345"},
        {"tags": ("vip",)},
        {"relation": "舅舅"},
    ],
)
def test_person_fields_are_validated(bad: dict[str, object]) -> None:
    with pytest.raises(InvalidValue):
        register(person(**bad))  # type: ignore[arg-type]


def test_registration_checks_id_number_checksums() -> None:
    valid = id_number("11010519700501001")
    wrong = valid[:17] + ("1" if valid[17] != "1" else "2")
    with pytest.raises(InvalidValue) as exc:
        register(person(idno=wrong))
    assert exc.value.details["field"] == "id_number"


def test_person_values_are_normalised() -> None:
    idno = id_number("11010519491231002")
    hh = register(person(name=" 张三 ", idno=idno.lower(), tags=("dibao", "dibao")))
    (p,) = hh.persons.values()
    assert (p.name, p.id_number, p.tags) == ("张三", idno.upper(), ("dibao",))


def test_duplicate_person_ids_and_id_numbers_are_rejected() -> None:
    a = person()
    with pytest.raises(InvalidValue):
        register(a, msgspec.structs.replace(a, relation="子女"))
    idno = id_number("11010519700501001")
    with pytest.raises(InvalidValue):
        register(person(idno=idno), person("李四", "配偶", idno=idno))


def test_address_is_required() -> None:
    with pytest.raises(InvalidValue):
        Household.register(
            household_no="HH-9", grid_id=GRID_A, address=" ", phone=None,
            persons=(person(),), effective_from=DAY, meta=meta(),
        )  # fmt: skip


def test_adding_and_removing_members(household: Household, head: PersonRecord) -> None:
    # given a household, when a child is added and later moves out
    child = person("张小三", "子女", birth=date(2015, 3, 1), phone=None)
    household.add_person(child, meta=meta())
    household.remove_person(child.person_id, "moved_out", meta=meta())
    # then the child is no longer a member and its paths are gone
    assert child.person_id not in household.persons
    assert household.removed[child.person_id] == "moved_out"
    with pytest.raises(InvalidValue):
        household.update(
            (FieldChange(path=f"persons/{child.person_id}/name", value="x"),), 3, meta=meta()
        )
    # and its id may not be reused in this household
    with pytest.raises(InvalidValue):
        household.add_person(child, meta=meta())


def test_member_rules(household: Household, head: PersonRecord) -> None:
    with pytest.raises(InvalidValue):
        household.add_person(person("王五", "户主"), meta=meta())  # a second head
    with pytest.raises(InvalidValue):
        household.remove_person(head.person_id, "deceased", meta=meta())  # replace head first
    with pytest.raises(NotFound):
        household.remove_person(uuid4(), "deceased", meta=meta())
    with pytest.raises(InvalidValue):
        household.remove_person(head.person_id, "vanished", meta=meta())  # type: ignore[arg-type]


def test_tags_are_set_like(household: Household, spouse: PersonRecord) -> None:
    household.tag_person(spouse.person_id, "disabled", meta=meta())
    household.tag_person(spouse.person_id, "disabled", meta=meta())  # no-op
    assert household.persons[spouse.person_id].tags == ("disabled",)
    household.untag_person(spouse.person_id, "disabled", meta=meta())
    household.untag_person(spouse.person_id, "disabled", meta=meta())  # no-op
    assert household.persons[spouse.person_id].tags == ()
    names = [type(e).__name__ for e in household.collect_events()]
    assert names == ["PersonTagged", "PersonUntagged"]


def test_tag_rules(household: Household, spouse: PersonRecord) -> None:
    with pytest.raises(InvalidValue):
        household.tag_person(spouse.person_id, "vip", meta=meta())
    with pytest.raises(NotFound):
        household.tag_person(uuid4(), "dibao", meta=meta())
    with pytest.raises(NotFound):
        household.untag_person(uuid4(), "dibao", meta=meta())


def test_grid_history_is_effective_dated(household: Household) -> None:
    # given a household in grid A, when it moves to grid B from June
    household.move_to_grid(GRID_B, date(2024, 6, 1), meta=meta(role="grid_head"))
    household.move_to_grid(GRID_B, date(2024, 7, 1), meta=meta())  # same grid: no-op
    # then the history answers for each day
    assert household.grid_on(date(2023, 12, 31)) is None
    assert household.grid_on(date(2024, 5, 31)) == GRID_A
    assert household.grid_on(date(2024, 6, 1)) == GRID_B
    assert [h.grid_id for h in household.history] == [GRID_A, GRID_B]
    with pytest.raises(InvalidValue):
        household.move_to_grid(GRID_A, date(2024, 2, 1), meta=meta())


def test_dissolved_household_refuses_every_command(
    household: Household, spouse: PersonRecord
) -> None:
    # given a household dissolved in December
    household.dissolve("整户迁出", date(2024, 12, 1), meta=meta(role="admin"))
    assert household.dissolved
    pid = spouse.person_id
    # then every command raises InvalidTransition
    commands: list[Callable[[], object]] = [
        lambda: household.update((FieldChange(path="notes", value="x"),), 1, meta=meta()),
        lambda: household.resolve_conflict(uuid4(), "x", meta=meta()),
        lambda: household.add_person(person("赵六", "子女"), meta=meta()),
        lambda: household.remove_person(pid, "other", meta=meta()),
        lambda: household.tag_person(pid, "dibao", meta=meta()),
        lambda: household.untag_person(pid, "dibao", meta=meta()),
        lambda: household.move_to_grid(GRID_B, date(2025, 1, 1), meta=meta()),
        lambda: household.dissolve("again", date(2025, 1, 1), meta=meta()),
    ]
    for command in commands:
        with pytest.raises(InvalidTransition) as exc:
            command()
        assert exc.value.details["state"] == "dissolved"


def test_dissolve_rules(household: Household) -> None:
    with pytest.raises(InvalidValue):
        household.dissolve("", date(2024, 12, 1), meta=meta())
    with pytest.raises(InvalidValue):
        household.dissolve("迁出", date(2023, 12, 1), meta=meta())
