"""Scope matrix: the grid member of B1 acting on grid A1's resources, for every operation.

Operations come from the app's OpenAPI schema, so a new endpoint shows up here by itself: the
coverage test fails until the table below says how to call it as member B1. Each call must be
refused (403/404) without a word of A1 in the answer; list operations answer, but with nothing
of A1, while an in-scope caller does see A1 through the same call (so the check has teeth).
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import pytest
from litestar import Litestar

from backend.ledger_import import write_ledger_csv
from tests.support.households import household_body, person, register, unique_no
from tests.support.world import World

Client = httpx.AsyncClient
Kind = Literal["act", "list", "own"]

# Operations that take no grid unit, staff or household: logging in, tokens, who-am-I, health.
EXEMPT = frozenset({"getHealth", "wxLogin", "refreshToken", "logout", "getMe", "devLogin"})


@dataclass
class A1:
    """Grid A1's resources, and the words of A1 that must never reach member B1."""

    unit_id: str
    staff_id: str
    household_id: str
    household_version: int
    head_id: str
    spouse_id: str
    conflict_id: str
    secrets: list[str]
    photo: bytes = b""
    sha256: str = ""

    def path_values(self) -> dict[str, str]:
        return {
            "unit_id": self.unit_id,
            "staff_id": self.staff_id,
            "household_id": self.household_id,
            "person_id": self.spouse_id,
            "conflict_id": self.conflict_id,
            "sha256": self.sha256,
        }


@dataclass
class Call:
    """How member B1 calls one operation against A1 (path values come from :class:`A1`)."""

    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    files: dict[str, Any] | None = None
    data: dict[str, str] | None = None


