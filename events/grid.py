"""The grid tree: ``GridUnit`` aggregate (DESIGN §2).

Levels: 1 镇/乡 town, 2 村/社区 village, 3 网格 grid, 4 微网格 micro-grid. Codes: levels 1 and 2
are 12-digit 统计用区划代码 (a village shares its town's first 9 digits); level 3 is the
parent's code + 3 digits; level 4 the parent's 15 digits + 2.

The aggregate id is derived from the code, so creating a unit with a code that was ever used
collides in the event store (version 1 already exists) even after retirement: codes are never
reused. A parent must be exactly one level up, which also rules out cycles when moving.
History is effective-dated: ``periods`` records each state from its ``effective_from`` on.
"""

import re
from datetime import date
from typing import Final, Literal, Self, get_args
from uuid import UUID

import msgspec
from eventsourcing.domain import Aggregate, event

from events.codes import CodeKeyed
from events.errors import InvalidGridCode, InvalidTransition, InvalidValue
from events.meta import EventMeta
from events.validation import ensure_not_before, validate_text

__all__ = [
    "GRID_NAMESPACE",
    "GridLevel",
    "GridPeriod",
    "GridUnit",
    "GridUnitSnapshot",
    "UnitStatus",
    "validate_grid_code",
]

GridLevel = Literal[1, 2, 3, 4]
UnitStatus = Literal["active", "retired"]
GRID_NAMESPACE: Final = UUID("6b1f0d2e-3c4a-5b6c-8d7e-9f0a1b2c3d4e")
NAME_MAX: Final = 64
_CODE_LENGTH: Final[dict[int, int]] = {1: 12, 2: 12, 3: 15, 4: 17}
# Length of the parent's code that a child must repeat (village: province..town = 9 digits).
_PARENT_PREFIX: Final[dict[int, int]] = {2: 9, 3: 12, 4: 15}


class GridPeriod(msgspec.Struct, frozen=True, kw_only=True):
    """State of a unit from ``effective_from`` until the next period."""

    effective_from: date
    name: str
    parent_id: UUID | None
    status: UnitStatus


class GridUnitSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """What a unit looked like on a given day."""

    id: UUID
    code: str
    level: int
    name: str
    parent_id: UUID | None
    status: UnitStatus
    effective_from: date


def validate_grid_code(
    code: str, level: int, *, parent_level: int | None, parent_code: str | None
) -> str:
    """Check the code's shape for its level and that it extends its parent's code."""
    if level not in get_args(GridLevel):
        raise InvalidGridCode("level must be 1..4", level=level)
    code = code.strip()
    if not re.fullmatch(rf"\d{{{_CODE_LENGTH[level]}}}", code):
        raise InvalidGridCode(f"level {level} code must have {_CODE_LENGTH[level]} digits")
    if level == 1:
        if parent_level is not None or parent_code is not None:
            raise InvalidGridCode("a level 1 unit has no parent", level=level)
        return code
    if parent_level != level - 1 or parent_code is None:
        raise InvalidGridCode("parent must be one level up", level=level, parent=parent_level)
    prefix = _PARENT_PREFIX[level]
    if len(parent_code) != _CODE_LENGTH[level - 1] or code[:prefix] != parent_code[:prefix]:
        raise InvalidGridCode("code does not extend the parent's code", code=code)
    if level == 2 and code == parent_code:
        raise InvalidGridCode("village code equals its town's code", code=code)
    return code


