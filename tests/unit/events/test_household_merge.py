"""Offline edits against a base version: apply, merge field by field, or record a conflict."""

from uuid import uuid4

import pytest

from events import (
    FieldChange,
    Household,
    InvalidTransition,
    InvalidValue,
    NotFound,
    PersonRecord,
    StaleBaseVersion,
)
from tests.unit.events.conftest import id_number, meta

PHONE_A, PHONE_B, PHONE_C = "13700000001", "13700000002", "13700000003"


def change(path: str, value: str | None) -> tuple[FieldChange, ...]:
    return (FieldChange(path=path, value=value),)


def event_names(hh: Household) -> list[str]:
    return [type(e).__name__ for e in hh.collect_events()]


def test_an_edit_on_the_current_version_applies(household: Household, spouse: PersonRecord) -> None:
    # given version 1, when a member edits the address and the spouse's phone
    conflicts = household.update(
        (
            FieldChange(path="address", value=" 青山镇红星村3组14号 "),
            FieldChange(path=f"persons/{spouse.person_id}/phone", value=PHONE_A),
            FieldChange(path=f"persons/{spouse.person_id}/birth_date", value="1972-02-29"),
        ),
        base_version=1,
        meta=meta(),
    )
    # then one FieldsUpdated event carries the normalised values
    assert conflicts == ()
    assert event_names(household) == ["FieldsUpdated"]
    assert household.address == "青山镇红星村3组14号"
    assert household.persons[spouse.person_id].phone == PHONE_A
    assert household.current_value(f"persons/{spouse.person_id}/birth_date") == "1972-02-29"
    assert household.path_versions["address"] == 2


def test_edits_to_different_fields_from_the_same_base_merge(household: Household) -> None:
    # given two phones both based on version 1
    household.update(change("phone", PHONE_A), 1, meta=meta(device="phone-1"))
    # when the second edits another field
    conflicts = household.update(change("notes", "常年外出务工"), 1, meta=meta(device="phone-2"))
    # then both edits hold, without conflict
    assert conflicts == ()
    assert household.current_value("phone") == PHONE_A
    assert household.current_value("notes") == "常年外出务工"
    assert household.open_conflicts == []


def test_the_same_field_edited_twice_records_a_conflict(household: Household) -> None:
    # given phone 1 changed the phone from version 1
    household.update(change("phone", PHONE_A), 1, meta=meta(device="phone-1"))
    household.collect_events()
    # when phone 2, also based on version 1, proposes another phone
    (conflict_id,) = household.update(change("phone", PHONE_B), 1, meta=meta(device="phone-2"))
    # then the newer value stays and a conflict waits for a supervisor
    assert event_names(household) == ["ConflictRecorded"]
    assert household.current_value("phone") == PHONE_A
    (conflict,) = household.open_conflicts
    assert conflict.conflict_id == conflict_id
    assert (conflict.path, conflict.base_version) == ("phone", 1)
    assert (conflict.current_value, conflict.proposed_value) == (PHONE_A, PHONE_B)
    assert conflict.proposer.device_id == "phone-2"


def test_proposing_the_value_already_there_is_no_conflict(household: Household) -> None:
    household.update(change("phone", PHONE_A), 1, meta=meta(device="phone-1"))
    household.collect_events()
    assert household.update(change("phone", PHONE_A), 1, meta=meta(device="phone-2")) == ()
    assert event_names(household) == []


def test_an_edit_based_on_the_newer_version_is_no_conflict(household: Household) -> None:
    household.update(change("phone", PHONE_A), 1, meta=meta())
    assert household.update(change("phone", PHONE_B), 2, meta=meta()) == ()
    assert household.current_value("phone") == PHONE_B


def test_a_mixed_edit_applies_what_it_can(household: Household, spouse: PersonRecord) -> None:
    household.update(change("phone", PHONE_A), 1, meta=meta())
    household.collect_events()
    name_path = f"persons/{spouse.person_id}/name"
    conflicts = household.update(
        (FieldChange(path="phone", value=PHONE_B), FieldChange(path=name_path, value="李四娘")),
        1,
        meta=meta(),
    )
    assert event_names(household) == ["FieldsUpdated", "ConflictRecorded"]
    assert len(conflicts) == 1
    assert household.current_value(name_path) == "李四娘"


