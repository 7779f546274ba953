"""Deterministic demo township: grid tree, staff and ~6,000 ledger households.

Households are ``backend.ledger_import.LedgerHousehold`` values so seeding can go through the
same path as a real ledger import.
"""

from backend.demo.models import DemoStaff, DemoTownship, DemoUnit, StaffRole
from backend.demo.people import REFERENCE_DATE
from backend.demo.township import generate_township
from backend.demo.units import TOWN_CODE, TOWN_NAME

__all__ = [
    "REFERENCE_DATE",
    "TOWN_CODE",
    "TOWN_NAME",
    "DemoStaff",
    "DemoTownship",
    "DemoUnit",
    "StaffRole",
    "generate_township",
]
