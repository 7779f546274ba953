"""Read models folded from the event log; one module per read model."""

from __future__ import annotations

from collections.abc import Callable

from projections.assessment_facts import AssessmentFactsProjection
from projections.assessment_register import AssessmentRegisterProjection
from projections.case_board import CaseBoardProjection
from projections.device_status import DeviceStatusProjection
from projections.engine import Projection, ProjectionRunner, Recorded
from projections.grid_tree import GridTreeProjection
from projections.household_files import HouseholdFilesProjection
from projections.mediation_register import MediationRegisterProjection
from projections.member_profile import MemberProfileProjection
from projections.notice_board import NoticeBoardProjection
from projections.points_ledger import PointsLedgerProjection
from projections.reference_data import ReferenceDataProjection
from projections.staff_roster import StaffRosterProjection
from projections.sync_feed import SyncFeedProjection
from projections.sync_receipts import SyncReceiptsProjection
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
    MemberProfileProjection,
    NoticeBoardProjection,
    AssessmentFactsProjection,
    AssessmentRegisterProjection,
    SyncFeedProjection,
    SyncReceiptsProjection,
    DeviceStatusProjection,
]

__all__ = ["ALL_PROJECTIONS", "Projection", "ProjectionRunner", "Recorded"]
