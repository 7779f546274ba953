"""Resident identity numbers (公民身份号码) as specified by GB 11643-1999."""

from __future__ import annotations

import re
from datetime import date
from typing import Final

from backend.ledger_import.catalog import Gender

_WEIGHTS: Final[tuple[int, ...]] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS: Final[str] = "10X98765432"
_SHAPE: Final[re.Pattern[str]] = re.compile(r"\d{17}[\dX]")


def check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def has_valid_shape(number: str) -> bool:
    return _SHAPE.fullmatch(number) is not None


def has_valid_checksum(number: str) -> bool:
    return has_valid_shape(number) and check_char(number[:17]) == number[17]


def birth_date_of(number: str) -> date | None:
    """The birth date encoded in digits 7–14, or None if they are not a calendar date."""
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def gender_of(number: str) -> Gender:
    # The 17th digit is the sequence code: odd for men, even for women.
    return "male" if int(number[16]) % 2 else "female"


def make_id_number(region: str, birth: date, sequence: int) -> str:
    """Build a valid number; ``sequence`` (0–999) must be odd for men, even for women."""
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_char(first17)
