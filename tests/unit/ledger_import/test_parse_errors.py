from __future__ import annotations

import os
import random

import pytest

from backend.ledger_import import (
    LedgerFormatError,
    ParsedLedger,
    RowError,
    parse_ledger,
    write_ledger_csv,
    write_ledger_xlsx,
)
from tests.unit.ledger_import.samples import GRID, HEAD_ID, SPOUSE_ID, TODAY, good_rows


def _parse(data: bytes) -> ParsedLedger:
    return parse_ledger(data, filename="ledger.csv", today=TODAY)


def _errors(parsed: ParsedLedger) -> list[tuple[int, str | None, str]]:
    return [(e.row_number, e.column, e.reason) for e in parsed.errors]


def _single(**overrides: object) -> list[dict[str, object]]:
    row: dict[str, object] = {
        "household_no": "H1",
        "grid_code": GRID,
        "address": "王村 1 组 1 号",
        "name": "王建国",
        "relation": "户主",
        "gender": "男",
        "birth_date": "1968-03-12",
        "id_number": HEAD_ID,
    }
    return [row | overrides]


BAD_CHECKSUM = HEAD_ID[:17] + ("0" if HEAD_ID[17] != "0" else "1")

ROW_ERRORS = [
    ({"household_no": ""}, "household_no", "户编号不能为空 (household_no required)"),
    ({"household_no": "H" * 65}, "household_no", "户编号超过 64 字 (household_no too long)"),
    ({"grid_code": ""}, "grid_code", "网格编码不能为空 (grid_code required)"),
    (
        {"grid_code": "3307821092010"},
        "grid_code",
        "网格编码应为 15 或 17 位数字 (grid_code format)",
    ),
    ({"address": "村" * 201}, "address", "住址超过 200 字 (address too long)"),
    (
        {"household_phone": "12345"},
        "household_phone",
        "户联系电话应为手机号或固定电话 (household_phone format)",
    ),
    ({"name": " "}, "name", "姓名不能为空 (name required)"),
    ({"relation": ""}, "relation", "与户主关系不能为空 (relation required)"),
    ({"relation": "邻居"}, "relation", "与户主关系「邻居」无法识别 (unknown relation)"),
    (
        {"gender": "未知", "id_number": ""},
        "gender",
        "性别「未知」应为 男/女 (gender must be 男/女)",
    ),
    (
        {"birth_date": "12/03/1968", "id_number": ""},
        "birth_date",
        "出生日期应为 YYYY-MM-DD (birth_date format)",
    ),
    (
        {"birth_date": "1968-02-30", "id_number": ""},
        "birth_date",
        "出生日期应为 YYYY-MM-DD (birth_date format)",
    ),
    (
        {"birth_date": "2030-01-01", "id_number": ""},
        "birth_date",
        "出生日期超出合理范围 (birth_date out of range)",
    ),
    ({"id_number": HEAD_ID[:15]}, "id_number", "身份证号应为 18 位 (id_number length)"),
    (
        {"id_number": HEAD_ID[:16] + "AB"},
        "id_number",
        "身份证号应为 17 位数字加校验位 (id_number format)",
    ),
    (
        {"id_number": "330782" + "19681332" + "0110"},
        "id_number",
        "身份证号中的出生日期无效 (id_number birth date)",
    ),
    ({"id_number": BAD_CHECKSUM}, "id_number", "身份证号校验位错误 (id_number checksum)"),
    ({"gender": "女"}, "gender", "性别与身份证号不符 (gender disagrees with id_number)"),
    (
        {"birth_date": "1968-03-13"},
        "birth_date",
        "出生日期与身份证号不符 (birth_date disagrees with id_number)",
    ),
    ({"phone": "23805791234"}, "phone", "手机号应为 1 开头的 11 位数字 (phone format)"),
    ({"phone": "1380579123"}, "phone", "手机号应为 1 开头的 11 位数字 (phone format)"),
    ({"tags": "低保、富豪"}, "tags", "标签「富豪」无法识别 (unknown tag)"),
]


@pytest.mark.parametrize(("overrides", "column", "reason"), ROW_ERRORS)
def test_each_row_error_names_row_column_and_reason(
    overrides: dict[str, object], column: str, reason: str
) -> None:
    parsed = _parse(write_ledger_csv(_single(**overrides)))
    assert _errors(parsed) == [(2, column, reason)]
    assert parsed.households == ()


def test_id_typed_as_a_number_in_excel_lost_digits() -> None:
    data = write_ledger_xlsx(_single(id_number=float(HEAD_ID[:17] + "1")))
    parsed = parse_ledger(data, filename="ledger.xlsx", today=TODAY)
    assert _errors(parsed) == [
        (2, "id_number", "须为文本格式，数字已被 Excel 截断 (must be text, digits lost)")
    ]


def test_all_problems_of_a_row_and_of_every_row_are_reported() -> None:
    rows = good_rows()
    rows[1] |= {"phone": "123", "tags": "外星人"}
    rows[3] |= {"gender": "X", "birth_date": "yesterday", "relation": "邻居"}
    errors = _errors(_parse(write_ledger_csv(rows)))
    assert [(row, column) for row, column, _ in errors] == [
        (3, "phone"),
        (3, "tags"),
        (5, "relation"),
        (5, "gender"),
        (5, "birth_date"),
    ]


