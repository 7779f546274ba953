"""Masking formats (privacy.md rule 4), minors, catalogs and role rules (rule 3)."""

from datetime import date

import pytest

from events import (
    ATTENTION_TAG,
    HOUSEHOLD_FIELDS,
    PERSON_FIELDS,
    PERSON_TAGS,
    InvalidValue,
    is_minor,
    is_under_18,
    mask_address,
    mask_id_number,
    mask_name,
    mask_person,
    mask_phone,
)
from events.sensitivity import age_on, person_field_sensitivity

ON = date(2024, 6, 1)


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三", "张*"),
        ("张三丰", "张*丰"),
        ("张小三丰", "张**丰"),
        ("欧阳明", "欧阳*"),
        ("欧阳晓明", "欧阳*明"),
        ("欧阳晓东明", "欧阳**明"),
        ("司马懿", "司马*"),
        ("欧阳", "欧*"),  # two characters: treated as surname + given name
        (" 李四 ", "李*"),
        ("王", "*"),
        ("", ""),
    ],
)
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def test_mask_phone_and_id_number() -> None:
    assert mask_phone("13812341234") == "138****1234"
    assert mask_phone("0571-88886666") == "057******6666"
    assert mask_phone("12345") == "*****"
    assert mask_id_number("110105194912310021") == "110***********0021"
    assert mask_id_number("11010519491231002X") == "110***********002X"
    assert mask_id_number("1234567") == "*******"


def test_mask_address_keeps_the_coarse_part() -> None:
    assert mask_address("青山镇红星村3组12号") == "青山镇红星****"
    assert mask_address("") == ""


@pytest.mark.parametrize(
    ("birth", "minor", "under_18"),
    [
        (date(2010, 6, 2), True, True),  # turns 14 tomorrow
        (date(2010, 6, 1), False, True),  # 14 today
        (date(2006, 6, 2), False, True),  # turns 18 tomorrow
        (date(2006, 6, 1), False, False),
        (None, False, False),
    ],
)
def test_minor_thresholds(birth: date | None, minor: bool, under_18: bool) -> None:
    assert is_minor(birth, ON) is minor
    assert is_under_18(birth, ON) is under_18


def test_age_on_leap_day_birthday() -> None:
    assert age_on(date(2012, 2, 29), date(2026, 2, 28)) == 13
    assert age_on(date(2012, 2, 29), date(2026, 3, 1)) == 14


def test_tag_catalog() -> None:
    required = {
        "dibao", "tekun", "monitored", "left_behind_child", "left_behind_elder",
        "solitary_elder", "disabled", "chronic_illness", "mental_disorder",
        "released_prisoner", "community_correction", "party_member", "veteran",
    }  # fmt: skip
    assert required <= PERSON_TAGS.keys()
    assert PERSON_TAGS["mental_disorder"].label == "严重精神障碍"
    for code, spec in PERSON_TAGS.items():
        assert spec.code == code
        internal = code in ("party_member", "veteran")
        assert spec.sensitivity == ("S1" if internal else "S3")
        assert spec.special_population is not internal


def test_field_catalog_and_minors() -> None:
    assert PERSON_FIELDS["id_number"] == "S3"
    assert PERSON_FIELDS["name"] == PERSON_FIELDS["phone"] == PERSON_FIELDS["birth_date"] == "S2"
    assert HOUSEHOLD_FIELDS["address"] == "S2"
    assert person_field_sensitivity("name", birth_date=date(1980, 1, 1), on=ON) == "S2"
    assert person_field_sensitivity("name", birth_date=date(2015, 1, 1), on=ON) == "S3"
    assert person_field_sensitivity("relation", birth_date=date(2015, 1, 1), on=ON) == "S3"
    with pytest.raises(KeyError):
        person_field_sensitivity("bank_account", birth_date=None, on=ON)


def view(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "person_id": "p-1",
        "name": "张三丰",
        "gender": "male",
        "relation": "户主",
        "birth_date": date(1960, 1, 1),
        "phone": "13812341234",
        "id_number": "11010519491231002X",
        "address": "青山镇红星村3组12号",
        "tags": ["party_member", "dibao", "mental_disorder"],
        "secret_field": "leak",
    }
    return base | overrides


def test_field_staff_see_names_but_masked_contacts() -> None:
    out = mask_person(view(), role="grid_member", need_to_know=False, on=ON)
    assert out["name"] == "张三丰"
    assert out["address"] == "青山镇红星村3组12号"
    assert out["phone"] == "138****1234"
    assert out["id_number"] == "110***********002X"
    # special tags collapse into one marker without the type; S1 tags stay
    assert out["tags"] == ["party_member", ATTENTION_TAG]
    assert "secret_field" not in out  # allow-list


def test_need_to_know_shows_the_special_tags() -> None:
    out = mask_person(view(), role="grid_member", need_to_know=True, on=ON)
    assert out["tags"] == ["party_member", "dibao", "mental_disorder"]
    assert out["phone"] == "138****1234"  # still masked: full values need a reveal


def test_no_special_tags_means_no_marker() -> None:
    out = mask_person(
        view(tags=["veteran", "unknown"]), role="supervisor", need_to_know=False, on=ON
    )
    assert out["tags"] == ["veteran"]


def test_a_minor_is_sensitive_as_a_whole() -> None:
    child = view(name="张小明", birth_date="2015-03-01", phone=None, tags=["left_behind_child"])
    hidden = mask_person(child, role="grid_head", need_to_know=False, on=ON)
    assert hidden["name"] == "张*明"
    assert hidden["birth_date"] is None
    assert hidden["phone"] is None
    assert hidden["tags"] == [ATTENTION_TAG]
    shown = mask_person(child, role="grid_head", need_to_know=True, on=ON)
    assert shown["name"] == "张小明"
    assert shown["birth_date"] == "2015-03-01"


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_review_roles_see_everything_masked(role: str) -> None:
    out = mask_person(view(), role=role, need_to_know=True, on=ON)
    assert out["name"] == "张*丰"
    assert out["address"] == "青山镇红星****"
    assert out["phone"] == "138****1234"
    assert out["birth_date"] is None
    assert out["tags"] == ["party_member", ATTENTION_TAG]


@pytest.mark.parametrize("role", ["public", "system", ""])
def test_other_roles_are_refused(role: str) -> None:
    with pytest.raises(InvalidValue):
        mask_person(view(), role=role, need_to_know=True, on=ON)


def test_masking_does_not_mutate_the_input() -> None:
    original = view()
    mask_person(original, role="auditor", need_to_know=False, on=ON)
    assert original == view()
