"""Sample ledger rows shared by the ledger-import tests."""

from __future__ import annotations

from datetime import date

from backend.ledger_import import make_id_number

TODAY = date(2026, 1, 1)
GRID = "330782109201001"
HEAD_ID = make_id_number("330782", date(1968, 3, 12), 11)  # male
SPOUSE_ID = make_id_number("330782", date(1970, 5, 1), 22)  # female


def good_rows() -> list[dict[str, object]]:
    """Two clean households: rows 2–4 and 5."""
    return [
        {
            "household_no": "H001",
            "grid_code": GRID,
            "address": "王村 5 组 23 号",
            "household_phone": "0579-85123456",
            "name": "王建国",
            "relation": "户主",
            "gender": "男",
            "birth_date": date(1968, 3, 12),
            "id_number": HEAD_ID,
            "phone": "13805791234",
            "tags": "低保、党员",
        },
        {
            "household_no": "H001",
            "grid_code": GRID,
            "name": "李秀英",
            "relation": "配偶",
            "gender": "女",
            "birth_date": "1970-05-01",
            "id_number": SPOUSE_ID,
            "tags": "慢性病",
        },
        {
            "household_no": "H001",
            "grid_code": GRID,
            "address": "王村 5 组 23 号",
            "name": "王小明",
            "relation": "子女",
            "gender": "男",
            "birth_date": "2015-09-01",
            "tags": "留守儿童",
        },
        {
            "household_no": "H002",
            "grid_code": GRID,
            "address": "王村 5 组 25 号",
            "name": "欧阳秀兰",
            "relation": "户主",
            "gender": "女",
            "birth_date": "1940-01-15",
            "tags": "独居老人;特困",
        },
    ]
