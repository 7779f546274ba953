"""Bulk import of an existing household ledger (一户一档) from XLSX or CSV.

All-or-nothing by default: every bad row is reported with its row number and reason and
nothing is written; only a file that validates completely is written (in chunks, see
``_save_in_chunks``). Re-importing is idempotent without bookkeeping:
a household's id derives from its 户编号, and a household already in the ledger is compared
with the file by the same content hash the parser computes — equal means "unchanged"; a
difference is reported (the ledger has moved on; edits go through the ledger, not the file).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import date
from typing import Literal, cast
from uuid import UUID, uuid4, uuid5

import msgspec
from anyio import to_thread
from eventsourcing.application import AggregateNotFoundError

from backend.bootstrap import Container
from backend.errors import ApiError
from backend.ledger_import import (
    RELATION_LABELS,
    LedgerFormatError,
    LedgerHousehold,
    LedgerPerson,
    RowError,
    content_hash,
    parse_ledger,
)
from backend.ledger_import import (
    Relation as LedgerRelation,
)
from backend.services.actor import Actor
from backend.services.scope import require_role
from events.errors import DomainError
from events.household import Household
from events.household_fields import PersonRecord, Relation
from events.meta import EventMeta

__all__ = ["ImportOutcome", "LedgerImportService"]

Status = Literal["created", "unchanged", "differs"]
_SAVE_CHUNK = 500
# The ledger speaks in codes, the domain in the 户籍 labels it records.
_TO_DOMAIN_RELATION: dict[LedgerRelation, Relation] = {
    code: cast(Relation, label) for code, label in RELATION_LABELS.items()
}
_TO_LEDGER_RELATION: dict[Relation, LedgerRelation] = {
    label: code for code, label in _TO_DOMAIN_RELATION.items()
}


class HouseholdOutcome(msgspec.Struct, kw_only=True):
    household_no: str
    first_row: int
    status: Status


class ImportOutcome(msgspec.Struct, kw_only=True):
    import_id: UUID | None
    file_sha256: str
    rows: int
    households: int
    created: int
    unchanged: int
    differs: int
    errors: list[RowError]
    outcomes: list[HouseholdOutcome]


class LedgerImportService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.pool = container.pool

    async def import_file(
        self, actor: Actor, data: bytes, *, filename: str, allow_partial: bool
    ) -> ImportOutcome:
        require_role(actor, "admin", "supervisor")
        today = self.container.clock.today()  # bounds birth dates read from the file
        parsed = await to_thread.run_sync(lambda: _parse(data, filename, today))
        grids = await self._grids_in_scope(actor)
        households, errors = _check_grids(parsed.households, grids)
        errors = [*parsed.errors, *errors]
        if errors and not allow_partial:
            raise ApiError(
                42210,
                f"{len(errors)} problem(s) in the file; nothing was imported",
                errors=[msgspec.to_builtins(e) for e in errors],
            )
        outcome = await self._write_with_meta(
            households,
            grids,
            actor.meta(),
            filename=filename,
            actor_id=actor.staff_id,
            file_sha256=hashlib.sha256(data).hexdigest(),
            allow_partial=allow_partial,
        )
        outcome.rows, outcome.errors = parsed.row_count, [*errors, *outcome.errors]
        return outcome

    async def import_households(
        self,
        households: Sequence[LedgerHousehold],
        *,
        meta: EventMeta,
        grids: dict[str, tuple[UUID, int]],
    ) -> ImportOutcome:
        """For trusted callers (the demo seeder): no role or scope check."""
        return await self._write_with_meta(
            list(households),
            grids,
            meta,
            filename="demo",
            file_sha256="",
            actor_id=None,
            allow_partial=False,
        )

    async def _grids_in_scope(self, actor: Actor) -> dict[str, tuple[UUID, int]]:
        rows = await self.pool.fetch(
            "SELECT code, id, level FROM grid_units WHERE path @> ARRAY[$1]::uuid[] "
            "AND status = 'active' AND level >= 3",
            actor.scope_unit_id,
        )
        return {r["code"]: (r["id"], r["level"]) for r in rows}

    async def _write_with_meta(
        self,
        households: list[LedgerHousehold],
        grids: dict[str, tuple[UUID, int]],
        meta: EventMeta,
        *,
        filename: str,
        file_sha256: str,
        actor_id: UUID | None,
        allow_partial: bool,
    ) -> ImportOutcome:
        codes = {gid: code for code, (gid, _) in grids.items()}
        outcomes, position, errors = await to_thread.run_sync(
            lambda: self._save_new(households, grids, codes, meta, allow_partial=allow_partial)
        )
        if position:
            self.container.runner.wake()
            await self.container.runner.wait_for(position, timeout=60.0)
        counts = {
            s: sum(1 for o in outcomes if o.status == s)
            for s in ("created", "unchanged", "differs")
        }
        outcome = ImportOutcome(
            import_id=uuid4(),
            file_sha256=file_sha256,
            rows=0,
            households=len(outcomes),
            created=counts["created"],
            unchanged=counts["unchanged"],
            differs=counts["differs"],
            errors=errors,
            outcomes=outcomes,
        )
        await self.pool.execute(
            "INSERT INTO ledger_imports (import_id, file_sha256, filename, actor_id, summary) "
            "VALUES ($1, $2, $3, $4, $5::jsonb)",
            outcome.import_id,
            file_sha256,
            filename,
            actor_id,
            json.dumps(counts),
        )
        return outcome

    def _save_new(
        self,
        households: list[LedgerHousehold],
        grids: dict[str, tuple[UUID, int]],
        codes: dict[UUID, str],
        meta: EventMeta,
        *,
        allow_partial: bool,
    ) -> tuple[list[HouseholdOutcome], int, list[RowError]]:
        repository = self.container.event_log.repository
        new: list[Household] = []
        outcomes: list[HouseholdOutcome] = []
        errors: list[RowError] = []
        today = self.container.clock.today()
        for h in households:
            hid = Household.id_for_number(h.household_no)
            try:
                existing: Household = repository.get(hid)
            except AggregateNotFoundError:
                try:
                    new.append(_register(h, grids[h.grid_code][0], today, meta))
                except DomainError as err:
                    # The parser checks formats; the aggregate has the last word on invariants.
                    errors.append(RowError(row_number=h.first_row, column=None, reason=err.errmsg))
                    continue
                outcomes.append(
                    HouseholdOutcome(
                        household_no=h.household_no, first_row=h.first_row, status="created"
                    )
                )
                continue
            same = _existing_hash(existing, codes) == h.content_hash
            outcomes.append(
                HouseholdOutcome(
                    household_no=h.household_no,
                    first_row=h.first_row,
                    status="unchanged" if same else "differs",
                )
            )
        if errors and not allow_partial:
            raise ApiError(
                42210,
                f"{len(errors)} problem(s) in the file; nothing was imported",
                errors=[msgspec.to_builtins(e) for e in errors],
            )
        if not new:
            return outcomes, 0, errors
        return outcomes, self._save_in_chunks(new), errors

    def _save_in_chunks(self, households: list[Household]) -> int:
        """Large saves deadlock in psycopg's pipeline mode (seen with ~6,000 events), so the
        validated households go in chunks. A failure part-way leaves a prefix; re-importing
        the same file completes it, because ids derive from 户编号 and equal households are
        reported unchanged."""
        position = 0
        for start in range(0, len(households), _SAVE_CHUNK):
            recordings = self.container.event_log.save(*households[start : start + _SAVE_CHUNK])
            position = int(recordings[-1].notification.id)
        return position


def _parse(data: bytes, filename: str, today: date):  # type: ignore[no-untyped-def]
    try:
        return parse_ledger(data, filename=filename, today=today)
    except LedgerFormatError as err:
        raise ApiError(40020, err.errmsg) from None


def _check_grids(
    households: Sequence[LedgerHousehold], grids: dict[str, tuple[UUID, int]]
) -> tuple[list[LedgerHousehold], list[RowError]]:
    ok, errors = [], []
    for h in households:
        if h.grid_code in grids:
            ok.append(h)
            continue
        for p in h.persons:
            errors.append(
                RowError(
                    row_number=p.row_number,
                    column="grid_code",
                    reason="网格不存在、已撤销或不在您的范围内 "
                    "(grid unknown, retired or outside your scope)",
                )
            )
    return ok, errors


def _person_id(household_id: UUID, person: LedgerPerson) -> UUID:
    return uuid5(household_id, f"{person.name}|{person.id_number or ''}|{person.row_number}")


def _register(h: LedgerHousehold, grid_id: UUID, today: date, meta: EventMeta) -> Household:
    hid = Household.id_for_number(h.household_no)
    persons = tuple(
        PersonRecord(
            person_id=_person_id(hid, p),
            name=p.name,
            gender=p.gender,
            birth_date=p.birth_date,
            id_number=p.id_number,
            phone=p.phone,
            relation=_TO_DOMAIN_RELATION[p.relation],
            tags=p.tags,
        )
        for p in h.persons
    )
    return Household.register(
        household_no=h.household_no,
        grid_id=grid_id,
        address=h.address,
        phone=h.phone,
        persons=persons,
        effective_from=today,
        meta=meta,
    )


def _existing_hash(existing: Household, codes: dict[UUID, str]) -> str | None:
    code = codes.get(existing.grid_id)
    if code is None or existing.dissolved:
        return None
    persons = tuple(
        LedgerPerson(
            name=p.name,
            relation=_TO_LEDGER_RELATION[p.relation],
            gender=p.gender,
            birth_date=p.birth_date,
            id_number=p.id_number,
            phone=p.phone,
            tags=p.tags,
            row_number=0,
        )
        for p in existing.persons.values()
    )
    return content_hash(
        household_no=existing.household_no,
        grid_code=code,
        address=existing.address or "",
        phone=existing.fields["phone"],
        persons=persons,
    )
