"""The demo township survives writing and re-reading: the seed path equals the import path."""

from __future__ import annotations

import pytest

from backend.demo import REFERENCE_DATE, DemoTownship, generate_township
from backend.ledger_import import parse_ledger, write_ledger_csv, write_ledger_xlsx


@pytest.fixture(scope="module")
def township() -> DemoTownship:
    return generate_township()


def test_demo_township_round_trips_through_xlsx(township: DemoTownship) -> None:
    data = write_ledger_xlsx(township.households)
    parsed = parse_ledger(data, filename="demo.xlsx", today=REFERENCE_DATE)
    assert parsed.errors == ()
    assert parsed.row_count == sum(len(h.persons) for h in township.households)
    assert parsed.households == township.households


def test_demo_township_round_trips_through_gbk_csv(township: DemoTownship) -> None:
    data = write_ledger_csv(township.households, encoding="gbk")
    parsed = parse_ledger(data, filename="demo.csv", today=REFERENCE_DATE)
    assert parsed.errors == ()
    assert parsed.households == township.households
