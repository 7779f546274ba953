"""Calling an operation of the schema against a resource set, and judging what came back."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
import httpx
from litestar import Litestar

from storage.eventstore import EVENTS_TABLE
from tests.support.scope_matrix.sets import SPARE_DEVICE, ResourceSet
from tests.support.scope_matrix.table import PATH_PARAMS, TABLE
from tests.support.world import World

__all__ = [
    "Cell",
    "Operation",
    "call",
    "event_versions",
    "leaked",
    "operations",
    "spare_view",
]

Client = httpx.AsyncClient


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    path_names: list[str]
    statuses: frozenset[int]  # the statuses the schema documents for it


def operations(app: Litestar) -> dict[str, Operation]:
    """operation_id -> how to reach it and what it may answer, from the app's schema."""
    schema = app.openapi_schema.to_schema()
    found: dict[str, Operation] = {}
    for path, item in schema["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and "operationId" in op:
                names = [p["name"] for p in op.get("parameters", []) if p.get("in") == "path"]
                statuses = frozenset(int(s) for s in op.get("responses", {}) if s.isdigit())
                found[op["operationId"]] = Operation(method.upper(), path, names, statuses)
    return found


async def call(
    client: Client,
    operation: Operation,
    operation_id: str,
    *,
    headers: dict[str, str],
    world: World,
    target: ResourceSet,
    who: str,
    params: dict[str, Any] | None = None,
) -> httpx.Response:
    """``who`` (a world key) calls ``operation_id`` aimed at ``target`` filed in ``world``."""
    values = target.path_values()
    assert set(values) == PATH_PARAMS
    url = operation.template.format(**{name: values[name] for name in operation.path_names})
    spec = TABLE[operation_id](world, target, who)
    return await client.request(
        operation.method,
        url,
        headers=headers,
        params={**spec.params, **(params or {})},
        json=spec.json,
        files=spec.files,
        data=spec.data,
    )


def leaked(response: httpx.Response, target: ResourceSet) -> list[str]:
    return [secret for secret in target.secrets if secret in response.text]


# In-scope calls that end or move something aim at the set's spares instead, so the calls
# after them still find the set's grid, member and household as the builder left them; and
# reference data is changed only on probe codes and a far year, never what others rely on.
_Swap = Callable[[ResourceSet], dict[str, Any]]
_UNIT: _Swap = lambda a: {"unit_id": a.spares["unit"]}  # noqa: E731
_STAFF: _Swap = lambda a: {"staff_id": a.spares["staff"], "device_id": SPARE_DEVICE}  # noqa: E731
_CASE: _Swap = lambda a: {"case_id": a.spares["case"]}  # noqa: E731
_SWAPS: dict[str, _Swap] = {
    **dict.fromkeys(("renameGridUnit", "moveGridUnit", "retireGridUnit"), _UNIT),
    **dict.fromkeys(("issueBindingCode", "reassignStaff", "relieveStaff", "unbindDevice"), _STAFF),
    "moveHousehold": lambda a: {
        "household_id": a.spares["move"], "elsewhere_grid_id": a.nearby_grid_id
    },
    "dissolveHousehold": lambda a: {"household_id": a.spares["dissolve"]},
    "removeHouseholdPerson": lambda a: {
        "household_id": a.spares["remove"], "spouse_id": a.spares["lodger"]
    },
    **dict.fromkeys(
        ("getPublicNoticeBoard", "getPublicNoticeBoardPage", "listNoticeBoardEditions"), lambda a: {
        "unit_id": a.village_id
    }),
    **dict.fromkeys(
        ("relabelCaseCategory", "retireCaseCategory", "revisePointRule", "retirePointRule"),
        lambda a: {"code": "scope_probe"},
    ),
    **dict.fromkeys(
        ("reviseAssessmentScheme", "retireAssessmentScheme"), lambda a: {"code": "scope-probe"}
    ),
    **dict.fromkeys(("setCalendarYear", "clearCalendarYear"), lambda a: {"year": "2099"}),
    "rejectCase": lambda a: {"case_id": a.spares["case_reject"]},
    "approveAward": lambda a: {"award_id": a.spares["award_approve"]},
    "rejectAward": lambda a: {"award_id": a.spares["award_reject"]},
    "returnCase": lambda a: {"case_id": a.spares["case_return"]},
}  # fmt: skip
_SWAPS |= dict.fromkeys(
    (
        "acceptCase", "registerCase", "dispatchCase", "signForCase", "handleCase",
        "verifyCase", "failCaseVerification", "closeCase", "reopenCase", "reportCaseUp",
        "superviseCase", "requestCaseDelay", "decideCaseDelay", "suspendCase", "resumeCase",
        "recordCaseSatisfaction",
    ),
    _CASE,
)  # fmt: skip


def spare_view(target: ResourceSet, operation_id: str) -> ResourceSet:
    """The set as an in-scope call of ``operation_id`` should see it (spares swapped in)."""
    swap = _SWAPS.get(operation_id)
    return dataclasses.replace(target, **swap(target)) if swap else target


async def event_versions(pool: asyncpg.Pool, ids: list[UUID]) -> dict[UUID, int]:
    """The stored version of each aggregate (a write that went through bumps it)."""
    rows = await pool.fetch(
        f"SELECT originator_id, max(originator_version) AS v FROM {EVENTS_TABLE} "
        "WHERE originator_id = ANY($1::uuid[]) GROUP BY originator_id",
        ids,
    )
    return {row["originator_id"]: int(row["v"]) for row in rows}


@dataclass(frozen=True)
class Cell:
    """One failed cell of a matrix: who called what, against which set, and what came back."""

    role: str
    operation_id: str
    target: str
    status: int
    problem: str
    body: str

    @classmethod
    def of(cls, role: str, op: str, target: str, response: httpx.Response, problem: str) -> Any:
        return cls(role, op, target, response.status_code, problem, response.text[:160])

    def __str__(self) -> str:
        where = f"{self.role:<10} {self.operation_id:<28} {self.target:<6} {self.status}"
        return f"{where} {self.problem}: {self.body}"
