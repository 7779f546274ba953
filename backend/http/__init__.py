"""HTTP controllers by audience; ``route_handlers`` lists what the app serves."""

from __future__ import annotations

from typing import Any

from litestar import Router

from backend.http.assessments import AssessmentController, AssessmentSchemeController
from backend.http.audit_access import AccessAuditController
from backend.http.audit_log import AuditLogController
from backend.http.auth import auth_route_handlers
from backend.http.awards import AwardController, PointsAccountController
from backend.http.bundles import BundleController
from backend.http.cases import CaseBoardController, CaseController
from backend.http.exports import ExportController
from backend.http.grid import GridController
from backend.http.health import HealthController
from backend.http.households import HouseholdController
from backend.http.imports import LedgerImportController
from backend.http.media import MediaController
from backend.http.mediations import MediationController
from backend.http.members import MemberController
from backend.http.metrics import MetricsController, ProjectionStatusController
from backend.http.notice_board import NoticeBoardController, PublicNoticeBoardController
from backend.http.public_log import PublicLogController
from backend.http.queries import QueryController
from backend.http.reference import ReferenceController
from backend.http.staff import StaffController
from backend.http.sync import SyncController
from backend.http.visits import VisitController
from backend.settings import Settings

__all__ = ["route_handlers"]


def route_handlers(settings: Settings) -> list[Any]:
    # JSON bodies are capped app-wide (settings.max_body_bytes); ledger files get their own cap.
    imports = Router(
        path="/",
        route_handlers=[LedgerImportController],
        request_max_body_size=settings.max_import_bytes,
    )
    # Photos are streamed, never buffered; the cap ends the stream early (41310).
    media = Router(
        path="/",
        route_handlers=[MediaController],
        request_max_body_size=settings.max_media_bytes,
    )
    # auth_route_handlers adds DevLoginController only if dev_login and settings.embedded.
    return [
        HealthController,
        *auth_route_handlers(settings),
        GridController,
        StaffController,
        HouseholdController,
        ReferenceController,
        CaseController,
        CaseBoardController,
        VisitController,
        MediationController,
        AwardController,
        PointsAccountController,
        MetricsController,
        ProjectionStatusController,
        MemberController,
        QueryController,
        ExportController,
        NoticeBoardController,
        PublicNoticeBoardController,
        AssessmentSchemeController,
        AssessmentController,
        AuditLogController,
        AccessAuditController,
        BundleController,
        PublicLogController,
        SyncController,
        imports,
        media,
    ]
