"""Provenance carried by every event (DESIGN §4).

Each command takes ``meta: EventMeta`` and records it in the event it triggers, so the event
log alone answers "who did this, from which device, under which scope". The server time is
the event's own ``timestamp`` (set by eventsourcing); ``client_time`` is what the phone
reported and is shown, never trusted for ordering.
"""

from datetime import datetime
from uuid import UUID

import msgspec

__all__ = ["SYSTEM_META", "SYSTEM_ROLE", "EventMeta", "system_meta"]

SYSTEM_ROLE = "system"


class EventMeta(msgspec.Struct, frozen=True, kw_only=True):
    """Who/where/when of a command, as captured on the server.

    ``scope_unit_ids`` is the actor's grid scope *at capture time*: scopes change when staff
    are reassigned, and auditors must be able to judge an old event by the scope it had then.
    """

    actor_id: UUID | None  # None = the system itself (scheduler, importer)
    role: str
    device_id: str
    client_time: datetime | None
    scope_unit_ids: tuple[UUID, ...] = ()
    schema_version: int = 1


def system_meta(device_id: str = "server") -> EventMeta:
    """Meta for events the system emits on its own (imports, scheduled escalations)."""
    return EventMeta(actor_id=None, role=SYSTEM_ROLE, device_id=device_id, client_time=None)


SYSTEM_META = system_meta()
