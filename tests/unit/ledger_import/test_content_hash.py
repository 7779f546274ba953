from __future__ import annotations

from datetime import date

import msgspec
import pytest

from backend.ledger_import import (
    LedgerHousehold,
    LedgerPerson,
    build_household,
    parse_ledger,
    write_ledger_csv,
    write_ledger_xlsx,
)
from tests.unit.ledger_import.samples import TODAY, good_rows


def _sample() -> LedgerHousehold:
    return parse_ledger(write_ledger_csv(good_rows()), filename="a.csv", today=TODAY).households[0]


def _rebuilt(household: LedgerHousehold, **changes: object) -> LedgerHousehold:
    fields = {
        "household_no": household.household_no,
        "grid_code": household.grid_code,
        "address": household.address,
        "phone": household.phone,
        "persons": household.persons,
    }
    return build_household(**(fields | changes))  # type: ignore[arg-type]


def test_reimporting_the_same_data_gives_the_same_hash() -> None:
    csv_once = parse_ledger(write_ledger_csv(good_rows()), filename="a.csv", today=TODAY)
    xlsx = parse_ledger(write_ledger_xlsx(good_rows()), filename="a.xlsx", today=TODAY)
    assert [h.content_hash for h in csv_once.households] == [
        h.content_hash for h in xlsx.households
    ]
    assert len(csv_once.households[0].content_hash) == 64


def test_row_numbers_and_row_order_do_not_change_the_hash() -> None:
    rows = good_rows()
    moved = [{}, {}, rows[3], rows[2], rows[0], rows[1]]
    parsed = parse_ledger(write_ledger_csv(moved), filename="a.csv", today=TODAY)
    by_no = {h.household_no: h for h in parsed.households}
    original = _sample()
    assert by_no["H001"].first_row != original.first_row
    assert by_no["H001"].content_hash == original.content_hash


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("household_no", "H999"),
        ("grid_code", "330782109201002"),
        ("address", "王村 5 组 24 号"),
        ("phone", None),
    ],
)
def test_any_household_field_change_changes_the_hash(field: str, value: object) -> None:
    household = _sample()
    assert _rebuilt(household, **{field: value}).content_hash != household.content_hash


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "王建军"),
        ("relation", "other"),
        ("gender", "unknown"),
        ("birth_date", date(1968, 3, 13)),
        ("birth_date", None),
        ("id_number", None),
        ("phone", "13805791235"),
        ("tags", ("dibao",)),
    ],
)
def test_any_person_field_change_changes_the_hash(field: str, value: object) -> None:
    household = _sample()
    head = msgspec.structs.replace(household.persons[0], **{field: value})
    changed = _rebuilt(household, persons=(head, *household.persons[1:]))
    assert changed.content_hash != household.content_hash


def test_adding_or_removing_a_person_changes_the_hash() -> None:
    household = _sample()
    extra = LedgerPerson(
        name="王小红",
        relation="child",
        gender="female",
        birth_date=None,
        id_number=None,
        phone=None,
        tags=(),
        row_number=99,
    )
    assert (
        _rebuilt(household, persons=household.persons[:-1]).content_hash != household.content_hash
    )
    grown = _rebuilt(household, persons=(*household.persons, extra))
    assert grown.content_hash != household.content_hash


def test_row_number_alone_does_not_change_the_hash() -> None:
    household = _sample()
    moved = tuple(
        msgspec.structs.replace(p, row_number=p.row_number + 10) for p in household.persons
    )
    assert _rebuilt(household, persons=moved).content_hash == household.content_hash
