"""Export cells: text a spreadsheet would run as a formula is defused; values keep their type."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import pytest

from backend.services.exports import _cell, _csv


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)"])
def test_formula_text_is_prefixed_with_a_quote(text: str) -> None:
    assert _cell(text) == "'" + text


def test_plain_values_pass_through() -> None:
    moment = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    uid = UUID(int=7)
    assert [_cell(v) for v in (None, 3, 0.5, True, "王*国", moment, uid)] == [
        None, 3, 0.5, True, "王*国", "2026-03-01T09:30:00+00:00", str(uid)
    ]  # fmt: skip


def test_csv_starts_with_a_bom_for_excel() -> None:
    content = _csv(["a"], [["甲"]])
    assert content.startswith("\ufeff".encode())
    assert content.decode("utf-8-sig").splitlines() == ["a", "甲"]
