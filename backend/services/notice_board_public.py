"""The public notice board (no token): published editions of one village or town.

Only editions that were published are known here; the content of an edition is served while
it is current (today inside its 公示期, not withdrawn). Withdrawn, expired and upcoming
editions are listed without content, and a withdrawal's reason stays internal: it is free
text staff typed, often about the very mistake that was taken down.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Final
from uuid import UUID

from backend.bootstrap import Container
from backend.errors import ApiError
from backend.services.awards import business_day
from backend.services.notice_board import BOARD_LEVELS
from projections import grid_tree, notice_board

__all__ = ["PUBLIC_EDITIONS_MAX", "public_board"]

PUBLIC_EDITIONS_MAX: Final = 50


def _status(row: dict[str, Any], today: date) -> str:
    if row["state"] == "withdrawn":
        return "withdrawn"
    if today < row["period_start"]:
        return "upcoming"
    return "current" if today <= row["period_end"] else "expired"


def _public(row: dict[str, Any], today: date) -> dict[str, Any]:
    status = _status(row, today)
    return {
        "id": row["id"], "status": status, "period_start": row["period_start"],
        "period_end": row["period_end"], "published_at": row["published_at"],
        "content_sha256": row["content_sha256"], "withdrawn_at": row["withdrawn_at"],
        "content": row["content"] if status == "current" else None,
    }  # fmt: skip


async def public_board(container: Container, unit_id: UUID) -> dict[str, Any]:
    """The unit's current editions and the list of every published one, newest first."""
    unit = await grid_tree.get_unit(container.pool, unit_id)
    if unit is None or unit["level"] not in BOARD_LEVELS:
        raise ApiError(40400, "no notice board for this unit (a village or town)", id=str(unit_id))
    today = business_day(container)
    rows = await notice_board.public_editions(container.pool, unit_id, limit=PUBLIC_EDITIONS_MAX)
    editions = [_public(r, today) for r in rows]
    return {
        "unit_id": unit_id, "unit_name": unit["name"], "unit_level": unit["level"],
        "today": today, "current": [e for e in editions if e["status"] == "current"],
        "editions": editions,
    }  # fmt: skip
