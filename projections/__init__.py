"""Read models folded from the event log; one module per read model."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

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


def all_projections(zone: ZoneInfo) -> list[Projection]:
    """Every read model, built as the server runs it: those that fold a date out of a
    timestamp fold it in the business zone ``zone``, so a rebuild gives the same days."""
    zoned: dict[str, Projection] = {
        p.name: p for p in (MemberProfileProjection(zone), AssessmentFactsProjection(zone))
    }
    return [zoned.get(p.name, p) for p in (make() for make in ALL_PROJECTIONS)]


__all__ = ["ALL_PROJECTIONS", "Projection", "ProjectionRunner", "Recorded", "all_projections"]