def test_resolving_a_conflict_applies_the_chosen_value(household: Household) -> None:
    # given a recorded conflict on the phone
    household.update(change("phone", PHONE_A), 1, meta=meta())
    (cid,) = household.update(change("phone", PHONE_B), 1, meta=meta())
    household.collect_events()
    # when a supervisor picks a third value
    household.resolve_conflict(cid, PHONE_C, meta=meta(role="supervisor"))
    # then it is applied, the conflict is closed and the path version moves on
    assert event_names(household) == ["ConflictResolved"]
    assert household.current_value("phone") == PHONE_C
    assert household.open_conflicts == []
    assert household.conflicts[cid].resolved_value == PHONE_C
    assert household.path_versions["phone"] == household.version
    # and resolving twice is refused
    with pytest.raises(InvalidTransition) as exc:
        household.resolve_conflict(cid, PHONE_A, meta=meta(role="supervisor"))
    assert exc.value.details["state"] == "resolved"


def test_resolution_rules(household: Household) -> None:
    household.update(change("phone", PHONE_A), 1, meta=meta())
    (cid,) = household.update(change("phone", PHONE_B), 1, meta=meta())
    with pytest.raises(NotFound):
        household.resolve_conflict(uuid4(), PHONE_C, meta=meta())
    with pytest.raises(InvalidValue):
        household.resolve_conflict(cid, "not a phone", meta=meta())
    household.resolve_conflict(cid, None, meta=meta())  # clearing is a valid choice
    assert household.current_value("phone") is None


def test_conflict_ids_are_unique_per_conflict(household: Household) -> None:
    household.update(change("phone", PHONE_A), 1, meta=meta())
    first = household.update(change("phone", PHONE_B), 1, meta=meta())
    second = household.update(change("phone", PHONE_C), 1, meta=meta())
    assert set(first).isdisjoint(second)
    assert len(household.open_conflicts) == 2


@pytest.mark.parametrize("base", [0, -1, 2, 99])
def test_base_version_must_be_a_version_of_the_household(household: Household, base: int) -> None:
    with pytest.raises(StaleBaseVersion) as exc:
        household.update(change("phone", PHONE_A), base, meta=meta())
    assert exc.value.details == {"base_version": base, "current_version": 1}


@pytest.mark.parametrize(
    "path",
    ["household_no", "grid_id", "persons", "persons/not-a-uuid/name", "persons/{pid}/tags"],
)
def test_unknown_paths_are_rejected(household: Household, spouse: PersonRecord, path: str) -> None:
    with pytest.raises(InvalidValue) as exc:
        household.update(change(path.format(pid=spouse.person_id), "x"), 1, meta=meta())
    assert exc.value.details["field"] == "path"


def test_a_path_of_a_stranger_is_unknown(household: Household) -> None:
    with pytest.raises(InvalidValue):
        household.update(change(f"persons/{uuid4()}/name", "x"), 1, meta=meta())


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", None),
        ("name", ""),
        ("gender", "other"),
        ("relation", "舅舅"),
        ("birth_date", "1970-13-01"),
        ("id_number", "110105197005010010"),
        ("phone", "123"),
    ],
)
def test_person_values_are_validated(
    household: Household, spouse: PersonRecord, field: str, value: str | None
) -> None:
    valid = id_number("11010519700501001")
    if field == "id_number":
        value = valid[:17] + ("1" if valid[17] != "1" else "2")
    with pytest.raises(InvalidValue):
        household.update(change(f"persons/{spouse.person_id}/{field}", value), 1, meta=meta())


def test_household_values_are_validated(household: Household) -> None:
    with pytest.raises(InvalidValue):
        household.update(change("address", None), 1, meta=meta())
    with pytest.raises(InvalidValue):
        household.update(change("notes", "长" * 1001), 1, meta=meta())
    household.update(change("notes", "  "), 1, meta=meta())  # blank optional text clears
    assert household.current_value("notes") is None


def test_a_path_may_appear_once_per_update(household: Household) -> None:
    twice = (FieldChange(path="notes", value="a"), FieldChange(path="notes", value="b"))
    with pytest.raises(InvalidValue):
        household.update(twice, 1, meta=meta())


def test_swapping_the_head_in_one_edit_keeps_one_head(
    household: Household, head: PersonRecord, spouse: PersonRecord
) -> None:
    household.update(
        (
            FieldChange(path=f"persons/{head.person_id}/relation", value="配偶"),
            FieldChange(path=f"persons/{spouse.person_id}/relation", value="户主"),
        ),
        1,
        meta=meta(),
    )
    assert household.persons[spouse.person_id].relation == "户主"
    with pytest.raises(InvalidValue):
        household.update(
            change(f"persons/{head.person_id}/relation", "户主"), household.version, meta=meta()
        )


def test_an_id_number_may_not_be_duplicated_by_an_edit(
    household: Household, head: PersonRecord, spouse: PersonRecord
) -> None:
    with pytest.raises(InvalidValue):
        household.update(
            change(f"persons/{spouse.person_id}/id_number", head.id_number), 1, meta=meta()
        )
