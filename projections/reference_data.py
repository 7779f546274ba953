"""Read model of reference data: case categories, point rules with their versions, the admin's
SLA rule set and the holiday-calendar overrides.

Reference data is small and changes rarely, so each event is written as it comes; what
matters is that every API process reads the same rows (no process-wide cache can go stale
when another process changes a rule). ``updated_position`` on every row gives the bundle a
cheap revision: the highest position of any reference row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, Final, TypeAlias

import asyncpg
import msgspec

from events.point_rules import RuleVersion
from events.sla import SlaRule
from projections.engine import Recorded

__all__ = [
    "ReferenceDataProjection",
    "calendar_overrides",
    "get_category",
    "get_point_rule",
    "list_categories",
    "list_point_rules",
    "point_rule_version",
    "reference_revision",
    "rule_versions",
    "sla_rules",
]

_PREFIXES: Final = (
    "events.reference:CaseCategory.",
    "events.point_rules:PointRule.",
    "events.reference_settings:",
)
_RULES: Final = msgspec.json.Decoder(tuple[SlaRule, ...])
_ENCODER: Final = msgspec.json.Encoder()
Conn: TypeAlias = "asyncpg.Pool | asyncpg.Connection"


class ReferenceDataProjection:
    name = "reference_data"
    tables: tuple[str, ...] = (
        "ref_case_categories",
        "ref_point_rules",
        "ref_point_rule_versions",
        "ref_sla_rule_set",
        "ref_calendar_overrides",
    )
    ddl = """
    CREATE TABLE IF NOT EXISTS ref_case_categories (
        code text PRIMARY KEY,
        id uuid NOT NULL UNIQUE,
        label text NOT NULL,
        parent_code text,
        mediation_eligible boolean NOT NULL,
        active boolean NOT NULL,
        version int NOT NULL,
        updated_position bigint NOT NULL
    );
    CREATE TABLE IF NOT EXISTS ref_point_rules (
        code text PRIMARY KEY,
        id uuid NOT NULL UNIQUE,
        trigger text NOT NULL,
        target text NOT NULL,
        current_version int NOT NULL,
        retired_from date,
        version int NOT NULL,
        updated_position bigint NOT NULL
    );
    CREATE TABLE IF NOT EXISTS ref_point_rule_versions (
        code text NOT NULL,
        rule_version int NOT NULL,
        trigger text NOT NULL,
        target text NOT NULL,
        points int NOT NULL,
        daily_cap int,
        total_cap int,
        commendation text,
        label text NOT NULL,
        effective_from date NOT NULL,
        PRIMARY KEY (code, rule_version)
    );
    CREATE TABLE IF NOT EXISTS ref_sla_rule_set (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        rules jsonb NOT NULL,
        version int NOT NULL,
        updated_at timestamptz NOT NULL,
        updated_position bigint NOT NULL
    );
    CREATE TABLE IF NOT EXISTS ref_calendar_overrides (
        year int PRIMARY KEY,
        holidays date[] NOT NULL,
        makeup_days date[] NOT NULL,
        updated_at timestamptz NOT NULL,
        updated_position bigint NOT NULL
    );
    """

    def interested(self, topic: str) -> bool:
        return topic.startswith(_PREFIXES)

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Recorded]) -> None:
        for rec in batch:
            # Qualified names: CaseCategory.Defined and PointRule.Defined share a short name.
            handler = _HANDLERS.get(type(rec.event).__qualname__)
            if handler is not None:
                await handler(conn, rec.event, rec.position)


async def _category_defined(conn: asyncpg.Connection, e: Any, position: int) -> None:
    await conn.execute(
        "INSERT INTO ref_case_categories (code, id, label, parent_code, mediation_eligible, "
        "active, version, updated_position) VALUES ($1, $2, $3, $4, $5, true, $6, $7)",
        e.code,
        e.originator_id,
        e.label,
        e.parent_code,
        e.mediation_eligible,
        e.originator_version,
        position,
    )


async def _category_changed(conn: asyncpg.Connection, e: Any, position: int) -> None:
    relabelled = type(e).__name__ == "Relabelled"
    await conn.execute(
        "UPDATE ref_case_categories SET label = coalesce($2, label), "
        "active = active AND NOT $3, version = $4, updated_position = $5 WHERE id = $1",
        e.originator_id,
        e.label if relabelled else None,
        not relabelled,
        e.originator_version,
        position,
    )


async def _rule_defined(conn: asyncpg.Connection, e: Any, position: int) -> None:
    await conn.execute(
        "INSERT INTO ref_point_rules (code, id, trigger, target, current_version, version, "
        "updated_position) VALUES ($1, $2, $3, $4, 1, $5, $6)",
        e.code,
        e.originator_id,
        e.trigger,
        e.target,
        e.originator_version,
        position,
    )
    await _insert_version(conn, e.code, 1, e.trigger, e.target, e.terms, e.effective_from)


async def _rule_revised(conn: asyncpg.Connection, e: Any, position: int) -> None:
    row = await conn.fetchrow(
        "UPDATE ref_point_rules SET current_version = $2, version = $3, updated_position = $4 "
        "WHERE id = $1 RETURNING code, trigger, target",
        e.originator_id,
        e.rule_version,
        e.originator_version,
        position,
    )
    await _insert_version(
        conn, row["code"], e.rule_version, row["trigger"], row["target"], e.terms, e.effective_from
    )


async def _rule_retired(conn: asyncpg.Connection, e: Any, position: int) -> None:
    await conn.execute(
        "UPDATE ref_point_rules SET retired_from = $2, version = $3, updated_position = $4 "
        "WHERE id = $1",
        e.originator_id,
        e.effective_from,
        e.originator_version,
        position,
    )


async def _insert_version(
    conn: asyncpg.Connection,
    code: str,
    number: int,
    trigger: str,
    target: str,
    terms: Any,
    effective_from: date,
) -> None:
    await conn.execute(
        "INSERT INTO ref_point_rule_versions (code, rule_version, trigger, target, points, "
        "daily_cap, total_cap, commendation, label, effective_from) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
        code,
        number,
        trigger,
        target,
        terms.points,
        terms.daily_cap,
        terms.total_cap,
        terms.commendation,
        terms.label,
        effective_from,
    )


async def _rules_replaced(conn: asyncpg.Connection, e: Any, position: int) -> None:
    await conn.execute(
        "INSERT INTO ref_sla_rule_set (rules, version, updated_at, updated_position) "
        "VALUES ($1::jsonb, $2, $3, $4) ON CONFLICT (singleton) DO UPDATE SET rules = $1::jsonb, "
        "version = $2, updated_at = $3, updated_position = $4",
        _ENCODER.encode(e.rules).decode(),
        e.originator_version,
        e.timestamp,
        position,
    )


async def _year_set(conn: asyncpg.Connection, e: Any, position: int) -> None:
    await conn.execute(
        "INSERT INTO ref_calendar_overrides (year, holidays, makeup_days, updated_at, "
        "updated_position) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (year) DO UPDATE SET "
        "holidays = $2, makeup_days = $3, updated_at = $4, updated_position = $5",
        e.year,
        list(e.holidays),
        list(e.makeup_days),
        e.timestamp,
        position,
    )


async def _year_cleared(conn: asyncpg.Connection, e: Any, position: int) -> None:
    await conn.execute("DELETE FROM ref_calendar_overrides WHERE year = $1", e.year)


_HANDLERS: Final = {
    "CaseCategory.Defined": _category_defined,
    "CaseCategory.Relabelled": _category_changed,
    "CaseCategory.Retired": _category_changed,
    "PointRule.Defined": _rule_defined,
    "PointRule.Revised": _rule_revised,
    "PointRule.Retired": _rule_retired,
    "SlaRuleSet.RulesReplaced": _rules_replaced,
    "CalendarOverrides.YearSet": _year_set,
    "CalendarOverrides.YearCleared": _year_cleared,
}

# -- queries -------------------------------------------------------------------------------

_CATEGORY = "code, label, parent_code, mediation_eligible, active, version"
_RULE = (
    "r.code, r.trigger, r.target, r.current_version, r.retired_from, r.version, "
    "v.points, v.daily_cap, v.total_cap, v.commendation, v.label, v.effective_from"
)
_RULE_JOIN = (
    "FROM ref_point_rules r JOIN ref_point_rule_versions v "
    "ON v.code = r.code AND v.rule_version = r.current_version"
)
_VERSION = (
    "code, rule_version, trigger, target, points, daily_cap, total_cap, commendation, label, "
    "effective_from"
)


async def list_categories(conn: Conn, *, include_retired: bool) -> list[asyncpg.Record]:
    """Top-level categories first, each followed by its children (the phone's picker order)."""
    return list(
        await conn.fetch(
            f"SELECT {_CATEGORY} FROM ref_case_categories WHERE $1 OR active "
            "ORDER BY coalesce(parent_code, code), parent_code IS NOT NULL, code",
            include_retired,
        )
    )


async def get_category(conn: Conn, code: str) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {_CATEGORY} FROM ref_case_categories WHERE code = $1", code)


async def list_point_rules(conn: Conn, *, include_retired: bool) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            f"SELECT {_RULE} {_RULE_JOIN} WHERE $1 OR r.retired_from IS NULL ORDER BY r.code",
            include_retired,
        )
    )


