"""The ranking (打擂台) as a CSV file, audited like every export (privacy rule 6).

The audit row goes into ``export_audit`` (``what = 'assessment_ranking'``), next to the
exports of ``POST /v1/exports``, and is written before the file leaves: a ranking that cannot
be audited is not handed out. A retry is a second export and a second audit row.
"""

from __future__ import annotations

import hashlib
import json
from uuid import UUID, uuid4

from backend.bootstrap import Container
from backend.errors import ApiError
from backend.services.actor import Actor
from backend.services.assessment_rankings import RankingLevel, RankingService, ranking_csv

__all__ = ["export_ranking_csv"]


async def export_ranking_csv(
    container: Container,
    actor: Actor,
    period_id: str,
    *,
    scheme: str,
    level: RankingLevel,
    within: UUID | None,
    reason: str,
) -> tuple[str, bytes]:
    """(file name, CSV bytes) of the ranking; 40077 without a reason."""
    why = reason.strip()
    if not why:
        raise ApiError(40077, "an export of a ranking needs a reason")
    ranked = await RankingService(container).rank(
        actor, period_id, scheme=scheme, level=level, within=within
    )
    content = ranking_csv(ranked).encode()
    export_id = uuid4()
    filters = {"period": period_id, "scheme": scheme, "level": level,
               "unit_id": None if within is None else str(within)}  # fmt: skip
    await container.pool.execute(
        "INSERT INTO export_audit (id, staff_id, role, scope_unit_id, what, format, filters, "
        "reason, row_count, file_sha256) VALUES ($1, $2, $3, $4, 'assessment_ranking', 'csv', "
        "$5::jsonb, $6, $7, $8)",
        export_id, actor.staff_id, actor.role, actor.scope_unit_id, json.dumps(filters), why,
        len(ranked), hashlib.sha256(content).hexdigest(),
    )  # fmt: skip
    return f"ranking-{period_id}-{level}-{export_id.hex[:8]}.csv", content