def test_clean_households_survive_next_to_broken_ones() -> None:
    rows = good_rows()
    rows[3]["phone"] = "123"
    parsed = _parse(write_ledger_csv(rows))
    assert [h.household_no for h in parsed.households] == ["H001"]
    assert not parsed.ok


def _household(*relations: str) -> list[dict[str, object]]:
    return [
        {
            "household_no": "H1",
            "grid_code": GRID,
            "address": "王村 1 组 1 号",
            "name": f"人{i}",
            "relation": relation,
        }
        for i, relation in enumerate(relations)
    ]


def test_household_without_head() -> None:
    errors = _errors(_parse(write_ledger_csv(_household("配偶", "子女"))))
    assert errors == [(2, "relation", "户内没有户主 (household has no head)")]


def test_household_with_two_heads_flags_both_rows() -> None:
    errors = _errors(_parse(write_ledger_csv(_household("户主", "子女", "户主"))))
    assert errors == [
        (2, "relation", "同户有多个户主，另见第 4 行 (more than one head, also row 4)"),
        (4, "relation", "同户有多个户主，另见第 2 行 (more than one head, also row 2)"),
    ]


def test_head_row_needs_an_address() -> None:
    rows = _household("子女", "户主")
    rows[1]["address"] = ""
    errors = _errors(_parse(write_ledger_csv(rows)))
    assert errors == [(3, "address", "户主行须填写住址 (address required on head row)")]


@pytest.mark.parametrize(
    ("column", "other", "reason"),
    [
        (
            "grid_code",
            GRID[:-1] + "2",
            "同户网格编码与第 2 行不一致 (grid_code differs from row 2)",
        ),
        ("address", "王村 9 组 9 号", "同户住址与第 2 行不一致 (address differs from row 2)"),
        (
            "household_phone",
            "13900000000",
            "同户户联系电话与第 2 行不一致 (household_phone differs from row 2)",
        ),
    ],
)
def test_household_fields_must_agree(column: str, other: str, reason: str) -> None:
    rows = _household("户主", "子女", "配偶")
    rows[0]["household_phone"] = "13800000000"
    rows[2][column] = other
    assert _errors(_parse(write_ledger_csv(rows))) == [(4, column, reason)]


def test_the_same_id_number_twice_in_the_file() -> None:
    rows = good_rows()
    rows[3] |= {"id_number": SPOUSE_ID, "birth_date": "1970-05-01"}
    errors = _errors(_parse(write_ledger_csv(rows)))
    assert errors == [
        (3, "id_number", "身份证号重复，另见第 5 行 (duplicate id_number, also row 5)"),
        (5, "id_number", "身份证号重复，另见第 3 行 (duplicate id_number, also row 3)"),
    ]


def test_errors_are_structs_with_row_numbers() -> None:
    parsed = _parse(write_ledger_csv(_single(phone="1")))
    assert parsed.errors == (
        RowError(
            row_number=2, column="phone", reason="手机号应为 1 开头的 11 位数字 (phone format)"
        ),
    )


def _rows(n: int) -> list[dict[str, object]]:
    return [
        {
            "household_no": f"H{i}",
            "grid_code": GRID,
            "address": f"王村 1 组 {i} 号",
            "name": "张三",
            "relation": "户主",
        }
        for i in range(n)
    ]


def test_max_rows_limit() -> None:
    data = write_ledger_csv(_rows(11))
    assert parse_ledger(data, filename="x.csv", max_rows=11, today=TODAY).row_count == 11
    with pytest.raises(LedgerFormatError, match="more than 10 rows"):
        parse_ledger(data, filename="x.csv", max_rows=10, today=TODAY)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty sheet"),
        (b"\r\n,,\r\n", "empty sheet"),
        ("户编号,网格编码,住址,姓名,与户主关系\r\n".encode(), "empty sheet"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "legacy xls"),
        (b"PK\x03\x04" + bytes(200), "unreadable xlsx"),
        (bytes([0x89, 0x50, 0x4E, 0x47]) + bytes(50), "not a spreadsheet"),
        (b"ok,\x80\xff" * 20, "unknown text encoding"),
    ],
)
def test_unusable_files(data: bytes, message: str) -> None:
    with pytest.raises(LedgerFormatError, match=message):
        _parse(data)


def test_random_garbage_never_escapes_as_another_exception() -> None:
    rng = random.Random(7)
    for size in (1, 10, 1000):
        data = bytes(rng.randrange(256) for _ in range(size))
        with pytest.raises(LedgerFormatError):
            _parse(data)
    with pytest.raises(LedgerFormatError):
        _parse(b"PK\x03\x04" + os.urandom(500))


def test_missing_required_headers_are_named() -> None:
    data = write_ledger_csv(good_rows(), columns=["household_no", "name", "relation"])
    with pytest.raises(LedgerFormatError) as caught:
        _parse(data)
    assert caught.value.errmsg == (
        "缺少必需列：网格编码 (grid_code)、住址 (address) (missing required columns)"
    )


def test_duplicate_column() -> None:
    data = "户编号,网格编码,住址,姓名,与户主关系,name\r\n".encode()
    with pytest.raises(LedgerFormatError, match="duplicate column"):
        _parse(data)
