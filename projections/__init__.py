"""Read models folded from the event log; one module per read model."""

from __future__ import annotations

from collections.abc import Callable

from projections.case_board import CaseBoardProjection
from projections.engine import Projection, ProjectionRunner, Recorded
from projections.grid_tree import GridTreeProjection
from projections.household_files import HouseholdFilesProjection
from projections.mediation_register import MediationRegisterProjection
from projections.points_ledger import PointsLedgerProjection
from projections.reference_data import ReferenceDataProjection
from projections.staff_roster import StaffRosterProjection
from projections.visit_log import VisitLogProjection

ALL_PROJECTIONS: list[Callable[[], Projection]] = [
    GridTreeProjection,
    StaffRosterProjection,
    HouseholdFilesProjection,
    ReferenceDataProjection,
    CaseBoardProjection,
    VisitLogProjection,
    MediationRegisterProjection,
    PointsLedgerProjection,
]

__all__ = ["ALL_PROJECTIONS", "Projection", "ProjectionRunner", "Recorded"]
