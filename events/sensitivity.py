"""Sensitivity classes and the field/tag catalogs (privacy.md rule 1).

Classes: ``S0`` public, ``S1`` internal, ``S2`` personal, ``S3`` sensitive (PIPL art. 28).
The catalogs are allow-lists: a field or tag that is not listed here has no class and must be
rejected by schemas and dropped by masking.

Special-population tags are S3 (health, disability, assistance and justice status — PIPL
art. 28, 精神卫生法 art. 4, 社区矫正法 art. 4) and ``special_population=True`` puts them
under need-to-know (privacy.md rule 3). 党员 and 退役军人 are internal (S1) facts that grid
staff use openly.
"""

from datetime import date
from typing import Final, Literal

import msgspec

__all__ = [
    "HOUSEHOLD_FIELDS",
    "PERSON_FIELDS",
    "PERSON_TAGS",
    "S0",
    "S1",
    "S2",
    "S3",
    "Sensitivity",
    "TagSpec",
    "age_on",
    "is_minor",
    "is_under_18",
    "person_field_sensitivity",
]

Sensitivity = Literal["S0", "S1", "S2", "S3"]
S0: Final = "S0"
S1: Final = "S1"
S2: Final = "S2"
S3: Final = "S3"

# PIPL art. 28/31: personal information of a minor under 14 is sensitive as a whole.
MINOR_AGE: Final = 14
ADULT_AGE: Final = 18


class TagSpec(msgspec.Struct, frozen=True, kw_only=True):
    """One person tag: stable code, 中文 label, class, need-to-know flag."""

    code: str
    label: str
    sensitivity: Sensitivity
    special_population: bool


def _tag(code: str, label: str, sensitivity: Sensitivity = S3, special: bool = True) -> TagSpec:
    return TagSpec(code=code, label=label, sensitivity=sensitivity, special_population=special)


PERSON_TAGS: Final[dict[str, TagSpec]] = {
    t.code: t
    for t in (
        _tag("dibao", "低保"),
        _tag("tekun", "特困/五保"),
        _tag("monitored", "监测户"),
        _tag("left_behind_child", "留守儿童"),
        _tag("left_behind_elder", "留守老人"),
        _tag("solitary_elder", "独居老人"),
        _tag("disabled", "残疾"),
        _tag("chronic_illness", "慢性病"),
        _tag("mental_disorder", "严重精神障碍"),
        _tag("released_prisoner", "刑满释放"),
        _tag("community_correction", "社区矫正"),
        _tag("party_member", "党员", S1, special=False),
        _tag("veteran", "退役军人", S1, special=False),
    )
}

HOUSEHOLD_FIELDS: Final[dict[str, Sensitivity]] = {
    "household_no": S1,
    "grid_id": S1,
    "address": S2,
    "phone": S2,
    "house_type": S1,
    "notes": S2,  # free text: staff may write personal details into it
    "status": S1,
}

# "tags" is classified per tag (PERSON_TAGS); a minor's record is S3 as a whole.
PERSON_FIELDS: Final[dict[str, Sensitivity]] = {
    "person_id": S1,
    "name": S2,
    "gender": S2,
    "birth_date": S2,
    "id_number": S3,
    "phone": S2,
    "relation": S1,
}


def age_on(birth_date: date, on: date) -> int:
    """Completed years of age on the given day."""
    before_birthday = (on.month, on.day) < (birth_date.month, birth_date.day)
    return on.year - birth_date.year - int(before_birthday)


def is_minor(birth_date: date | None, on: date) -> bool:
    """Under 14 (PIPL art. 28). Unknown birth date is not treated as a minor."""
    return birth_date is not None and age_on(birth_date, on) < MINOR_AGE


def is_under_18(birth_date: date | None, on: date) -> bool:
    """Under 18 (未成年人保护法): for rules that protect all minors, e.g. the public board."""
    return birth_date is not None and age_on(birth_date, on) < ADULT_AGE


def person_field_sensitivity(field: str, *, birth_date: date | None, on: date) -> Sensitivity:
    """Class of one person field; every field of a minor under 14 is S3."""
    if field not in PERSON_FIELDS:
        raise KeyError(field)
    return S3 if is_minor(birth_date, on) else PERSON_FIELDS[field]