async def get_point_rule(conn: Conn, code: str) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {_RULE} {_RULE_JOIN} WHERE r.code = $1", code)


async def rule_versions(conn: Conn, code: str) -> list[RuleVersion]:
    rows = await conn.fetch(
        f"SELECT {_VERSION} FROM ref_point_rule_versions WHERE code = $1 ORDER BY rule_version",
        code,
    )
    return [msgspec.convert(dict(r), RuleVersion) for r in rows]


async def point_rule_version(conn: Conn, code: str, on: date) -> RuleVersion | None:
    """The version in force on ``on`` (as ``PointRule.version_on``): versions never go back in
    time, so it is the highest-numbered one effective by then, unless the rule is retired."""
    row = await conn.fetchrow(
        f"SELECT {', '.join('v.' + c for c in _VERSION.split(', '))} "
        "FROM ref_point_rule_versions v JOIN ref_point_rules r ON r.code = v.code "
        "WHERE v.code = $1 AND v.effective_from <= $2 "
        "AND (r.retired_from IS NULL OR r.retired_from > $2) "
        "ORDER BY v.rule_version DESC LIMIT 1",
        code,
        on,
    )
    return None if row is None else msgspec.convert(dict(row), RuleVersion)


async def sla_rules(conn: Conn) -> tuple[tuple[SlaRule, ...], int]:
    """The admin's rules and the rule set's version; ``((), 0)`` when none was ever set."""
    row = await conn.fetchrow("SELECT rules, version FROM ref_sla_rule_set")
    if row is None:
        return (), 0
    return _RULES.decode(row["rules"]), int(row["version"])


async def calendar_overrides(conn: Conn) -> dict[int, tuple[list[date], list[date]]]:
    """year -> (holidays, make-up days), sorted."""
    rows = await conn.fetch(
        "SELECT year, holidays, makeup_days FROM ref_calendar_overrides ORDER BY year"
    )
    return {r["year"]: (sorted(r["holidays"]), sorted(r["makeup_days"])) for r in rows}


async def reference_revision(conn: Conn) -> int:
    """The log position of the latest change a phone's bundle reflects (0: none yet)."""
    value = await conn.fetchval(
        "SELECT greatest((SELECT max(updated_position) FROM ref_case_categories), "
        "(SELECT max(updated_position) FROM ref_point_rules), "
        "(SELECT max(updated_position) FROM ref_sla_rule_set))"
    )
    return int(value or 0)
