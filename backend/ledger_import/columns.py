"""The ledger's columns: documentation data and header recognition."""

from __future__ import annotations

import re
from typing import Final

import msgspec


class LedgerColumn(msgspec.Struct, frozen=True, kw_only=True):
    """One column of the ledger template, as documented in docs/ledger-import.md."""

    key: str
    header: str
    aliases: tuple[str, ...]
    required: bool
    description: str
    example: str


def _col(key: str, header: str, required: bool, description: str, example: str) -> LedgerColumn:
    aliases = (key, key.replace("_", " "))
    return LedgerColumn(
        key=key,
        header=header,
        aliases=aliases,
        required=required,
        description=description,
        example=example,
    )


LEDGER_COLUMNS: Final[tuple[LedgerColumn, ...]] = (
    _col(
        "household_no",
        "户编号",
        True,
        "户的编号；同一户编号的行组成一户（≤ 64 字）",
        "330782109201001-0001",
    ),
    _col(
        "grid_code",
        "网格编码",
        True,
        "15 位网格或 17 位微网格编码，每行必填，同户一致",
        "330782109201001",
    ),
    _col(
        "address",
        "住址",
        True,
        "户主行必填；其他行留空或与户主行一致（≤ 200 字）",
        "王村 5 组 23 号",
    ),
    _col("household_phone", "户联系电话", False, "手机号或固话，同户一致", "0579-85123456"),
    _col("name", "姓名", True, "必填，至多 30 字", "王建国"),
    _col(
        "relation",
        "与户主关系",
        True,
        "户主/配偶/子女/父母/孙子女/兄弟姐妹/其他；每户恰好一个户主",
        "户主",
    ),
    _col("gender", "性别", False, "男/女；留空时取自身份证号", "男"),
    _col(
        "birth_date",
        "出生日期",
        False,
        "YYYY-MM-DD 或 Excel 日期；留空时取自身份证号",
        "1968-03-12",
    ),
    _col(
        "id_number",
        "身份证号",
        False,
        "18 位，GB 11643 校验位；须为文本格式；全文件唯一",
        "330782196803120118",
    ),
    _col("phone", "手机号", False, "11 位手机号，以 1 开头", "13805791234"),
    _col("tags", "标签", False, "以 、 , ; 分隔，如 低保、党员", "低保、党员"),
)
COLUMN_KEYS: Final[tuple[str, ...]] = tuple(c.key for c in LEDGER_COLUMNS)
COLUMN_INDEX: Final[dict[str, int]] = {key: i for i, key in enumerate(COLUMN_KEYS)}
COLUMNS_BY_KEY: Final[dict[str, LedgerColumn]] = {c.key: c for c in LEDGER_COLUMNS}

# Templates decorate headers: "*姓名", "出生日期（YYYY-MM-DD）", "姓 名".
_DECORATION = re.compile(r"[\s*＊]+|[(（\[【].*?[)）\]】]")


def normalise_header(text: str) -> str:
    return _DECORATION.sub("", text).casefold()


_HEADER_LOOKUP: Final[dict[str, str]] = {
    normalise_header(name): column.key
    for column in LEDGER_COLUMNS
    for name in (column.header, *column.aliases)
}


def column_key(header: str) -> str | None:
    """The column key a header cell names, or None for columns we do not read."""
    return _HEADER_LOOKUP.get(normalise_header(header))


def describe(key: str) -> str:
    """A column as shown in messages: "身份证号 (id_number)"."""
    return f"{COLUMNS_BY_KEY[key].header} ({key})"
