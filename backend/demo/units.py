"""The grid tree of the demo township: one town, twelve villages/communities, ~72 grids."""

from __future__ import annotations

import random
from typing import Final

from backend.demo.models import DemoUnit

# Invented, not a real township: codes follow the 12-digit statistical division code layout
# (6-digit county + 3-digit town + 3-digit village; 0xx communities, 2xx villages).
TOWN_CODE: Final[str] = "330782109000"
TOWN_NAME: Final[str] = "青石镇"
VILLAGES: Final[tuple[tuple[str, str], ...]] = (
    ("001", "青溪社区"),
    ("002", "石门社区"),
    ("201", "王村"),
    ("202", "塘头村"),
    ("203", "下宅村"),
    ("204", "后余村"),
    ("205", "东山村"),
    ("206", "柳塘村"),
    ("207", "新屋村"),
    ("208", "前洪村"),
    ("209", "岭下村"),
    ("210", "溪口村"),
)
GRIDS_TOTAL: Final[int] = 72
MIN_GRIDS, MAX_GRIDS = 4, 8
_NUMERALS: Final[str] = "一二三四五六七八九十"


def is_community(village: DemoUnit) -> bool:
    return village.name.endswith("社区")


def build_units(rng: random.Random) -> list[DemoUnit]:
    """Town first, then each village followed by its grids."""
    town = DemoUnit(code=TOWN_CODE, name=TOWN_NAME, level=1, parent_code=None)
    units = [town]
    for (suffix, name), grid_count in zip(VILLAGES, _grid_counts(rng), strict=True):
        village = DemoUnit(code=TOWN_CODE[:9] + suffix, name=name, level=2, parent_code=town.code)
        units.append(village)
        units.extend(_grids(village, grid_count))
    return units


def _grid_counts(rng: random.Random) -> list[int]:
    """Per-village grid counts within 4–8 that always sum to exactly GRIDS_TOTAL."""
    counts = [GRIDS_TOTAL // len(VILLAGES)] * len(VILLAGES)
    for _ in range(40):
        give, take = rng.sample(range(len(counts)), 2)
        if counts[give] > MIN_GRIDS and counts[take] < MAX_GRIDS:
            counts[give] -= 1
            counts[take] += 1
    return counts


def _grids(village: DemoUnit, count: int) -> list[DemoUnit]:
    return [
        DemoUnit(
            code=f"{village.code}{n:03d}",
            name=f"第{_NUMERALS[n - 1]}网格",
            level=3,
            parent_code=village.code,
        )
        for n in range(1, count + 1)
    ]
