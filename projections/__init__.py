"""Read models folded from the event log; one module per read model."""

from __future__ import annotations

from collections.abc import Callable

from projections.engine import Projection, ProjectionRunner, Recorded
from projections.grid_tree import GridTreeProjection
from projections.household_files import HouseholdFilesProjection
from projections.reference_data import ReferenceDataProjection
from projections.staff_roster import StaffRosterProjection

ALL_PROJECTIONS: list[Callable[[], Projection]] = [
    GridTreeProjection,
    StaffRosterProjection,
    HouseholdFilesProjection,
    ReferenceDataProjection,
]

__all__ = ["ALL_PROJECTIONS", "Projection", "ProjectionRunner", "Recorded"]
