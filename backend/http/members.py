"""Grid-member profile (网格员画像): one member's figures as of a day."""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from litestar import Controller, get
from litestar.params import FromPath, FromQuery

from backend.http.deps import ContainerDep
from backend.http.guards import BEARER, ActorDep, actor_dependency
from backend.http.member_schemas import MemberProfile, profile_view
from backend.http.responses import READ_ERRORS
from backend.services.member_profiles import MemberProfileService, ProfileQuery

__all__ = ["MemberController"]


class MemberController(Controller):
    path = "/v1/members"
    tags = ["profiles"]
    dependencies = actor_dependency
    security = BEARER

    @get(
        "/{staff_id:uuid}/profile",
        operation_id="getMemberProfile",
        summary="A member's households, visits, coverage, cases, mediations and points as of a "
        "day (default today); yourself, or anyone in your subtree as grid head and up",
        responses=READ_ERRORS,
    )
    async def profile(
        self,
        container: ContainerDep,
        actor: ActorDep,
        staff_id: FromPath[UUID],
        as_of: FromQuery[date | None] = None,
        period: FromQuery[Literal["week", "month", "quarter"]] = "quarter",
    ) -> MemberProfile:
        query = ProfileQuery(staff_id=staff_id, as_of=as_of, period=period)
        return profile_view(await MemberProfileService(container).profile(actor, query))
