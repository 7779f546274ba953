"""Reporting windows and rankings (打擂台), pure."""

from __future__ import annotations

from datetime import date

import pytest

from backend.services.supervisor_queries import rank
from projections.member_periods import period_window


@pytest.mark.parametrize(
    ("as_of", "period", "start"),
    [
        (date(2026, 5, 15), "week", date(2026, 5, 11)),  # a Friday: back to Monday
        (date(2026, 5, 11), "week", date(2026, 5, 11)),  # a Monday: itself
        (date(2026, 5, 15), "month", date(2026, 5, 1)),
        (date(2026, 5, 15), "quarter", date(2026, 4, 1)),
        (date(2026, 3, 31), "quarter", date(2026, 1, 1)),
        (date(2026, 12, 31), "quarter", date(2026, 10, 1)),
        (date(2026, 1, 1), "week", date(2025, 12, 29)),  # a week across the new year
    ],
)
def test_a_period_runs_from_its_first_day_to_as_of(as_of: date, period: str, start: date) -> None:
    assert period_window(as_of, period) == (start, as_of)  # type: ignore[arg-type]


def test_ties_share_a_place_and_rows_without_a_figure_come_last() -> None:
    # given four grids, two tied, one with no households (no coverage figure)
    rows = [
        {"code": "003", "coverage": 0.5},
        {"code": "001", "coverage": 0.9},
        {"code": "004", "coverage": None},
        {"code": "002", "coverage": 0.5},
    ]

    # when ranked by coverage
    ranked = rank(rows, "coverage", name_key="code")

    # then 1, 2, 2 by code among equals, and the one without a figure unranked at the end
    assert [(r["code"], r["rank"]) for r in ranked] == [
        ("001", 1), ("002", 2), ("003", 2), ("004", None)
    ]  # fmt: skip
