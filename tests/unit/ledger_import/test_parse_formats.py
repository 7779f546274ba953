from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from backend.ledger_import import (
    LEDGER_COLUMNS,
    TAG_CODES,
    LedgerHousehold,
    ParsedLedger,
    parse_ledger,
    write_ledger_csv,
    write_ledger_xlsx,
)
from tests.unit.ledger_import.samples import GRID, HEAD_ID, SPOUSE_ID, TODAY, good_rows


def _parse(data: bytes, filename: str = "ledger.csv") -> ParsedLedger:
    return parse_ledger(data, filename=filename, today=TODAY)


def _assert_sample(parsed: ParsedLedger) -> None:
    assert parsed.errors == ()
    assert parsed.row_count == 4
    first, second = parsed.households
    assert (first.household_no, first.grid_code, first.first_row) == ("H001", GRID, 2)
    assert first.address == "王村 5 组 23 号"
    assert first.phone == "0579-85123456"
    head, spouse, child = first.persons
    assert (head.name, head.relation, head.gender) == ("王建国", "head", "male")
    assert head.birth_date == date(1968, 3, 12)
    assert (head.id_number, head.phone) == (HEAD_ID, "13805791234")
    assert head.tags == ("dibao", "party_member")
    assert (spouse.relation, spouse.id_number, spouse.tags) == (
        "spouse",
        SPOUSE_ID,
        ("chronic_illness",),
    )
    assert (child.row_number, child.birth_date, child.tags) == (
        4,
        date(2015, 9, 1),
        ("left_behind_child",),
    )
    assert second.persons[0].tags == ("tekun", "solitary_elder")
    assert second.persons[0].name == "欧阳秀兰"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_csv_in_every_encoding_chinese_excel_produces(encoding: str) -> None:
    _assert_sample(_parse(write_ledger_csv(good_rows(), encoding=encoding)))


def test_xlsx_with_real_excel_date_cell() -> None:
    data = write_ledger_xlsx(good_rows())
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    assert sheet["H2"].is_date  # birth_date column of the head row is a true date cell
    _assert_sample(_parse(data, "ledger.xlsx"))


def test_english_headers_are_accepted() -> None:
    _assert_sample(_parse(write_ledger_csv(good_rows(), english_headers=True)))


def test_decorated_headers_and_extra_columns() -> None:
    csv_text = (
        "*户编号,网格编码（15位）, 住址 ,*姓名,与户主关系,性别,出生日期(YYYY-MM-DD),备注\n"
        f"H9,{GRID},王村 1 组 1 号,张三,户主,男,1980-01-02,随便\n"
    )
    parsed = _parse(csv_text.encode())
    assert parsed.errors == ()
    assert parsed.households[0].persons[0].birth_date == date(1980, 1, 2)


def test_blank_rows_are_skipped_and_row_numbers_stay_spreadsheet_rows() -> None:
    rows = good_rows()
    with_blanks: list[dict[str, object]] = [rows[0], {}, rows[1], {"name": "   "}, rows[2], rows[3]]
    for data in (write_ledger_csv(with_blanks), write_ledger_xlsx(with_blanks)):
        parsed = _parse(data)
        assert parsed.errors == ()
        assert parsed.row_count == 4
        assert [p.row_number for p in parsed.households[0].persons] == [2, 4, 6]
        assert parsed.households[1].first_row == 7


def test_whitespace_fullwidth_digits_and_derived_fields() -> None:
    fullwidth_id = HEAD_ID.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    rows = [
        {
            "household_no": " H1 ",
            "grid_code": f" {GRID}\u200b",
            "address": " 王村 1 组 1 号 ",
            "name": "\u3000王建国 ",
            "relation": "本人",
            "id_number": fullwidth_id,
            "phone": "138 0579 1234",
            "tags": " 党员 ， 退役军人 ",
        }
    ]
    parsed = _parse(write_ledger_csv(rows))
    assert parsed.errors == ()
    household = parsed.households[0]
    person = household.persons[0]
    assert (household.household_no, household.grid_code, person.name) == ("H1", GRID, "王建国")
    # Gender and birth date come from the ID number when the cells are blank.
    assert (person.gender, person.birth_date) == ("male", date(1968, 3, 12))
    assert (person.id_number, person.phone) == (HEAD_ID, "13805791234")
    assert person.tags == ("party_member", "veteran")


def test_numeric_cells_in_xlsx() -> None:
    rows = good_rows()[3:]
    rows[0] |= {"grid_code": int(GRID), "household_no": 7, "phone": 13805791234}
    parsed = _parse(write_ledger_xlsx(rows), "ledger.xlsx")
    assert parsed.errors == ()
    household: LedgerHousehold = parsed.households[0]
    assert (household.household_no, household.grid_code) == ("7", GRID)
    assert household.persons[0].phone == "13805791234"


def test_person_without_gender_or_birth_date_is_unknown() -> None:
    rows = [
        {"household_no": "H", "grid_code": GRID, "address": "A", "name": "张三", "relation": "户主"}
    ]
    person = _parse(write_ledger_csv(rows)).households[0].persons[0]
    assert (person.gender, person.birth_date, person.id_number, person.phone) == (
        "unknown",
        None,
        None,
        None,
    )


def test_seventeen_digit_micro_grid_code() -> None:
    rows = good_rows()[3:]
    rows[0]["grid_code"] = GRID + "01"
    assert _parse(write_ledger_csv(rows)).households[0].grid_code == GRID + "01"


def test_lowercase_x_check_character_is_normalised() -> None:
    number = "11010519491231002X"
    rows = [
        {
            "household_no": "H",
            "grid_code": GRID,
            "address": "A",
            "name": "张三",
            "relation": "户主",
            "id_number": number.lower(),
        }
    ]
    person = _parse(write_ledger_csv(rows)).households[0].persons[0]
    assert (person.id_number, person.gender, person.birth_date) == (
        number,
        "female",
        date(1949, 12, 31),
    )


def test_documentation_lists_every_column_and_tag() -> None:
    doc = (Path(__file__).parents[3] / "docs" / "ledger-import.md").read_text(encoding="utf-8")
    for column in LEDGER_COLUMNS:
        assert f"| {column.header} | `{column.key}` | {'是' if column.required else '否'} |" in doc
    for label, code in TAG_CODES.items():
        assert f"| {label} | `{code}` |" in doc
