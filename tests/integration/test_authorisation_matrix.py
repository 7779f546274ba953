"""Authorisation matrix: every operation × every role × in-scope and out-of-scope resources.

Three resource sets, each with its own secret words (tests/support/scope_matrix): grid A1 and
grid B1 of this township, and grid A1 of another township. A role's out-of-scope sets are the
ones outside its unit (town roles: the other town; village-A roles and member A1: B1 and the
other town; member B1: A1 and the other town); its in-scope set is A1 (B1 for member B1).

Order matters and is kept by the module. First every role calls every operation against
every set outside its scope: an action must be refused (403/404 with its errcode); a list,
the caller's own things or a global read may answer, but no answer may hold a word of the
set, nor an id of it that the request did not name itself. Writes about no set at all
(reference data) are called there only by the roles refused them. Then the sets' aggregates
must be at the event versions they had before: no write went through.

Only then the in-scope pass runs, operation by operation, against the role policy in
scope_matrix/policy.py: the roles it refuses call first (403 with its errcode), then the
permitted ones (2xx; reads listed in SHOWS must show the set). Calls that end or move things
aim at the set's spares, so later calls still find the set whole; reference data changes only
on probe codes and the year 2099. Steps of one resource's life (STATEFUL) may answer 409 to
the later permitted callers, but every operation some role may call must go through for one
of them (except NO_FIRST_SUCCESS). Every answer must be a status the operation documents, and
nothing may 5xx. Failures are gathered per pass and reported together, one line per cell.
"""

from __future__ import annotations

from uuid import UUID

import httpx
import pytest
from litestar import Litestar

from backend.bootstrap import Container
from tests.support.scope_matrix import (
    FILTERS,
    KIND,
    TABLE,
    WORDS,
    Cell,
    Operation,
    Place,
    ResourceSet,
    build_set,
    call,
    event_versions,
    leaked,
    operations,
    spare_view,
)
from tests.support.scope_matrix.policy import (
    GLOBAL,
    PERMITTED,
    ROLE_OF,
    SHOWS,
    STATEFUL,
    UNCALLED,
    UNSCOPED,
    callers,
    in_scope_order,
    permitted,
)
from tests.support.world import World, build_world

Client = httpx.AsyncClient
Sets = dict[str, tuple[World, ResourceSet]]

OUTSIDE = {
    "admin": ("other",),
    "supervisor": ("other",),
    "auditor": ("other",),
    "head_a": ("b1", "other"),
    "mediator_a": ("b1", "other"),
    "member_a1": ("b1", "other"),
    "member_b1": ("a1", "other"),
}
HOME = {role: ("b1" if role == "member_b1" else "a1") for role in ROLE_OF}
B1_PLACE = Place(
    grid="grid_b1",
    village="village_b",
    member="member_b1",
    decider="supervisor",  # village B has no grid head of its own
    elsewhere_grid="grid_a1",
    elsewhere_village="village_a",
    nearby_grid="grid_a1",  # village B has one grid: a member's move goes out of scope
    member_alone=True,
)
# Steps no caller is expected to get through, only to be refused or not by the role policy:
# the spare case has passed "handled" before failCaseVerification comes (policy.CASE_ORDER);
# the held push names a household never registered, so accepting it cannot apply (40910;
# tests/integration/test_sync_push*.py accept appliable ones); and an evidence bundle waits
# for the sealer to sign the set's events (40990, retry) unless it has run by then.
NO_FIRST_SUCCESS = frozenset({"failCaseVerification", "acceptSyncReview", "exportEvidenceBundle"})


@pytest.fixture(scope="module")
async def sets(client: Client, container: Container, world: World) -> Sets:
    other = await build_world(container)
    places = {"a1": (world, Place()), "b1": (world, B1_PLACE)}
    places["other"] = (other, Place(names_are_secret=False))
    built: Sets = {}
    for key, (home, place) in places.items():
        label = key.upper()[:2]
        built[key] = (home, await build_set(client, container, home, WORDS[key], label=label,
                                            place=place))  # fmt: skip
    return built


@pytest.fixture(scope="module")
async def versions_before(container: Container, sets: Sets) -> dict[UUID, int]:
    return await event_versions(container.pool, _all_ids(sets))


