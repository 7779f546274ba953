"""Exports: CSV and XLSX of lists in scope, masked, each audited with its reason; the audit is
for auditors and admins."""

from __future__ import annotations

import csv
import hashlib
import io
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from tests.support.households import household_body, person, register
from tests.support.world import World

Client = httpx.AsyncClient
Json = dict[str, Any]


@pytest.fixture(scope="module")
async def households(client: Client, world: World) -> list[str]:
    """Three households in A1, one in B1; the heads' full names must never be exported."""
    numbers = []
    for grid, name in ((world.grid_a1, "欧阳导出"), (world.grid_a1, "司马导出"),
                       (world.grid_a1, "诸葛导出"), (world.grid_b1, "乙村户主")):  # fmt: skip
        body = household_body(grid, persons=[person(name, "户主", phone="13912345678")],
                              phone="13812345678")  # fmt: skip
        numbers.append((await register(client, world.headers["admin"], body))["household_no"])
    return numbers


async def export(client: Client, world: World, who: str, body: Json) -> httpx.Response:
    return await client.post("/v1/exports", headers=world.headers[who], json=body)


async def audit(client: Client, world: World, **params: Any) -> Json:
    response = await client.get("/v1/exports/audit", headers=world.headers["auditor"],
                                params=params)  # fmt: skip
    assert response.status_code == 200, response.text
    page: Json = response.json()
    return page


async def test_a_csv_export_is_masked_and_audited(
    client: Client, world: World, households: list[str]
) -> None:
    # given village A's head and a reason
    body = {"what": "households", "format": "csv", "reason": "季度走访核对",
            "filters": {"status": "active"}}  # fmt: skip

    # when they export the households
    response = await export(client, world, "head_a", body)

    # then they get A1's three households as CSV, masked, nothing of B1
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["household_no", "grid_id", "status", "head", "persons", "address", "phone"]
    assert sorted(r[0] for r in rows[1:]) == sorted(households[:3])
    text = response.content.decode("utf-8-sig")
    for secret in ("欧阳导出", "司马导出", "诸葛导出", "乙村户主", "13812345678", "13912345678"):
        assert secret not in text
    assert "138****5678" in text
    # and the export is in the audit: who, what, filters, why, how many rows, which file
    entry = next(
        e
        for e in (await audit(client, world, staff_id=str(world.staff["head_a"])))["items"]
        if e["id"] == response.headers["x-export-id"]
    )
    assert (entry["what"], entry["format"], entry["reason"], entry["row_count"]) == (
        "households", "csv", "季度走访核对", 3
    )  # fmt: skip
    assert entry["filters"]["status"] == "active"
    assert entry["file_sha256"] == hashlib.sha256(response.content).hexdigest()
    assert entry["staff_name"] == "测试head_a"


async def test_an_xlsx_export_opens_as_a_workbook(
    client: Client, world: World, households: list[str]
) -> None:
    body = {"what": "grid_coverage", "format": "xlsx", "reason": "打擂台",
            "filters": {"as_of": "2026-03-31", "period": "quarter"}}  # fmt: skip
    response = await export(client, world, "supervisor", body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("rank", "code", "name")
    assert {r[1] for r in rows[1:]} == {world.codes[k] for k in ("grid_a1", "grid_a2", "grid_b1")}
    assert response.headers["x-export-rows"] == "3"


@pytest.mark.parametrize(
    ("body", "status", "errcode"),
    [
        ({"what": "households"}, 400, 40071),
        ({"what": "households", "reason": "   "}, 400, 40071),
        ({"what": "households", "reason": "x", "filters": {"tag": "dibao"}}, 400, 40072),
        ({"what": "cases", "reason": "x", "filters": {"level": "high"}}, 400, 40072),
        ({"what": "people", "reason": "x"}, 400, 40000),
        ({"what": "households", "reason": "x", "format": "pdf"}, 400, 40000),
    ],
)
async def test_bad_exports_are_refused_and_leave_no_audit(
    client: Client, world: World, body: Json, status: int, errcode: int
) -> None:
    before = (await audit(client, world, staff_id=str(world.staff["supervisor"])))["total"]
    response = await export(client, world, "supervisor", body)
    assert (response.status_code, response.json()["errcode"]) == (status, errcode), response.text
    after = (await audit(client, world, staff_id=str(world.staff["supervisor"])))["total"]
    assert after == before


async def test_exports_outside_role_or_scope_are_refused(client: Client, world: World) -> None:
    # a grid member may not export at all; village A's head may not export grid B1
    by_member = await export(client, world, "member_a1", {"what": "households", "reason": "x"})
    outside = await export(client, world, "head_a", {
        "what": "households", "reason": "x", "filters": {"grid_id": str(world.grid_b1)}
    })  # fmt: skip
    assert (by_member.status_code, by_member.json()["errcode"]) == (403, 40300)
    assert (outside.status_code, outside.json()["errcode"]) == (403, 40301)


async def test_only_auditors_and_admins_read_the_audit(client: Client, world: World) -> None:
    for who, status in (("member_a1", 403), ("supervisor", 403), ("admin", 200)):
        response = await client.get("/v1/exports/audit", headers=world.headers[who])
        assert response.status_code == status, response.text


async def test_audit_paging_past_the_end_is_empty(client: Client, world: World) -> None:
    page = await audit(client, world, offset=100_000)
    assert page["items"] == []
    assert page["total"] >= 0
