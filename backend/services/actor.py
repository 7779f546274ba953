"""The authenticated caller, re-derived from the staff roster on every request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from events.meta import EventMeta

__all__ = ["ROLE_RANK", "Actor"]

# Roles that may manage the tree and staff, edit households, or only read.
ROLE_RANK = {
    "grid_member": 1,
    "mediator": 1,
    "grid_head": 2,
    "supervisor": 3,
    "auditor": 3,
    "admin": 4,
}


@dataclass(frozen=True, kw_only=True)
class Actor:
    staff_id: UUID
    name: str
    role: str
    scope_unit_id: UUID
    device_id: str
    session_id: UUID | None

    def meta(self, *, client_time: datetime | None = None) -> EventMeta:
        """Provenance for an event this actor causes; scope as it stands at capture."""
        return EventMeta(
            actor_id=self.staff_id,
            role=self.role,
            device_id=self.device_id,
            client_time=client_time,
            scope_unit_ids=(self.scope_unit_id,),
        )