def _all_ids(sets: Sets) -> list[UUID]:
    return [i for _, target in sets.values() for i in target.aggregate_ids()]


def _ids(target: ResourceSet) -> list[str]:
    return [str(i) for i in target.aggregate_ids()]


def _documented(operation: Operation, response: httpx.Response) -> str | None:
    if response.status_code >= 500:
        return "server error"
    if response.status_code not in operation.statuses:
        return f"status not in the schema {sorted(operation.statuses)}"
    return None


def _refusal(response: httpx.Response, op_id: str = "") -> str | None:
    if op_id == "importLedger" and response.status_code == 422:
        # a ledger names its grids inside the file: a grid out of scope is a bad row (42210)
        return None if response.json()["errcode"] == 42210 else "refused without its errcode"
    if response.status_code not in (403, 404):
        return "not refused"
    errcode = response.json().get("errcode", 0)
    return None if errcode // 100 == response.status_code else "refused without its errcode"


def _body_of(request: httpx.Request) -> str:
    try:
        return request.content.decode(errors="replace")
    except httpx.RequestNotRead:  # a multipart upload: a photo or a ledger, no ids in it
        return ""


def _judge_outside(
    op_id: str, operation: Operation, response: httpx.Response, target: ResourceSet
) -> str | None:
    """Refused, or (lists, own things, global reads) answered without the set's words or ids."""
    kind = "global" if op_id in GLOBAL or op_id in UNSCOPED else KIND.get(op_id, "act")
    problem = _documented(operation, response)
    if problem is None and (kind == "act" or response.status_code >= 300):
        problem = _refusal(response, op_id)
    words = _unasked(response, target)
    return problem or (f"leaked {words}" if words else None)


def _unasked(response: httpx.Response, target: ResourceSet) -> list[str]:
    """The set's words in the answer, and any id of it the request did not name itself."""
    asked = str(response.request.url) + _body_of(response.request)
    found = [i for i in _ids(target) if i in response.text and i not in asked]
    return leaked(response, target) + found


async def _call(
    client: Client,
    app_ops: dict[str, Operation],
    op_id: str,
    role: str,
    sets: Sets,
    key: str,
    *,
    in_scope: bool,
) -> httpx.Response:
    world, target = sets[key]
    caller_world = sets[HOME[role]][0]
    if in_scope:
        target = spare_view(target, op_id)
    if op_id in GLOBAL:
        spec = GLOBAL[op_id][1](world, target, role)
        operation = app_ops[op_id]
        return await client.request(
            operation.method,
            operation.template,
            headers=caller_world.headers[role],
            params=spec.params,
        )
    return await call(
        client, app_ops[op_id], op_id, headers=caller_world.headers[role], world=world,
        target=target, who=role,
    )  # fmt: skip


def test_the_matrix_covers_every_operation_of_the_schema(app: Litestar) -> None:
    # given the operations the app serves
    served = set(operations(app))

    # then each is called with a resource, called as a global read, or named as not called
    assert served - UNCALLED == set(TABLE) | set(GLOBAL)
    # and the role policy says who may call every operation of the table
    assert set(PERMITTED) == set(TABLE)


@pytest.mark.parametrize("role", sorted(OUTSIDE))
async def test_outside_its_scope_a_role_gets_nothing(
    client: Client, app: Litestar, sets: Sets, versions_before: dict[UUID, int], role: str
) -> None:
    # given a role and the resource sets outside its scope
    app_ops = operations(app)
    failures: list[Cell] = []

    # when it calls every operation against each of them
    for key in OUTSIDE[role]:
        for op_id in _outside_ops(app_ops, role):
            response = await _call(client, app_ops, op_id, role, sets, key, in_scope=False)
            problem = _judge_outside(op_id, app_ops[op_id], response, sets[key][1])
            if problem:
                failures.append(Cell.of(role, op_id, key, response, problem))
        # and lists again, filtered by the set's grid, household, staff member or name
        world, target = sets[key]
        for op_id, filters in FILTERS.items():
            for params in (f(target) for f in filters):
                response = await call(
                    client, app_ops[op_id], op_id, headers=sets[HOME[role]][0].headers[role],
                    world=world, target=target, who=role, params=params,
                )  # fmt: skip
                problem = _judge_outside(op_id, app_ops[op_id], response, target)
                if problem:
                    failures.append(Cell.of(role, f"{op_id}{params}", key, response, problem))

    # then every call is refused or answers without a word or id of that set
    assert not failures, "\n".join(map(str, failures))


