"""Value validators shared by the aggregates.

Validators return the normalised value (stripped, upper-cased check digit) or raise
:class:`~events.errors.InvalidValue`; aggregates store only normalised values so that
"same value" comparisons during merges are exact.
"""

import re
from datetime import date, datetime

from events.errors import InvalidValue

__all__ = [
    "ensure_aware",
    "ensure_not_before",
    "id_number_check_char",
    "validate_id_number",
    "validate_mobile",
    "validate_text",
    "validate_work_phone",
]

_MOBILE = re.compile(r"1[3-9]\d{9}")
# Work phones of staff may be office landlines (区号-号码), shown on the public board.
_LANDLINE = re.compile(r"0\d{2,3}-?\d{7,8}")
_ID_NUMBER = re.compile(r"[1-9]\d{16}[\dX]")
# GB 11643-1999 weights and check characters for the 18th position.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def validate_text(value: str, *, field: str, max_len: int) -> str:
    """Strip and require 1..max_len characters."""
    text = value.strip()
    if not text or len(text) > max_len:
        raise InvalidValue(f"{field} must be 1..{max_len} characters", field=field)
    return text


def validate_mobile(value: str, *, field: str = "phone") -> str:
    """An 11-digit mainland mobile number starting with 1."""
    phone = value.strip()
    if not _MOBILE.fullmatch(phone):
        raise InvalidValue(f"{field} must be an 11-digit mobile number", field=field)
    return phone


def validate_work_phone(value: str) -> str:
    """A mobile number or an office landline."""
    phone = value.strip()
    if not (_MOBILE.fullmatch(phone) or _LANDLINE.fullmatch(phone)):
        raise InvalidValue("work_phone must be a mobile or landline number", field="work_phone")
    return phone


def id_number_check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits of an ID number."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def validate_id_number(value: str) -> str:
    """An 18-character resident ID number: format, embedded birth date and checksum."""
    number = value.strip().upper()
    if not _ID_NUMBER.fullmatch(number):
        raise InvalidValue("id_number must be 18 characters", field="id_number")
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidValue("id_number has an invalid birth date", field="id_number") from None
    if id_number_check_char(number[:17]) != number[17]:
        raise InvalidValue("id_number checksum mismatch", field="id_number")
    return number


def ensure_aware(value: datetime, *, field: str) -> datetime:
    """Naive datetimes are ambiguous across phones and servers; reject them."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidValue(f"{field} must be timezone-aware", field=field)
    return value


def ensure_not_before(day: date, previous: date, *, field: str = "effective_from") -> None:
    """Effective-dated history must not go backwards (equal dates are allowed)."""
    if day < previous:
        raise InvalidValue(
            f"{field} is before the previous change",
            field=field,
            value=day.isoformat(),
            previous=previous.isoformat(),
        )
