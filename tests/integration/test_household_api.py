"""Household files (一户一档) over HTTP on the real services: masking per role, lists, merges
and conflicts of offline edits, member and grid changes, and rejections that change nothing."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from typing import Any

import httpx

from backend.bootstrap import Container
from tests.support.households import (
    Json,
    file_of,
    household_body,
    id_number,
    id_number_ending,
    person,
    register,
    unique_no,
)
from tests.support.world import World

Client = httpx.AsyncClient

HEAD_ID = id_number_ending("1234")  # 110105…1234, masked 110***********1234
_grid_numbers = itertools.count(100)


def outcome(response: httpx.Response) -> tuple[int, int | None]:
    """(HTTP status, errcode) of a rejected request; errcode None when the body has none."""
    body = response.json()
    return response.status_code, body.get("errcode") if isinstance(body, dict) else None


def by_relation(file: Json, relation: str) -> Json:
    (found,) = [p for p in file["persons"] if p["relation"] == relation]
    return dict(found)


async def new_grid(client: Client, world: World) -> str:
    """A fresh, empty grid in village A, so a test can count exactly what it put there."""
    code = world.codes["village_a"] + f"{next(_grid_numbers):03d}"
    created = await client.post(
        "/v1/grid-units",
        headers=world.headers["admin"],
        json={
            "code": code,
            "name": f"测试网格{code[-3:]}",
            "level": 3,
            "parent_id": str(world.village_a),
        },
    )
    assert created.status_code == 201, created.text
    grid_id: str = created.json()["id"]
    return grid_id


async def registered_in_a1(client: Client, world: World, **extra: Any) -> Json:
    body = household_body(
        world.grid_a1,
        address="甲村五组二十三号",
        persons=[
            person("王建国", "户主", id_number=HEAD_ID, phone="13812341234"),
            person("李秀英", "配偶", gender="female", birth_date="1970-05-01"),
        ],
        **extra,
    )
    return await register(client, world.headers["member_a1"], body)


async def update(
    client: Client, headers: dict[str, str], hid: str, base: int, **changes: str | None
) -> httpx.Response:
    return await client.post(
        f"/v1/households/{hid}/updates",
        headers=headers,
        json={
            "base_version": base,
            "changes": [{"path": path, "value": value} for path, value in changes.items()],
            "client_time": datetime.now(UTC).isoformat(),
        },
    )


# --- registration and masking ---------------------------------------------------------------


async def test_each_role_reads_the_file_masked_to_its_need_to_know(
    client: Client, world: World
) -> None:
    # given the grid member of A1 registers a household whose spouse is on 低保 and a 党员
    body = household_body(
        world.grid_a1,
        address="甲村五组二十三号",
        phone="13900001111",
        persons=[
            person("王建国", "户主", id_number=HEAD_ID, phone="13812341234"),
            person(
                "李秀英",
                "配偶",
                gender="female",
                birth_date="1970-05-01",
                tags=["dibao", "party_member"],
            ),
        ],
    )

    # when it is registered
    response = await client.post("/v1/households", headers=world.headers["member_a1"], json=body)

    # then it is created at version 1 in grid A1, and the grid member sees full names,
    # the phone and ID number masked, and the 低保 tag (need-to-know)
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["household_no"], created["grid_id"]) == (
        body["household_no"],
        str(world.grid_a1),
    )
    assert (created["version"], created["status"]) == (1, "active")
    assert created["grid_history"] == [
        {
            "grid_id": str(world.grid_a1),
            "effective_from": created["grid_history"][0]["effective_from"],
        }
    ]
    assert [h["kind"] for h in created["history"]] == ["registered"]
    member_view = await file_of(client, world.headers["member_a1"], created["id"])
    head = by_relation(member_view, "户主")
    assert (head["name"], head["phone"], head["id_number"]) == (
        "王建国",
        "138****1234",
        "110***********1234",
    )
    assert member_view["phone"] == "139****1111"
    assert member_view["address"] == "甲村五组二十三号"
    assert sorted(by_relation(member_view, "配偶")["tags"]) == ["dibao", "party_member"]

    # and the village head (grid_head, also need-to-know) sees the tag too
    head_view = await file_of(client, world.headers["head_a"], created["id"])
    assert sorted(by_relation(head_view, "配偶")["tags"]) == ["dibao", "party_member"]

    # and the supervisor and the mediator see names but only an "attention" marker
    for role in ("supervisor", "mediator_a"):
        view = await file_of(client, world.headers[role], created["id"])
        spouse = by_relation(view, "配偶")
        assert spouse["name"] == "李秀英", role
        assert sorted(spouse["tags"]) == ["attention", "party_member"], role
        assert by_relation(view, "户主")["id_number"] == "110***********1234", role

    # and the auditor sees masked names, address and birth dates as well
    audit = await file_of(client, world.headers["auditor"], created["id"])
    assert by_relation(audit, "户主")["name"] == "王*国"
    spouse = by_relation(audit, "配偶")
    assert (spouse["name"], spouse["birth_date"]) == ("李*英", None)
    assert sorted(spouse["tags"]) == ["attention", "party_member"]
    assert audit["address"] == "甲村五组****"
    assert "dibao" not in str(audit)

    # and the grid member of B1 may not read it at all
    outside = await client.get(
        f"/v1/households/{created['id']}", headers=world.headers["member_b1"]
    )
    assert outcome(outside) == (403, 40301)
    assert "王建国" not in outside.text


async def test_a_minor_is_masked_for_roles_without_need_to_know(
    client: Client, world: World
) -> None:
    # given a household with a 10-year-old child
    created = await register(
        client,
        world.headers["member_a1"],
        household_body(
            world.grid_a1,
            persons=[person("王建国", "户主"), person("王小明", "子女", birth_date="2016-06-01")],
        ),
    )

    # when the grid member and the supervisor read it
    member = by_relation(await file_of(client, world.headers["member_a1"], created["id"]), "子女")
    supervisor = by_relation(
        await file_of(client, world.headers["supervisor"], created["id"]), "子女"
    )

    # then only the grid member sees the child's name and birth date
    assert (member["name"], member["birth_date"]) == ("王小明", "2016-06-01")
    assert (supervisor["name"], supervisor["birth_date"]) == ("王*明", None)


# --- lists ----------------------------------------------------------------------------------


async def test_list_filters_by_grid_status_text_and_tag(client: Client, world: World) -> None:
    # given a fresh grid with three households, the third dissolved, the second on 低保
    grid = await new_grid(client, world)
    prefix = unique_no("L")
    admin = world.headers["admin"]
    numbers = [f"{prefix}-001", f"{prefix}-002", f"{prefix}-003"]
    ids = []
    for no, head, address, tags in (
        (numbers[0], "张三", "甲村一组1号", []),
        (numbers[1], "李四", "甲村二组8号", ["dibao"]),
        (numbers[2], "张伟", "甲村三组3号", []),
    ):
        body = household_body(
            grid,
            household_no=no,
            address=address,
            persons=[person(head, "户主", tags=tags)],
        )
        ids.append((await register(client, admin, body))["id"])
    dissolved = await client.post(
        f"/v1/households/{ids[2]}/dissolve", headers=admin, json={"reason": "全户迁出"}
    )
    assert dissolved.status_code == 200, dissolved.text

    async def numbers_for(headers: dict[str, str], **params: Any) -> list[str]:
        response = await client.get(
            "/v1/households", headers=headers, params={"grid_id": grid, **params}
        )
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["total"] == len(page["items"])
        return [item["household_no"] for item in page["items"]]

    supervisor = world.headers["supervisor"]
    # when the supervisor filters, then each filter returns exactly the matching households
    assert await numbers_for(supervisor) == numbers
    assert await numbers_for(supervisor, status="active") == numbers[:2]
    assert await numbers_for(supervisor, status="dissolved") == numbers[2:]
    assert await numbers_for(supervisor, q="张") == [numbers[0], numbers[2]]
    assert await numbers_for(supervisor, q=numbers[1]) == [numbers[1]]
    assert await numbers_for(supervisor, q="三组") == [numbers[2]]
    assert await numbers_for(supervisor, q="王") == []

    # and the village head (need-to-know) may filter by a special-population tag
    assert await numbers_for(world.headers["head_a"], tag="dibao") == [numbers[1]]

    # but no other role may, since the filter itself would reveal the tag
    for role in ("supervisor", "mediator_a", "auditor", "admin"):
        refused = await client.get(
            "/v1/households", headers=world.headers[role], params={"grid_id": grid, "tag": "dibao"}
        )
        assert outcome(refused) == (403, 40300), role
        assert numbers[1] not in refused.text


async def test_a_child_head_is_not_found_by_name_by_roles_that_see_it_masked(
    client: Client, world: World
) -> None:
    # given a child-headed household (head aged 10) and an adult-headed one, same surname
    grid = await new_grid(client, world)
    prefix = unique_no("M")
    child_born = date(datetime.now(UTC).year - 10, 1, 1)
    heads = {f"{prefix}-001": ("欧阳小明", child_born), f"{prefix}-002": ("欧阳大明", None)}
    for no, (name, born) in heads.items():
        extra = {"birth_date": born.isoformat()} if born else {}
        body = household_body(grid, household_no=no, persons=[person(name, "户主", **extra)])
        await register(client, world.headers["admin"], body)

    async def numbers_for(role: str, q: str) -> list[str]:
        response = await client.get(
            "/v1/households", headers=world.headers[role], params={"grid_id": grid, "q": q}
        )
        assert response.status_code == 200, response.text
        return [item["household_no"] for item in response.json()["items"]]

    # when the supervisor (who sees the child's name masked) searches by the names,
    # then a hit would confirm the child's name: only the adult head is found
    assert await numbers_for("supervisor", "欧阳小") == []
    assert await numbers_for("supervisor", "欧阳大") == [f"{prefix}-002"]
    # and the child's household is still found by its 户编号
    assert await numbers_for("supervisor", f"{prefix}-001") == [f"{prefix}-001"]
    # and the grid head, who sees the child's name, finds it by name
    assert await numbers_for("head_a", "欧阳小") == [f"{prefix}-001"]


async def test_list_pages_with_limit_offset_and_a_stable_total(
    client: Client, world: World
) -> None:
    # given a fresh grid with five households
    grid = await new_grid(client, world)
    prefix = unique_no("P")
    numbers = [f"{prefix}-{i:03d}" for i in range(1, 6)]
    for no in numbers:
        await register(
            client,
            world.headers["admin"],
            household_body(grid, household_no=no),
        )

    async def page(limit: int, offset: int) -> Json:
        response = await client.get(
            "/v1/households",
            headers=world.headers["supervisor"],
            params={"grid_id": grid, "limit": limit, "offset": offset},
        )
        assert response.status_code == 200, response.text
        result: Json = response.json()
        return result

    # when paging two at a time
    first, second, third = await page(2, 0), await page(2, 2), await page(2, 4)
    beyond = await page(2, 40)

    # then the pages tile the ordered list, each with the full total
    assert [p["total"] for p in (first, second, third, beyond)] == [5, 5, 5, 5]
    assert [(p["limit"], p["offset"]) for p in (first, beyond)] == [(2, 0), (2, 40)]
    assert [i["household_no"] for p in (first, second, third) for i in p["items"]] == numbers
    assert beyond["items"] == []

    # and a limit out of range is a query error
    too_big = await client.get(
        "/v1/households", headers=world.headers["supervisor"], params={"limit": 201}
    )
    assert outcome(too_big) == (400, 40001)


# --- edits from a base version --------------------------------------------------------------


async def test_edits_of_different_fields_from_the_same_base_merge(
    client: Client, world: World
) -> None:
    # given a household at version 1 and two phones that both last saw version 1
    created = await registered_in_a1(client, world)
    hid = created["id"]

    # when phone A edits the address and phone B (offline) edits the notes, both from base 1
    first = await update(client, world.headers["member_a1"], hid, 1, address="甲村六组1号")
    second = await update(client, world.headers["head_a"], hid, 1, notes="独居，需每周走访")

    # then both edits apply, no conflict is recorded, and the trail names both
    assert first.status_code == 200, first.text
    assert second.status_code == 200, second.text
    assert first.json()["conflict_ids"] == second.json()["conflict_ids"] == []
    merged = second.json()["household"]
    assert (merged["address"], merged["notes"], merged["version"]) == (
        "甲村六组1号",
        "独居，需每周走访",
        3,
    )
    assert merged["conflicts"] == []
    trail = [(h["kind"], h["paths"], h["role"]) for h in merged["history"][1:]]
    assert trail == [
        ("fields_updated", ["address"], "grid_member"),
        ("fields_updated", ["notes"], "grid_head"),
    ]


async def test_same_field_twice_from_one_base_is_a_conflict_a_supervisor_resolves(
    client: Client, world: World
) -> None:
    # given a household at version 1
    created = await registered_in_a1(client, world)
    hid = created["id"]

    # when two phones set the house type from the same base to different values
    first = await update(client, world.headers["member_a1"], hid, 1, house_type="砖混")
    second = await update(client, world.headers["head_a"], hid, 1, house_type="木结构")

    # then the second becomes a recorded conflict and the newer (first) value stays
    assert first.json()["conflict_ids"] == []
    assert second.status_code == 200, second.text
    conflict_ids = second.json()["conflict_ids"]
    assert len(conflict_ids) == 1
    file = await file_of(client, world.headers["supervisor"], hid)
    assert file["house_type"] == "砖混"
    (conflict,) = file["conflicts"]
    assert {k: conflict[k] for k in ("conflict_id", "path", "base_version", "resolved")} == {
        "conflict_id": conflict_ids[0],
        "path": "house_type",
        "base_version": 1,
        "resolved": False,
    }
    assert (conflict["current_value"], conflict["proposed_value"]) == ("砖混", "木结构")
    assert (conflict["proposer_id"], conflict["proposer_role"]) == (
        str(world.staff["head_a"]),
        "grid_head",
    )

    # and a grid member may not resolve it
    by_member = await client.post(
        f"/v1/households/{hid}/conflicts/{conflict_ids[0]}/resolve",
        headers=world.headers["member_a1"],
        json={"value": "木结构"},
    )
    assert outcome(by_member) == (403, 40300)
    assert await file_of(client, world.headers["supervisor"], hid) == file

    # when the supervisor resolves it in favour of the proposed value
    resolved = await client.post(
        f"/v1/households/{hid}/conflicts/{conflict_ids[0]}/resolve",
        headers=world.headers["supervisor"],
        json={"value": "木结构"},
    )

    # then the file shows the chosen value and the conflict as resolved
    assert resolved.status_code == 200, resolved.text
    after = resolved.json()
    assert after["house_type"] == "木结构"
    (done,) = after["conflicts"]
    assert (done["resolved"], done["resolved_value"]) == (True, "木结构")
    assert after["history"][-1]["kind"] == "conflict_resolved"

    # and resolving it again is refused and changes nothing
    again = await client.post(
        f"/v1/households/{hid}/conflicts/{conflict_ids[0]}/resolve",
        headers=world.headers["supervisor"],
        json={"value": "砖混"},
    )
    assert outcome(again) == (409, 40910)
    assert await file_of(client, world.headers["supervisor"], hid) == after


async def test_same_value_from_the_same_base_is_agreement_not_conflict(
    client: Client, world: World
) -> None:
    # given one phone already set the house type from base 1
    hid = (await registered_in_a1(client, world))["id"]
    await update(client, world.headers["member_a1"], hid, 1, house_type="砖混")

    # when another phone writes the same value from the same base
    same = await update(client, world.headers["head_a"], hid, 1, house_type="砖混")

    # then nothing is recorded: no conflict, no new version
    assert same.status_code == 200, same.text
    assert same.json()["conflict_ids"] == []
    assert (same.json()["household"]["version"], same.json()["household"]["conflicts"]) == (2, [])


async def test_bad_updates_are_refused_and_leave_the_file_unchanged(
    client: Client, world: World
) -> None:
    # given a household edited once (version 2)
    created = await registered_in_a1(client, world)
    hid = created["id"]
    await update(client, world.headers["member_a1"], hid, 1, notes="首次走访")
    before = await file_of(client, world.headers["member_a1"], hid)
    assert before["version"] == 2
    head_id = by_relation(before, "户主")["person_id"]
    member = world.headers["member_a1"]

    # when a phone claims a base version above the current one
    stale = await update(client, member, hid, 9, notes="来自未来")
    # and an edit names an unknown path, or a field that does not exist on a person
    unknown = await update(client, member, hid, 2, income="3000")
    unknown_person = await update(client, member, hid, 2, **{f"persons/{head_id}/income": "1"})
    # and an ID number with a wrong checksum
    good_id = id_number(datetime(1980, 1, 2).date(), 11)
    bad_checksum = good_id[:17] + ("0" if good_id[17] != "0" else "1")
    bad_id = await update(client, member, hid, 2, **{f"persons/{head_id}/id_number": bad_checksum})
    # and an edit that would leave the household without a 户主
    no_head = await update(client, member, hid, 2, **{f"persons/{head_id}/relation": "其他"})

    # then each is refused with its errcode
    assert outcome(stale) == (409, 40920)
    assert stale.json()["current_version"] == 2
    assert outcome(unknown) == (400, 40010)
    assert outcome(unknown_person) == (400, 40010)
    assert outcome(bad_id) == (400, 40010)
    assert outcome(no_head) == (400, 40010)
    # and the file is exactly as before
    assert await file_of(client, member, hid) == before


async def test_malformed_requests_are_400_40000_and_change_nothing(
    client: Client, world: World
) -> None:
    # given a household at version 1
    created = await registered_in_a1(client, world)
    hid = created["id"]
    member = world.headers["member_a1"]
    before = await file_of(client, member, hid)
    url = f"/v1/households/{hid}/updates"
    change = [{"path": "notes", "value": "x"}]

    # when bodies carry wrong types, out-of-range values, or are not JSON at all
    wrong_type = await client.post(
        url, headers=member, json={"base_version": "one", "changes": change}
    )
    zero_base = await client.post(url, headers=member, json={"base_version": 0, "changes": change})
    no_changes = await client.post(url, headers=member, json={"base_version": 1, "changes": []})
    malformed = await client.post(
        url, headers={**member, "Content-Type": "application/json"}, content=b'{"base_version": 1,'
    )

    # then each is 400 40000 and the file is unchanged
    for response in (wrong_type, zero_base, no_changes, malformed):
        assert outcome(response) == (400, 40000), response.text
    assert await file_of(client, member, hid) == before


async def test_unknown_fields_in_an_update_are_refused_and_change_nothing(
    client: Client, world: World
) -> None:
    # given a household at version 1
    created = await registered_in_a1(client, world)
    hid = created["id"]
    member = world.headers["member_a1"]
    before = await file_of(client, member, hid)

    # when an update carries a field the API does not know (a typo of client_time, say)
    response = await client.post(
        f"/v1/households/{hid}/updates",
        headers=member,
        json={"base_version": 1, "changes": [{"path": "notes", "value": "x"}], "clienttime": 1},
    )

    # then it is refused as malformed and the file is unchanged
    assert outcome(response) == (400, 40000), response.text
    assert await file_of(client, member, hid) == before


async def test_unknown_fields_in_a_registration_are_refused(client: Client, world: World) -> None:
    # given a registration body with a field the API does not know
    body = household_body(world.grid_a1, income_level="高")

    # when it is posted
    response = await client.post("/v1/households", headers=world.headers["member_a1"], json=body)

    # then it is refused as malformed, and no file exists
    assert outcome(response) == (400, 40000)
    listing = await client.get(
        "/v1/households", headers=world.headers["supervisor"], params={"q": body["household_no"]}
    )
    assert listing.json()["total"] == 0


async def test_an_oversized_body_is_413_and_changes_nothing(client: Client, world: World) -> None:
    # given a household
    created = await registered_in_a1(client, world)
    hid = created["id"]
    member = world.headers["member_a1"]
    before = await file_of(client, member, hid)

    # when a body larger than 20 MB is sent
    padding = b" " * (20 * 1024 * 1024 + 1)
    body = b'{"base_version": 1, "changes": [{"path": "notes", "value": "x"}]' + padding + b"}"
    response = await client.post(
        f"/v1/households/{hid}/updates",
        headers={**member, "Content-Type": "application/json"},
        content=body,
    )

    # then it is refused as too large, and the file is unchanged
    assert outcome(response) == (413, 41300)
    assert await file_of(client, member, hid) == before


async def test_register_rejects_duplicates_and_invalid_id_numbers(
    client: Client, world: World
) -> None:
    # given a registered household
    created = await registered_in_a1(client, world)
    before = await file_of(client, world.headers["member_a1"], created["id"])

    # when another registration reuses its household number
    duplicate = await client.post(
        "/v1/households",
        headers=world.headers["member_a1"],
        json=household_body(
            world.grid_a1, household_no=created["household_no"], persons=[person("赵六", "户主")]
        ),
    )

    # then it is 409 40911, and the existing file is untouched
    assert outcome(duplicate) == (409, 40911)
    assert "赵六" not in duplicate.text
    assert await file_of(client, world.headers["member_a1"], created["id"]) == before

    # when a registration carries an ID number with a wrong checksum, or two 户主
    good = id_number(datetime(1975, 7, 8).date(), 21)
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    bad_id_body = household_body(world.grid_a1, persons=[person("钱七", "户主", id_number=bad)])
    bad_id = await client.post(
        "/v1/households", headers=world.headers["member_a1"], json=bad_id_body
    )
    two_heads_body = household_body(
        world.grid_a1, persons=[person("孙八", "户主"), person("孙九", "户主")]
    )
    two_heads = await client.post(
        "/v1/households", headers=world.headers["member_a1"], json=two_heads_body
    )

    # then both are 400 40010 and no file exists for them
    assert outcome(bad_id) == (400, 40010)
    assert outcome(two_heads) == (400, 40010)
    for body in (bad_id_body, two_heads_body):
        listing = await client.get(
            "/v1/households",
            headers=world.headers["supervisor"],
            params={"q": body["household_no"]},
        )
        assert listing.json()["total"] == 0


async def test_register_needs_an_editor_role_and_a_grid_in_scope(
    client: Client, world: World
) -> None:
    # given a valid body for grid A1 and one for village A (not a grid)
    body = household_body(world.grid_a1)
    village_body = household_body(world.village_a)

    # when the auditor, the mediator, member B1 and the admin (into a village) register
    by_auditor = await client.post("/v1/households", headers=world.headers["auditor"], json=body)
    by_mediator = await client.post(
        "/v1/households", headers=world.headers["mediator_a"], json=body
    )
    by_b1 = await client.post("/v1/households", headers=world.headers["member_b1"], json=body)
    into_village = await client.post(
        "/v1/households", headers=world.headers["admin"], json=village_body
    )

    # then each is refused with the reason
    assert outcome(by_auditor) == (403, 40300)
    assert outcome(by_mediator) == (403, 40300)
    assert outcome(by_b1) == (403, 40301)
    assert outcome(into_village) == (400, 40010)


# --- members and tags -----------------------------------------------------------------------


async def test_members_are_added_and_removed_but_the_head_stays(
    client: Client, world: World
) -> None:
    # given a household of two
    created = await registered_in_a1(client, world)
    hid = created["id"]
    member = world.headers["member_a1"]
    head_id = by_relation(created, "户主")["person_id"]

    # when a son is added
    added = await client.post(
        f"/v1/households/{hid}/persons",
        headers=member,
        json=person("王小军", "子女", birth_date="1995-02-03", phone="13700001234"),
    )

    # then the file has three members, the son's phone masked
    assert added.status_code == 200, added.text
    grown = added.json()
    assert len(grown["persons"]) == 3
    son = by_relation(grown, "子女")
    assert (son["name"], son["phone"]) == ("王小军", "137****1234")
    assert grown["history"][-1] == {**grown["history"][-1], "kind": "person_added"}

    # when someone tries to remove the 户主
    remove_head = await client.post(
        f"/v1/households/{hid}/persons/{head_id}/remove",
        headers=member,
        json={"reason": "moved_out"},
    )

    # then it is refused and nothing changes
    assert outcome(remove_head) == (400, 40010)
    assert await file_of(client, member, hid) == grown

    # when the son moves out
    removed = await client.post(
        f"/v1/households/{hid}/persons/{son['person_id']}/remove",
        headers=member,
        json={"reason": "moved_out"},
    )

    # then he is gone from the members and the file records why
    assert removed.status_code == 200, removed.text
    after = removed.json()
    assert sorted(p["relation"] for p in after["persons"]) == ["户主", "配偶"]
    assert after["removed"] == {son["person_id"]: "moved_out"}

    # and removing him again, or with an unknown reason, is refused and changes nothing
    again = await client.post(
        f"/v1/households/{hid}/persons/{son['person_id']}/remove",
        headers=member,
        json={"reason": "moved_out"},
    )
    bad_reason = await client.post(
        f"/v1/households/{hid}/persons/{head_id}/remove", headers=member, json={"reason": "eloped"}
    )
    assert outcome(again) == (404, 40400)
    assert outcome(bad_reason) == (400, 40000)
    assert await file_of(client, member, hid) == after


async def test_tags_are_added_and_removed_and_stay_need_to_know(
    client: Client, world: World
) -> None:
    # given a household
    created = await registered_in_a1(client, world)
    hid = created["id"]
    member = world.headers["member_a1"]
    head_id = by_relation(created, "户主")["person_id"]
    url = f"/v1/households/{hid}/persons/{head_id}"

    # when the grid member tags the head 特困
    tagged = await client.post(f"{url}/tag", headers=member, json={"tag": "tekun"})

    # then the grid member sees the tag, the supervisor only "attention", the trail no tag
    assert tagged.status_code == 200, tagged.text
    assert by_relation(tagged.json(), "户主")["tags"] == ["tekun"]
    supervisor_view = await file_of(client, world.headers["supervisor"], hid)
    assert by_relation(supervisor_view, "户主")["tags"] == ["attention"]
    assert "tekun" not in str(supervisor_view["history"])

    # when an unknown tag is tried
    before = tagged.json()
    unknown = await client.post(f"{url}/tag", headers=member, json={"tag": "vip"})
    assert outcome(unknown) == (400, 40010)
    assert await file_of(client, member, hid) == before

    # when the tag is removed
    untagged = await client.post(f"{url}/untag", headers=member, json={"tag": "tekun"})

    # then nobody sees it any more
    assert untagged.status_code == 200, untagged.text
    assert by_relation(untagged.json(), "户主")["tags"] == []
    assert (
        by_relation(await file_of(client, world.headers["supervisor"], hid), "户主")["tags"] == []
    )
    assert untagged.json()["version"] == before["version"] + 1


# --- grid moves and dissolution -------------------------------------------------------------


async def test_a_household_moves_to_another_grid_in_scope(client: Client, world: World) -> None:
    # given a household in grid A1
    created = await registered_in_a1(client, world)
    hid = created["id"]

    # when the grid member of A1 tries to move it into A2, outside the member's scope
    by_member = await client.post(
        f"/v1/households/{hid}/move",
        headers=world.headers["member_a1"],
        json={"grid_id": str(world.grid_a2)},
    )

    # then it is refused and nothing changes
    assert outcome(by_member) == (403, 40301)
    assert await file_of(client, world.headers["member_a1"], hid) == created

    # when the village head moves it into A2
    moved = await client.post(
        f"/v1/households/{hid}/move",
        headers=world.headers["head_a"],
        json={"grid_id": str(world.grid_a2)},
    )

    # then the file belongs to A2 and its grid history has grown
    assert moved.status_code == 200, moved.text
    after = moved.json()
    assert after["grid_id"] == str(world.grid_a2)
    assert [g["grid_id"] for g in after["grid_history"]] == [str(world.grid_a1), str(world.grid_a2)]
    assert after["history"][-1]["kind"] == "moved_to_grid"

    # and the grid member of A1 no longer reaches it
    gone = await client.get(f"/v1/households/{hid}", headers=world.headers["member_a1"])
    assert outcome(gone) == (403, 40301)


async def test_a_dissolved_household_refuses_every_edit(
    client: Client, world: World, container: Container
) -> None:
    # given a household that is dissolved today (the server's business date)
    today = container.clock.today().isoformat()
    created = await registered_in_a1(client, world)
    hid = created["id"]
    member = world.headers["member_a1"]
    head_id = by_relation(created, "户主")["person_id"]
    dissolved = await client.post(
        f"/v1/households/{hid}/dissolve",
        headers=member,
        json={"reason": "全户迁出", "effective_from": today},
    )
    assert dissolved.status_code == 200, dissolved.text
    after = dissolved.json()
    assert (after["status"], after["dissolved_on"]) == ("dissolved", today)
    version = after["version"]

    # when any edit is attempted
    attempts = [
        await update(client, member, hid, version, notes="还在吗"),
        await client.post(
            f"/v1/households/{hid}/persons", headers=member, json=person("新人", "其他")
        ),
        await client.post(
            f"/v1/households/{hid}/persons/{head_id}/tag", headers=member, json={"tag": "dibao"}
        ),
        await client.post(
            f"/v1/households/{hid}/persons/{head_id}/remove",
            headers=member,
            json={"reason": "deceased"},
        ),
        await client.post(
            f"/v1/households/{hid}/move",
            headers=world.headers["head_a"],
            json={"grid_id": str(world.grid_a2)},
        ),
        await client.post(
            f"/v1/households/{hid}/dissolve", headers=member, json={"reason": "再销"}
        ),
    ]

    # then each is refused as not allowed in this state, and the file is unchanged
    assert [outcome(r) for r in attempts] == [(409, 40910)] * len(attempts)
    assert await file_of(client, member, hid) == after
