"""``generate_township``: the deterministic demo data set."""

from __future__ import annotations

import random

from backend.demo.models import DemoTownship, DemoUnit
from backend.demo.people import HouseholdFactory
from backend.demo.staff import StaffFactory
from backend.demo.units import TOWN_CODE, build_units
from backend.ledger_import import LedgerHousehold

# Households per grid: mean 83, so ~6,000 households in 72 grids.
HOUSEHOLDS_PER_GRID = (66, 100)


def generate_township(*, seed: int = 2026) -> DemoTownship:
    """The same seed always yields the same township; nothing reads the clock or global state."""
    rng = random.Random(seed)
    units = build_units(rng)
    factory = HouseholdFactory(rng, region=TOWN_CODE[:6])
    households: list[LedgerHousehold] = []
    sizes: dict[str, int] = {}
    for village, grid in _grids_with_village(units):
        generated = factory.grid_households(village, grid, rng.randint(*HOUSEHOLDS_PER_GRID))
        sizes[grid.code] = len(generated)
        households.extend(generated)
    busiest = sorted((u for u in units if u.level == 3), key=lambda g: (-sizes[g.code], g.code))
    staff = StaffFactory(rng, factory.phones).build(units, busiest)
    return DemoTownship(units=tuple(units), staff=tuple(staff), households=tuple(households))


def _grids_with_village(units: list[DemoUnit]) -> list[tuple[DemoUnit, DemoUnit]]:
    villages = {u.code: u for u in units if u.level == 2}
    return [(villages[u.parent_code], u) for u in units if u.level == 3 and u.parent_code]