async def test_the_filtered_lists_do_show_a_set_in_scope(
    client: Client, app: Litestar, sets: Sets
) -> None:
    # given the lists filtered by A1's grid, household, member or name (as above)
    app_ops, (world, target) = operations(app), sets["a1"]
    blind = []

    # when the head of village A (need-to-know for tags, scope: A1's village) calls them
    for op_id, filters in FILTERS.items():
        for params in (f(target) for f in filters):
            response = await call(
                client, app_ops[op_id], op_id, headers=world.headers["head_a"], world=world,
                target=target, who="head_a", params=params,
            )  # fmt: skip
            if response.status_code != 200 or not _unasked(response, target):
                blind.append(f"{op_id}{params} {response.status_code}: {response.text[:160]}")

    # then each shows A1 (a word, or an id not asked for), so the out-of-scope check of the
    # same call has teeth
    assert blind == [], "\n".join(blind)


async def test_no_write_from_outside_changed_a_set(
    container: Container, sets: Sets, versions_before: dict[UUID, int]
) -> None:
    # given every role has called every operation on every set outside its scope (above)
    # when the sets' aggregates are read back from the event store
    after = await event_versions(container.pool, _all_ids(sets))

    # then none of them has a new event (and the check saw every set's household and case)
    assert after == versions_before
    seen = {UUID(i) for _, t in sets.values() for i in (t.household_id, t.case_id, t.unit_id)}
    assert seen <= set(versions_before)


def _judge_inside(
    op_id: str, operation: Operation, response: httpx.Response, target: ResourceSet, role: str
) -> str | None:
    problem = _documented(operation, response)
    if problem:
        return problem
    if not permitted(role, op_id):
        if response.status_code != 403:
            return "role not refused"
        return _refusal(response)
    if op_id in STATEFUL and response.status_code in (404, 409):
        return _refusal(response) if response.status_code == 404 else None
    if response.status_code >= 300:
        return "permitted call failed"
    if op_id in SHOWS and not _unasked(response, target):
        return "in-scope read shows nothing of the set"
    return None


async def test_inside_its_scope_each_role_gets_what_the_policy_grants(
    client: Client, app: Litestar, sets: Sets
) -> None:
    # given the out-of-scope passes are done (above), operation by operation
    app_ops = operations(app)
    failures: list[Cell] = []
    succeeded: set[str] = set()
    for op_id in in_scope_order([*TABLE, *GLOBAL]):
        # when each role calls it on its home set, the roles the policy refuses first
        for role in callers(op_id, list(ROLE_OF)):
            key = HOME[role]
            response = await _call(client, app_ops, op_id, role, sets, key, in_scope=True)
            target = spare_view(sets[key][1], op_id)
            problem = _judge_inside(op_id, app_ops[op_id], response, target, role)
            if problem:
                failures.append(Cell.of(role, op_id, key, response, problem))
            if response.status_code < 300:
                succeeded.add(op_id)

    # then refused roles get a 403, permitted ones their answer (and reads show the set)
    assert not failures, "\n".join(map(str, failures))
    # and every operation some role may call went through for at least one of them
    callable_ops = {op for op in [*TABLE, *GLOBAL] if any(permitted(r, op) for r in ROLE_OF)}
    assert callable_ops - succeeded - NO_FIRST_SUCCESS == set()


def _outside_ops(app_ops: dict[str, Operation], role: str) -> list[str]:
    """Every operation, but writes about no set only for roles refused them anyway."""

    def about_no_set(op_id: str) -> bool:
        return op_id in UNSCOPED and app_ops[op_id].method != "GET" and permitted(role, op_id)

    return [op for op in [*sorted(TABLE), *sorted(GLOBAL)] if not about_no_set(op)]