def _png() -> bytes:
    """A valid 1×1 PNG, different per module run (a tEXt chunk with a random word)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    note = b"Comment\x00" + unique_no("A1").encode()
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"tEXt", note)
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


def _ledger(world: World) -> dict[str, Any]:
    row = {
        "household_no": unique_no("A1IMP"),
        "grid_code": world.codes["grid_a1"],
        "address": "甲村秘密巷8号",
        "name": "越权导入",
        "relation": "户主",
    }
    return {"file": ("ledger.csv", write_ledger_csv([row]), "text/csv")}


TABLE: dict[str, Callable[[World, A1], Call]] = {
    # grid tree
    "listGridUnits": lambda w, a: Call(),
    "getGridUnit": lambda w, a: Call(),
    "createGridUnit": lambda w, a: Call(
        json={
            "code": w.codes["grid_a1"] + "01",
            "name": "越权微网格",
            "level": 4,
            "parent_id": a.unit_id,
        }
    ),
    "renameGridUnit": lambda w, a: Call(json={"name": "越权改名"}),
    "moveGridUnit": lambda w, a: Call(json={"new_parent_id": str(w.village_b)}),
    "retireGridUnit": lambda w, a: Call(json={"reason": "越权撤销"}),
    # staff
    "listStaff": lambda w, a: Call(params={"include_relieved": "true"}),
    "getStaff": lambda w, a: Call(),
    "listStaffAssignments": lambda w, a: Call(),
    "appointStaff": lambda w, a: Call(
        json={
            "name": "越权任命",
            "work_phone": "13912345678",
            "role": "grid_member",
            "scope_unit_id": a.unit_id,
        }
    ),
    "reassignStaff": lambda w, a: Call(
        json={"role": "grid_member", "scope_unit_id": str(w.grid_b1)}
    ),
    "relieveStaff": lambda w, a: Call(json={"reason": "越权免职"}),
    "issueBindingCode": lambda w, a: Call(),
    "unbindDevice": lambda w, a: Call(
        json={"staff_id": a.staff_id, "device_id": "device-member_a1"}
    ),
    # households
    "listHouseholds": lambda w, a: Call(params={"limit": 200}),
    "getHousehold": lambda w, a: Call(),
    "registerHousehold": lambda w, a: Call(json=household_body(w.grid_a1)),
    "updateHousehold": lambda w, a: Call(
        json={"base_version": a.household_version, "changes": [{"path": "notes", "value": "越权"}]}
    ),
    "resolveHouseholdConflict": lambda w, a: Call(json={"value": "越权"}),
    "addHouseholdPerson": lambda w, a: Call(json=person("越权添人", "其他")),
    "removeHouseholdPerson": lambda w, a: Call(json={"reason": "other"}),
    "tagHouseholdPerson": lambda w, a: Call(json={"tag": "dibao"}),
    "untagHouseholdPerson": lambda w, a: Call(json={"tag": "party_member"}),
    "moveHousehold": lambda w, a: Call(json={"grid_id": str(w.grid_b1)}),
    "dissolveHousehold": lambda w, a: Call(json={"reason": "越权销户"}),
    "importLedger": lambda w, a: Call(files=_ledger(w)),
    # photos: A1's photo is read or copied by B1; an upload of the same bytes is B1's own
    "getMedia": lambda w, a: Call(),
    "createPublicMediaCopy": lambda w, a: Call(),
    "uploadMedia": lambda w, a: Call(
        files={"file": ("x.png", a.photo, "image/png")},
        data={"sha256": a.sha256},
    ),
}


# Lists answer (with nothing of A1); "own" acts on the caller's own things; the rest are "act".
KIND: dict[str, Kind] = {
    "listGridUnits": "list",
    "listStaff": "list",
    "listHouseholds": "list",
    "uploadMedia": "own",
}
PATH_PARAMS = frozenset(
    {"unit_id", "staff_id", "household_id", "person_id", "conflict_id", "sha256"}
)


def operations(app: Litestar) -> dict[str, tuple[str, str, list[str]]]:
    """operation_id -> (method, path template, path parameter names), from the schema."""
    schema = app.openapi_schema.to_schema()
    found: dict[str, tuple[str, str, list[str]]] = {}
    for path, item in schema["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and "operationId" in op:
                names = [p["name"] for p in op.get("parameters", []) if p.get("in") == "path"]
                found[op["operationId"]] = (method.upper(), path, names)
    return found


@pytest.fixture(scope="module")
async def a1(client: Client, world: World) -> A1:
    """A household in A1 with a recorded conflict, and a photo member A1 took."""
    member = world.headers["member_a1"]
    number = unique_no("A1SECRET")
    created = await register(
        client,
        member,
        household_body(
            world.grid_a1,
            household_no=number,
            address="甲村秘密巷7号",
            phone="13512345678",
            persons=[
                person("欧阳秘户", "户主", phone="13687654321"),
                person("司马秘妻", "配偶", gender="female", tags=["party_member", "tekun"]),
            ],
        ),
    )
    hid = created["id"]
    for value in ("砖混", "木结构"):  # the same field twice from base 1: a conflict
        response = await client.post(
            f"/v1/households/{hid}/updates",
            headers=member if value == "砖混" else world.headers["head_a"],
            json={"base_version": 1, "changes": [{"path": "house_type", "value": value}]},
        )
        assert response.status_code == 200, response.text
    after = response.json()
    (conflict_id,) = after["conflict_ids"]
    household = after["household"]
    persons = {p["relation"]: p["person_id"] for p in household["persons"]}
    photo = _png()
    sha256 = hashlib.sha256(photo).hexdigest()
    uploaded = await client.post(
        "/v1/media",
        headers=member,
        files={"file": ("a1.png", photo, "image/png")},
        data={"sha256": sha256},
    )
    assert uploaded.status_code == 201, uploaded.text
    return A1(
        unit_id=str(world.grid_a1),
        staff_id=str(world.staff["member_a1"]),
        household_id=hid,
        household_version=household["version"],
        head_id=persons["户主"],
        spouse_id=persons["配偶"],
        conflict_id=conflict_id,
        secrets=[
            number,
            "欧阳秘户",
            "司马秘妻",
            "甲村秘密巷",
            "13512345678",
            "135****5678",
            "136****4321",
            world.codes["grid_a1"],
            "甲村第一网格",
            "测试member_a1",
            "tekun",
        ],
        photo=photo,
        sha256=sha256,
    )


async def call(
    client: Client, app: Litestar, operation_id: str, headers: dict[str, str], world: World, a: A1
) -> httpx.Response:
    method, template, names = operations(app)[operation_id]
    values = a.path_values()
    assert set(values) == PATH_PARAMS
    url = template.format(**{name: values[name] for name in names})
    spec = TABLE[operation_id](world, a)
    return await client.request(
        method,
        url,
        headers=headers,
        params=spec.params,
        json=spec.json,
        files=spec.files,
        data=spec.data,
    )


def leaked(response: httpx.Response, a: A1) -> list[str]:
    return [secret for secret in a.secrets if secret in response.text]


def test_the_table_covers_every_operation_of_the_schema(app: Litestar) -> None:
    # given the operations the app serves
    served = operations(app)

    # then every one that is not about logging in or health has a scope case, and no case
    # names an operation the app no longer serves
    assert set(served) - EXEMPT == set(TABLE)
    # and every path parameter is one the matrix knows how to fill with an A1 resource
    unknown = {op: names for op, (_, _, names) in served.items() if set(names) - PATH_PARAMS}
    assert unknown == {}
    # and every collection read (GET without a path parameter) is checked as a list
    collections = {op for op, (m, _, names) in served.items() if m == "GET" and not names}
    assert collections - EXEMPT == {op for op, kind in KIND.items() if kind == "list"}


@pytest.mark.parametrize("operation_id", sorted(TABLE))
async def test_member_b1_gets_nothing_of_grid_a1(
    client: Client, app: Litestar, world: World, a1: A1, operation_id: str
) -> None:
    # given the grid member of B1 and one operation aimed at A1's resources
    kind = KIND.get(operation_id, "act")

    # when member B1 calls it
    response = await call(client, app, operation_id, world.headers["member_b1"], world, a1)

    # then an action is refused and a list answers; either way nothing of A1 is in the body
    if kind == "act":
        assert response.status_code in (403, 404), response.text
        assert response.json()["errcode"] in (40300, 40301, 40400), response.text
    else:
        assert response.status_code < 300, response.text
    assert leaked(response, a1) == []


@pytest.mark.parametrize("operation_id", sorted(op for op, kind in KIND.items() if kind == "list"))
async def test_lists_do_show_a1_to_an_in_scope_caller(
    client: Client, app: Litestar, world: World, a1: A1, operation_id: str
) -> None:
    # given a list operation, when the supervisor (scope: the town) calls it
    response = await call(client, app, operation_id, world.headers["supervisor"], world, a1)

    # then A1 is visible to them, so the check above would have caught a leak
    assert response.status_code == 200, response.text
    assert leaked(response, a1) != []


async def test_nothing_of_a1_changed_after_the_matrix(client: Client, world: World, a1: A1) -> None:
    # given the matrix has run (this test comes after it in the module)
    admin = world.headers["admin"]

    # then A1's household, staff member and grid are as they were
    household = (await client.get(f"/v1/households/{a1.household_id}", headers=admin)).json()
    assert (household["version"], household["status"], household["grid_id"]) == (
        a1.household_version,
        "active",
        a1.unit_id,
    )
    assert [c["resolved"] for c in household["conflicts"]] == [False]
    staff = (await client.get(f"/v1/staff/{a1.staff_id}", headers=admin)).json()
    assert (staff["status"], staff["role"], staff["scope_unit_id"]) == (
        "active",
        "grid_member",
        a1.unit_id,
    )
    unit = (await client.get(f"/v1/grid-units/{a1.unit_id}", headers=admin)).json()
    assert (unit["name"], unit["status"], unit["parent_id"]) == (
        "甲村第一网格",
        "active",
        str(world.village_a),
    )
    me = await client.get("/v1/me", headers=world.headers["member_a1"])
    assert me.status_code == 200, me.text