class GridUnit(CodeKeyed, Aggregate):
    """A node of the grid tree with effective-dated name, parent and status."""

    id_namespace = GRID_NAMESPACE
    id_prefix = "grid-unit:"

    class Created(Aggregate.Created):
        code: str
        name: str
        level: int
        parent_id: UUID | None
        effective_from: date
        meta: EventMeta

    class Renamed(Aggregate.Event):
        name: str
        effective_from: date
        meta: EventMeta

    class Moved(Aggregate.Event):
        new_parent_id: UUID
        effective_from: date
        meta: EventMeta

    class Retired(Aggregate.Event):
        effective_from: date
        reason: str
        meta: EventMeta

    @classmethod
    def create(
        cls,
        *,
        code: str,
        name: str,
        level: int,
        parent_id: UUID | None,
        parent_level: int | None,
        parent_code: str | None,
        effective_from: date,
        meta: EventMeta,
    ) -> Self:
        """Validate and create; the caller looked up the parent's level and code."""
        code = validate_grid_code(code, level, parent_level=parent_level, parent_code=parent_code)
        if (parent_id is None) != (level == 1):
            raise InvalidGridCode("only a level 1 unit has no parent_id", level=level)
        return cls(
            code=code,
            name=validate_text(name, field="name", max_len=NAME_MAX),
            level=level,
            parent_id=parent_id,
            effective_from=effective_from,
            meta=meta,
        )

    @event(Created)
    def __init__(
        self,
        code: str,
        name: str,
        level: int,
        parent_id: UUID | None,
        effective_from: date,
        meta: EventMeta,
    ) -> None:
        self.code = code
        self.level = level
        self.periods: list[GridPeriod] = [
            GridPeriod(
                effective_from=effective_from, name=name, parent_id=parent_id, status="active"
            )
        ]

    # -- queries ---------------------------------------------------------------------------

    @property
    def current(self) -> GridPeriod:
        return self.periods[-1]

    @property
    def name(self) -> str:
        return self.current.name

    @property
    def parent_id(self) -> UUID | None:
        return self.current.parent_id

    @property
    def status(self) -> UnitStatus:
        return self.current.status

    def as_of(self, day: date) -> GridUnitSnapshot | None:
        """The unit as it stood on ``day``; None before its creation."""
        # Later periods win on equal dates: they were recorded after the earlier ones.
        period = next((p for p in reversed(self.periods) if p.effective_from <= day), None)
        if period is None:
            return None
        return GridUnitSnapshot(
            id=self.id,
            code=self.code,
            level=self.level,
            name=period.name,
            parent_id=period.parent_id,
            status=period.status,
            effective_from=period.effective_from,
        )

    # -- commands --------------------------------------------------------------------------

    def rename(self, name: str, effective_from: date, *, meta: EventMeta) -> None:
        """Rename from ``effective_from``; renaming to the current name is a no-op."""
        self._check_change(effective_from)
        name = validate_text(name, field="name", max_len=NAME_MAX)
        if name != self.name:
            self._renamed(name=name, effective_from=effective_from, meta=meta)

    def move(
        self, new_parent_id: UUID, new_parent_level: int, effective_from: date, *, meta: EventMeta
    ) -> None:
        """Re-parent under a unit one level up; the code stays (codes are identities)."""
        self._check_change(effective_from)
        if new_parent_id == self.id:
            raise InvalidValue("a unit cannot be its own parent", field="new_parent_id")
        if self.level == 1 or new_parent_level != self.level - 1:
            raise InvalidGridCode("parent must be one level up", level=self.level)
        if new_parent_id != self.parent_id:
            self._moved(new_parent_id=new_parent_id, effective_from=effective_from, meta=meta)

    def retire(self, effective_from: date, reason: str, *, meta: EventMeta) -> None:
        """Retire the unit; its code stays taken forever."""
        self._check_change(effective_from)
        reason = validate_text(reason, field="reason", max_len=200)
        self._retired(effective_from=effective_from, reason=reason, meta=meta)

    def _check_change(self, effective_from: date) -> None:
        if self.status == "retired":
            raise InvalidTransition("grid unit is retired", state="retired", code=self.code)
        ensure_not_before(effective_from, self.current.effective_from)

    # -- event appliers (also run on replay: no validation here) ----------------------------

    def _push(self, effective_from: date, **changes: object) -> None:
        new = msgspec.structs.replace(self.current, effective_from=effective_from, **changes)
        self.periods.append(new)

    @event(Renamed)
    def _renamed(self, name: str, effective_from: date, meta: EventMeta) -> None:
        self._push(effective_from, name=name)

    @event(Moved)
    def _moved(self, new_parent_id: UUID, effective_from: date, meta: EventMeta) -> None:
        self._push(effective_from, parent_id=new_parent_id)

    @event(Retired)
    def _retired(self, effective_from: date, reason: str, meta: EventMeta) -> None:
        self._push(effective_from, status="retired")
