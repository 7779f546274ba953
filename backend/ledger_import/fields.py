"""Cell normalisation and single-field parsers.

Every parser takes the raw cell value and an ``Issues`` collector, records each problem it finds
and returns the parsed value or None; none of them stops at the first problem of the row.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

from backend.ledger_import.catalog import (
    GENDER_LOOKUP,
    RELATION_LOOKUP,
    TAG_LOOKUP,
    TAG_ORDER,
    Gender,
    Relation,
)
from backend.ledger_import.columns import COLUMN_INDEX
from backend.ledger_import.idcard import birth_date_of, has_valid_checksum, has_valid_shape
from backend.ledger_import.models import RowError

_INVISIBLE = str.maketrans("", "", "\u200b\u200c\u200d\u2060\ufeff")
_DATE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?|(\d{4})(\d{2})(\d{2})")
_GRID_CODE = re.compile(r"\d{15}|\d{17}")
_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"0\d{2,3}-?\d{7,8}")
_PHONE_NOISE = re.compile(r"[\s()（）]")
_TAG_SPLIT = re.compile(r"[、,，;；\s]+")
_EARLIEST_BIRTH = date(1900, 1, 1)


class Issues:
    """The problems found in one spreadsheet row."""

    def __init__(self, row_number: int) -> None:
        self.row_number = row_number
        self.errors: list[RowError] = []

    def add(self, column: str | None, reason: str) -> None:
        self.errors.append(RowError(row_number=self.row_number, column=column, reason=reason))


def error_sort_key(error: RowError) -> tuple[int, int]:
    column = -1 if error.column is None else COLUMN_INDEX[error.column]
    return (error.row_number, column)


def cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).translate(_INVISIBLE).strip()


def code_text(value: object) -> str:
    # NFKC folds full-width digits and letters (１２３Ｘ) typed with a Chinese IME.
    return unicodedata.normalize("NFKC", cell_text(value)).replace(" ", "")


def lost_digits(value: object, column: str, issues: Issues) -> bool:
    # Excel keeps 15 significant digits: an 18-digit number typed as a number is already wrong.
    if isinstance(value, float) and abs(value) >= 1e15:
        issues.add(column, "须为文本格式，数字已被 Excel 截断 (must be text, digits lost)")
        return True
    return False


def required_text(value: object, column: str, label: str, limit: int, issues: Issues) -> str:
    text = cell_text(value)
    if not text:
        issues.add(column, f"{label}不能为空 ({column} required)")
    elif len(text) > limit:
        issues.add(column, f"{label}超过 {limit} 字 ({column} too long)")
    return text


def optional_text(value: object, column: str, label: str, limit: int, issues: Issues) -> str:
    text = cell_text(value)
    if len(text) > limit:
        issues.add(column, f"{label}超过 {limit} 字 ({column} too long)")
    return text


def grid_code(value: object, issues: Issues) -> str | None:
    text = code_text(value)
    if lost_digits(value, "grid_code", issues):
        return None
    if not text:
        issues.add("grid_code", "网格编码不能为空 (grid_code required)")
    elif not _GRID_CODE.fullmatch(text):
        issues.add("grid_code", "网格编码应为 15 或 17 位数字 (grid_code format)")
    else:
        return text
    return None


def relation(value: object, issues: Issues) -> Relation | None:
    text = cell_text(value)
    found = RELATION_LOOKUP.get(text.casefold())
    if not text:
        issues.add("relation", "与户主关系不能为空 (relation required)")
    elif found is None:
        issues.add("relation", f"与户主关系「{text}」无法识别 (unknown relation)")
    return found


def gender(value: object, issues: Issues) -> Gender | None:
    text = cell_text(value)
    found = GENDER_LOOKUP.get(text.casefold())
    if text and found is None:
        issues.add("gender", f"性别「{text}」应为 男/女 (gender must be 男/女)")
    return found


def birth_date(value: object, today: date, issues: Issues) -> date | None:
    if isinstance(value, datetime | date):
        found: date | None = value.date() if isinstance(value, datetime) else value
    else:
        text = code_text(value)
        if not text:
            return None
        found = _parse_date(text)
    if found is None:
        issues.add("birth_date", "出生日期应为 YYYY-MM-DD (birth_date format)")
    elif not _EARLIEST_BIRTH <= found <= today:
        issues.add("birth_date", "出生日期超出合理范围 (birth_date out of range)")
        return None
    return found


def _parse_date(text: str) -> date | None:
    match = _DATE.fullmatch(text)
    if match is None:
        return None
    parts = [int(g) for g in match.groups() if g is not None]
    try:
        return date(parts[0], parts[1], parts[2])
    except ValueError:
        return None


def mobile(value: object, column: str, issues: Issues) -> str | None:
    text = _phone_text(value).replace("-", "")
    if lost_digits(value, column, issues) or not text:
        return None
    if not _MOBILE.fullmatch(text):
        issues.add(column, "手机号应为 1 开头的 11 位数字 (phone format)")
        return None
    return text


def household_phone(value: object, issues: Issues) -> str | None:
    text = _phone_text(value)
    if not text:
        return None
    if _MOBILE.fullmatch(text.replace("-", "")):
        return text.replace("-", "")
    # Landlines keep the hyphen after the area code as typed: 0579-85123456 stays readable.
    if _LANDLINE.fullmatch(text):
        return text
    issues.add("household_phone", "户联系电话应为手机号或固定电话 (household_phone format)")
    return None


def _phone_text(value: object) -> str:
    text = _PHONE_NOISE.sub("", code_text(value))
    return text[3:] if text.startswith("+86") else text


def tags(value: object, issues: Issues) -> tuple[str, ...]:
    labels = [t for t in _TAG_SPLIT.split(cell_text(value)) if t]
    codes: set[str] = set()
    for label in labels:
        code = TAG_LOOKUP.get(label)
        if code is None:
            issues.add("tags", f"标签「{label}」无法识别 (unknown tag)")
        else:
            codes.add(code)
    return tuple(sorted(codes, key=TAG_ORDER.__getitem__))


def id_number(value: object, today: date, issues: Issues) -> str | None:
    text = code_text(value).upper()
    if lost_digits(value, "id_number", issues) or not text:
        return None
    embedded = birth_date_of(text) if has_valid_shape(text) else None
    if len(text) != 18:
        issues.add("id_number", "身份证号应为 18 位 (id_number length)")
    elif not has_valid_shape(text):
        issues.add("id_number", "身份证号应为 17 位数字加校验位 (id_number format)")
    elif embedded is None or not _EARLIEST_BIRTH <= embedded <= today:
        issues.add("id_number", "身份证号中的出生日期无效 (id_number birth date)")
    elif not has_valid_checksum(text):
        issues.add("id_number", "身份证号校验位错误 (id_number checksum)")
    else:
        return text
    return None
