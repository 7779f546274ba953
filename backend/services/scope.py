"""Role and grid-scope checks, re-derived on the server for every request (privacy rule 2)."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from backend.errors import ApiError
from backend.services.actor import Actor
from projections import grid_tree

__all__ = ["require_role", "require_unit_in_scope"]


def require_role(actor: Actor, *roles: str) -> None:
    if actor.role not in roles:
        raise ApiError(
            40300, "your role may not do this", role=actor.role, allowed_roles=sorted(roles)
        )


async def require_unit_in_scope(pool: asyncpg.Pool, actor: Actor, unit_id: UUID) -> asyncpg.Record:
    unit = await grid_tree.get_unit(pool, unit_id)
    if unit is None:
        raise ApiError(40400, "no such grid unit", id=str(unit_id))
    if actor.scope_unit_id not in unit["path"]:
        # no id in the refusal: the unit is often derived from what the caller named (a
        # household, a visit), and echoing it would tell them where that resource is filed
        raise ApiError(40301, "grid unit outside your scope")
    return unit
