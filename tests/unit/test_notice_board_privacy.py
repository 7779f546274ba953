"""The notice board's privacy gate finds protected values wherever they hide in the content."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from backend.ledger_import import make_id_number
from backend.services.notice_board_privacy import ProtectedValues, scan_content
from events.privacy import mask_id_number

KNOWN = ProtectedValues(
    staff_phones=frozenset({"13800000000"}),
    protected_names=frozenset({"李小宝"}),
    resident_names=frozenset({"王建国", "李小宝"}),
    addresses=frozenset({"甲村 5 组 23 号"}),
)


def clean() -> dict[str, Any]:
    return {
        "unit_id": "3f0c6a1e-1381-2345-6789-a13812345678",
        "unit_code": "330782101201",
        "unit_name": "甲村",
        "grids": [
            {
                "code": "330782101201001",
                "name": "甲村第一网格",
                "contacts": [
                    {"name": "王建国", "role": "grid_member", "work_phone": "13800000000"}
                ],
            }
        ],
        "commendations": [{"recipient": "王*国家", "title": "星级文明户", "day": "2026-11-25"}],
        "ranking": [{"rank": 1, "name": "王建国", "points": 12}],
        "checkpoint": {"root_hash_hex": "ab" * 32, "signed_note": "gridledger.local/log\n12\n"},
        "notes": ["本期公示七天"],
    }


def kinds(content: dict[str, Any]) -> set[str]:
    return {f.kind for f in scan_content(content, KNOWN)}


def test_a_clean_board_passes_with_staff_names_work_phones_codes_and_checkpoint() -> None:
    assert scan_content(clean(), KNOWN) == []


def test_each_protected_kind_is_found_in_free_text() -> None:
    number = make_id_number("110105", date(1990, 1, 2), 11)
    cases = {
        f"身份证 {number}": "id_number",
        f"身份证 {mask_id_number(number)}": "id_number",
        "联系 139-1234-5678": "resident_phone",
        "详见 https://s3.example/bucket/photo.jpg": "url_or_object",
        "照片 " + "0f" * 32: "url_or_object",
        "本户为低保户": "special_population",
        "关注对象 3 人": "special_population",
        "表扬李小宝同学": "protected_person",
        "王建国家门前": "resident_name",
        "甲村 5 组 23 号": "address",
    }
    for note, kind in cases.items():
        board = clean()
        board["notes"] = [note]
        assert kind in kinds(board), note


def test_findings_name_the_path_never_the_value() -> None:
    board = clean()
    board["commendations"][0]["recipient"] = "李小宝"
    (finding, *_) = scan_content(board, KNOWN)
    assert finding.path == "commendations[0].recipient"
    assert "李小宝" not in repr(finding)


def test_a_staff_name_may_equal_a_resident_but_not_a_protected_person() -> None:
    board = clean()
    board["ranking"][0]["name"] = "李小宝"
    assert kinds(board) == {"protected_person"}


@given(
    birth=st.dates(min_value=date(1930, 1, 1), max_value=date(2024, 12, 31)),
    sequence=st.integers(0, 999),
    mobile=st.from_regex(r"\A1[3-9][0-9]{9}\Z", fullmatch=True),
    where=st.sampled_from(["notes", "unit_name", "grid_name", "title"]),
    prefix=st.text(alphabet="公示说明：，。 ", max_size=5),
)
def test_generated_id_numbers_and_mobiles_are_found_anywhere(
    birth: date, sequence: int, mobile: str, where: str, prefix: str
) -> None:
    number = make_id_number("330782", birth, sequence)
    for secret, kind in ((number, "id_number"), (mobile, "resident_phone")):
        if secret == "13800000000":
            continue  # the staff work phone is public
        board = clean()
        text = f"{prefix}{secret}"
        if where == "notes":
            board["notes"] = [text]
        elif where == "unit_name":
            board["unit_name"] = text
        elif where == "grid_name":
            board["grids"][0]["name"] = text
        else:
            board["commendations"][0]["title"] = text
        assert kind in kinds(board), (where, text)
