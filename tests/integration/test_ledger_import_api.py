"""Ledger import (一户一档导入) over HTTP on the real services: XLSX and CSV files into the
world's grids, idempotent re-imports, all-or-nothing with every bad row reported, opt-in
partial imports, scope, unreadable files and roles (docs/ledger-import.md)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import httpx

from backend.bootstrap import Container
from backend.ledger_import import write_ledger_csv, write_ledger_xlsx
from tests.support.households import Json, id_number, town_household_count, unique_no
from tests.support.world import World, build_world

Client = httpx.AsyncClient
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def outcome(response: httpx.Response) -> tuple[int, int | None]:
    body = response.json()
    return response.status_code, body.get("errcode") if isinstance(body, dict) else None


def row(
    household_no: str,
    grid_code: str,
    name: str,
    relation: str,
    *,
    gender: str = "男",
    birth: date | None = None,
    sequence: int | None = None,
    address: str = "甲村一组1号",
    **extra: object,
) -> dict[str, object]:
    """One ledger row (one person); an ID number is derived when ``sequence`` is given."""
    values: dict[str, object] = {
        "household_no": household_no,
        "grid_code": grid_code,
        "address": address,
        "name": name,
        "relation": relation,
        "gender": gender,
        "birth_date": birth,
    }
    if birth is not None and sequence is not None:
        values["id_number"] = id_number(birth, sequence)
    return {**values, **extra}


async def upload(
    client: Client,
    headers: Mapping[str, str],
    content: bytes,
    *,
    filename: str = "ledger.xlsx",
    allow_partial: bool | None = None,
) -> httpx.Response:
    data = {} if allow_partial is None else {"allow_partial": str(allow_partial).lower()}
    mime = XLSX if filename.endswith(".xlsx") else "text/csv"
    return await client.post(
        "/v1/household-imports",
        headers=dict(headers),
        files={"file": (filename, content, mime)},
        data=data,
    )


def three_households(world: World, prefix: str) -> list[dict[str, object]]:
    a1, a2 = world.codes["grid_a1"], world.codes["grid_a2"]
    return [
        row(f"{prefix}-1", a1, "陈国华", "户主", birth=date(1960, 4, 5), sequence=101),
        row(
            f"{prefix}-1",
            a1,
            "林美玲",
            "配偶",
            gender="女",
            birth=date(1962, 8, 9),
            sequence=102,
            tags="低保、党员",
        ),
        row(
            f"{prefix}-2",
            a1,
            "黄志强",
            "户主",
            address="甲村二组2号",
            phone="13811112222",
            household_phone="0579-85123456",
        ),
        row(f"{prefix}-3", a2, "刘桂英", "户主", gender="女", address="甲村三组3号"),
        row(f"{prefix}-3", a2, "刘小宝", "子女", birth=date(2004, 1, 1), address=""),
    ]


async def files_numbered(
    client: Client, headers: Mapping[str, str], prefix: str, suffixes: list[str]
) -> list[Json]:
    """The files of households ``<prefix>-<suffix>`` (searching by exact household number)."""
    found: list[Json] = []
    for suffix in suffixes:
        response = await client.get(
            "/v1/households", headers=dict(headers), params={"q": f"{prefix}-{suffix}"}
        )
        assert response.status_code == 200, response.text
        found.extend(response.json()["items"])
    return found


async def test_an_xlsx_ledger_creates_its_households_and_reimporting_changes_nothing(
    client: Client, world: World, container: Container
) -> None:
    # given an XLSX ledger of three households (five people) in grids A1 and A2
    prefix = unique_no("X")
    content = write_ledger_xlsx(three_households(world, prefix))
    before = await town_household_count(container.pool, world.town)

    # when the admin imports it
    response = await upload(client, world.headers["admin"], content)

    # then all three households are created, row numbers as in the sheet
    assert response.status_code == 200, response.text
    result = response.json()
    counts = {k: result[k] for k in ("rows", "households", "created", "unchanged", "differs")}
    assert counts == {"rows": 5, "households": 3, "created": 3, "unchanged": 0, "differs": 0}
    assert result["errors"] == []
    assert [(o["household_no"], o["first_row"], o["status"]) for o in result["outcomes"]] == [
        (f"{prefix}-1", 2, "created"),
        (f"{prefix}-2", 4, "created"),
        (f"{prefix}-3", 5, "created"),
    ]
    assert await town_household_count(container.pool, world.town) == before + 3

    # and the files are there, in the right grids, masked as usual
    files = {
        f["household_no"]: f
        for f in await files_numbered(client, world.headers["admin"], prefix, ["1", "2", "3"])
    }
    assert {no: f["grid_id"] for no, f in files.items()} == {
        f"{prefix}-1": str(world.grid_a1),
        f"{prefix}-2": str(world.grid_a1),
        f"{prefix}-3": str(world.grid_a2),
    }
    member_view = await client.get(
        f"/v1/households/{files[f'{prefix}-1']['id']}", headers=world.headers["member_a1"]
    )
    spouse = next(p for p in member_view.json()["persons"] if p["relation"] == "配偶")
    assert (spouse["name"], spouse["gender"], spouse["birth_date"]) == (
        "林美玲",
        "female",
        "1962-08-09",
    )
    assert sorted(spouse["tags"]) == ["dibao", "party_member"]
    number = id_number(date(1962, 8, 9), 102)
    assert spouse["id_number"] == f"{number[:3]}{'*' * 11}{number[-4:]}"
    assert files[f"{prefix}-2"]["phone"] == "057******3456"

    # when the same file is imported again
    head = await container.runner.head()
    again = await upload(client, world.headers["admin"], content)

    # then every household is unchanged and no event was written
    assert again.status_code == 200, again.text
    repeat = again.json()
    assert (repeat["created"], repeat["unchanged"], repeat["differs"]) == (0, 3, 0)
    assert {o["status"] for o in repeat["outcomes"]} == {"unchanged"}
    assert await container.runner.head() == head
    assert await town_household_count(container.pool, world.town) == before + 3


async def test_a_changed_ledger_row_is_reported_as_differs_and_not_written(
    client: Client, world: World, container: Container
) -> None:
    # given an imported ledger
    prefix = unique_no("D")
    rows = three_households(world, prefix)
    first = await upload(client, world.headers["admin"], write_ledger_xlsx(rows))
    assert first.json()["created"] == 3

    # when a new version of the file changes one household's address
    rows[2] = {**rows[2], "address": "甲村九组9号"}
    head = await container.runner.head()
    response = await upload(client, world.headers["admin"], write_ledger_xlsx(rows))

    # then that household differs, the others are unchanged, and nothing is written
    assert response.status_code == 200, response.text
    statuses = {o["household_no"]: o["status"] for o in response.json()["outcomes"]}
    assert statuses == {
        f"{prefix}-1": "unchanged",
        f"{prefix}-2": "differs",
        f"{prefix}-3": "unchanged",
    }
    assert await container.runner.head() == head


async def test_csv_ledgers_in_utf8_and_gb18030_are_imported(
    client: Client, world: World, container: Container
) -> None:
    # given the same kind of ledger as CSV, once as UTF-8 with BOM and once as GB18030
    utf8_prefix, gbk_prefix = unique_no("C"), unique_no("G")
    utf8 = write_ledger_csv(three_households(world, utf8_prefix))
    gbk = write_ledger_csv(three_households(world, gbk_prefix), encoding="gb18030")
    before = await town_household_count(container.pool, world.town)

    # when the supervisor imports both
    first = await upload(client, world.headers["supervisor"], utf8, filename="ledger.csv")
    second = await upload(client, world.headers["supervisor"], gbk, filename="台账.csv")

    # then each creates its three households with the names intact
    for response in (first, second):
        assert response.status_code == 200, response.text
        assert (response.json()["created"], response.json()["errors"]) == (3, [])
    assert await town_household_count(container.pool, world.town) == before + 6
    names = {
        p["name"]
        for f in await files_numbered(
            client, world.headers["supervisor"], gbk_prefix, ["1", "2", "3"]
        )
        for p in f["persons"]
    }
    assert names == {"陈国华", "林美玲", "黄志强", "刘桂英", "刘小宝"}


def broken_ledger(world: World, prefix: str) -> list[dict[str, object]]:
    a1 = world.codes["grid_a1"]
    good = row(f"{prefix}-ok1", a1, "好一", "户主", birth=date(1970, 1, 1), sequence=11)
    bad_id = row(f"{prefix}-bad1", a1, "错号", "户主", birth=date(1971, 2, 2), sequence=13)
    number = str(bad_id["id_number"])
    bad_id["id_number"] = number[:17] + ("0" if number[17] != "0" else "1")
    return [
        good,  # row 2
        bad_id,  # row 3: checksum
        row(f"{prefix}-bad2", a1, "无主", "配偶", gender="女"),  # row 4: no 户主
        row(f"{prefix}-bad3", a1, "错机", "户主", phone="12345"),  # row 5: phone
        row(f"{prefix}-ok2", a1, "好二", "户主", gender="女"),  # row 6
    ]


async def test_a_ledger_with_bad_rows_is_refused_whole_with_every_row_named(
    client: Client, world: World, container: Container
) -> None:
    # given a ledger with two good households and three bad rows
    prefix = unique_no("B")
    rows = broken_ledger(world, prefix)
    before = await town_household_count(container.pool, world.town)
    head = await container.runner.head()

    # when the admin imports it without opting into a partial import
    response = await upload(client, world.headers["admin"], write_ledger_xlsx(rows))

    # then it is 422 42210 naming rows 3, 4 and 5 with a column and a reason each
    assert outcome(response) == (422, 42210), response.text
    errors = response.json()["errors"]
    assert sorted({e["row_number"] for e in errors}) == [3, 4, 5]
    by_row = {e["row_number"]: e for e in errors}
    assert (by_row[3]["column"], by_row[5]["column"]) == ("id_number", "phone")
    assert all(e["reason"] for e in errors)
    # and no ID number or phone is echoed back
    assert str(rows[1]["id_number"]) not in response.text
    assert "12345" not in response.text
    # and nothing was imported
    assert await town_household_count(container.pool, world.town) == before
    assert await container.runner.head() == head
    assert await files_numbered(client, world.headers["admin"], prefix, ["ok1", "ok2"]) == []


async def test_allow_partial_imports_the_good_households_and_reports_the_bad_rows(
    client: Client, world: World, container: Container
) -> None:
    # given the same kind of broken ledger
    prefix = unique_no("Q")
    content = write_ledger_xlsx(broken_ledger(world, prefix))
    before = await town_household_count(container.pool, world.town)

    # when the admin imports it with allow_partial=true
    response = await upload(client, world.headers["admin"], content, allow_partial=True)

    # then the two good households are created and the bad rows still reported
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["created"], result["households"], result["rows"]) == (2, 2, 5)
    assert sorted({e["row_number"] for e in result["errors"]}) == [3, 4, 5]
    assert [o["household_no"] for o in result["outcomes"]] == [f"{prefix}-ok1", f"{prefix}-ok2"]
    assert await town_household_count(container.pool, world.town) == before + 2
    imported = await files_numbered(
        client, world.headers["admin"], prefix, ["ok1", "bad1", "bad2", "bad3", "ok2"]
    )
    assert sorted(f["household_no"] for f in imported) == [f"{prefix}-ok1", f"{prefix}-ok2"]


async def test_a_grid_code_outside_the_importers_scope_is_a_row_error(
    client: Client, world: World, container: Container
) -> None:
    # given another township, and a ledger with one household of ours, one of theirs
    # and one in a grid that does not exist
    other = await build_world(container)
    prefix = unique_no("S")
    rows = [
        row(f"{prefix}-ours", world.codes["grid_a1"], "本镇人", "户主"),  # row 2
        row(f"{prefix}-theirs", other.codes["grid_a1"], "外镇人", "户主"),  # row 3
        row(f"{prefix}-theirs", other.codes["grid_a1"], "外镇妻", "配偶", gender="女"),  # row 4
        row(f"{prefix}-nowhere", world.codes["village_a"] + "999", "无网格", "户主"),  # row 5
    ]
    content = write_ledger_xlsx(rows)
    before = await town_household_count(container.pool, world.town)
    theirs_before = await town_household_count(container.pool, other.town)

    # when our admin imports it
    refused = await upload(client, world.headers["admin"], content)

    # then every row of the foreign and unknown grids is a grid_code error, nothing imported
    assert outcome(refused) == (422, 42210), refused.text
    errors = refused.json()["errors"]
    assert sorted(e["row_number"] for e in errors) == [3, 4, 5]
    assert {e["column"] for e in errors} == {"grid_code"}
    assert await town_household_count(container.pool, world.town) == before

    # and with allow_partial only our household is imported, theirs never
    partial = await upload(client, world.headers["admin"], content, allow_partial=True)
    assert partial.status_code == 200, partial.text
    assert [o["household_no"] for o in partial.json()["outcomes"]] == [f"{prefix}-ours"]
    assert await town_household_count(container.pool, world.town) == before + 1
    assert await town_household_count(container.pool, other.town) == theirs_before


async def test_unreadable_and_empty_files_are_400_40020(
    client: Client, world: World, container: Container
) -> None:
    # given garbage, a corrupt zip, a legacy .xls, a sheet without required columns, nothing
    head = await container.runner.head()
    files = {
        "garbage.csv": bytes(range(256)) * 8,
        "broken.xlsx": b"PK\x03\x04" + b"\x00\x13\x37" * 200,
        "old.xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512,
        "columns.csv": "姓名,电话\r\n张三,13800000000\r\n".encode(),
        "empty.csv": b"",
    }

    # when each is imported
    responses = {
        name: await upload(client, world.headers["admin"], content, filename=name)
        for name, content in files.items()
    }

    # then each is 400 40020 with a message for the admin, and nothing is written
    for name, response in responses.items():
        assert outcome(response) == (400, 40020), (name, response.text)
        assert response.json()["errmsg"], name
    assert "xlsx" in responses["old.xls"].json()["errmsg"]
    assert "网格编码" in responses["columns.csv"].json()["errmsg"]
    assert await container.runner.head() == head


async def test_only_admins_and_supervisors_import(
    client: Client, world: World, container: Container
) -> None:
    # given a valid ledger
    prefix = unique_no("R")
    content = write_ledger_xlsx(three_households(world, prefix))
    head = await container.runner.head()

    # when the grid member, village head, mediator and auditor try to import it
    responses = {
        role: await upload(client, world.headers[role], content)
        for role in ("member_a1", "head_a", "mediator_a", "auditor")
    }

    # then each is 403 40300 and nothing is imported
    assert {role: outcome(r) for role, r in responses.items()} == {
        role: (403, 40300) for role in responses
    }
    assert await container.runner.head() == head
    assert await files_numbered(client, world.headers["admin"], prefix, ["1", "2", "3"]) == []


async def test_an_upload_without_a_file_is_a_malformed_request(
    client: Client, world: World
) -> None:
    # when the form carries no file field
    response = await client.post(
        "/v1/household-imports",
        headers=world.headers["admin"],
        data={"allow_partial": "true"},
        files={"other": ("x.csv", b"a,b\r\n", "text/csv")},
    )

    # then it is refused as malformed
    assert outcome(response) == (400, 40000), response.text
