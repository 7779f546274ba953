"""Awards and points (积分) over HTTP on the real services: a member proposes, the grid head
approves, retries are one award, the points supermarket never goes below the balance, and the
projection adds up to the aggregate."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import httpx
import pytest
from anyio import to_thread

from backend.bootstrap import Container
from events.meta import system_meta
from events.point_rules import Commendation, PointRule, RuleTerms, RuleTrigger
from events.points import PointsAccount
from tests.support.households import Json, household_body, register
from tests.support.world import World

Client = httpx.AsyncClient


async def define_rule(
    container: Container,
    trigger: RuleTrigger,
    points: int,
    *,
    target: str = "household",
    daily_cap: int | None = None,
    commendation: Commendation | None = None,
) -> str:
    """A point rule in force since 2020, defined through the domain (unique code per call)."""
    code = f"t-{trigger[:6]}-{uuid.uuid4().hex[:10]}"
    rule = PointRule.define(
        code=code,
        trigger=trigger,
        target=target,  # type: ignore[arg-type]
        terms=RuleTerms(
            points=points,
            daily_cap=daily_cap,
            total_cap=None,
            commendation=commendation,
            label=f"测试规则{code[-4:]}",
        ),
        effective_from=date(2020, 1, 1),
        meta=system_meta("tests"),
    )
    recordings = await to_thread.run_sync(lambda: container.event_log.save(rule))
    assert await container.runner.wait_for(recordings[-1].notification.id)
    return code


@pytest.fixture(scope="module")
async def visit_rule(container: Container) -> str:
    return await define_rule(container, "visit_recorded", 10)


async def household(client: Client, world: World, grid: Any = None) -> str:
    created = await register(client, world.headers["admin"], household_body(grid or world.grid_a1))
    hid: str = created["id"]
    return hid


async def visit_to(client: Client, headers: dict[str, str], household_id: str) -> str:
    """A visit recorded to the household: a source for an award to it, or to its visitor."""
    body = {
        "visit_id": str(uuid.uuid4()), "household_id": household_id, "purpose": "routine",
        "method": "in_person", "visited_at": datetime.now(UTC).isoformat(),
    }  # fmt: skip
    response = await client.post("/v1/visits", headers=headers, json=body)
    assert response.status_code == 201, response.text
    return body["visit_id"]


async def propose(
    client: Client,
    headers: dict[str, str],
    code: str,
    owner_id: str,
    *,
    source: str,
    owner_kind: str = "household",
) -> httpx.Response:
    return await client.post(
        "/v1/awards",
        headers=headers,
        json={
            "rule_code": code,
            "source_event_id": source,
            "owner_kind": owner_kind,
            "owner_id": owner_id,
            "reason": "主动配合走访",
        },
    )


async def account(client: Client, world: World, kind: str, owner_id: str) -> Json:
    response = await client.get(
        f"/v1/points-accounts/{kind}/{owner_id}", headers=world.headers["supervisor"]
    )
    assert response.status_code == 200, response.text
    found: Json = response.json()
    return found


async def approved(client: Client, world: World, code: str, owner_id: str) -> Json:
    member = world.headers["member_a1"]
    proposal = await propose(
        client, member, code, owner_id, source=await visit_to(client, member, owner_id)
    )
    assert proposal.status_code == 201, proposal.text
    decided = await client.post(
        f"/v1/awards/{proposal.json()['id']}/approve", headers=world.headers["head_a"]
    )
    assert decided.status_code == 200, decided.text
    award: Json = decided.json()
    return award


async def test_a_members_proposal_approved_by_the_head_is_credited_once(
    client: Client, world: World, visit_rule: str
) -> None:
    # given a household of A1 and a visit that earns points
    hid = await household(client, world)
    member, head = world.headers["member_a1"], world.headers["head_a"]
    source = await visit_to(client, member, hid)

    # when member A1 proposes the award, and the phone retries the proposal
    first = await propose(client, member, visit_rule, hid, source=source)
    retry = await propose(client, member, visit_rule, hid, source=source)

    # then there is one proposal, at the rule's points
    assert first.status_code == 201, first.text
    assert (retry.status_code, retry.json()["duplicate"]) == (200, True)
    award = first.json()
    assert retry.json()["id"] == award["id"]
    assert (award["state"], award["rule_points"], award["points"]) == ("proposed", 10, None)

    # when the grid head approves it, twice, and the phone proposes it once more
    path = f"/v1/awards/{award['id']}/approve"
    approval = await client.post(path, headers=head)
    twice = await client.post(path, headers=head)
    late_retry = await propose(client, member, visit_rule, hid, source=source)

    # then it is credited exactly once, with the award behind the history line
    assert approval.status_code == 200, approval.text
    assert (approval.json()["state"], approval.json()["points"]) == ("approved", 10)
    assert (twice.status_code, twice.json()["errcode"]) == (409, 40910)
    assert (late_retry.status_code, late_retry.json()["state"]) == (200, "approved")
    points = await account(client, world, "household", hid)
    assert (points["balance"], points["owed"]) == (10, 0)
    (line,) = points["history"]
    assert (line["kind"], line["points"], line["award_id"]) == ("credit", 10, award["id"])
    assert line["award_reason"] == "主动配合走访"
    assert line["source_event_id"] == source


async def test_the_proposer_may_not_approve_their_own(
    client: Client, world: World, visit_rule: str
) -> None:
    hid = await household(client, world)
    head = world.headers["head_a"]
    award = await propose(client, head, visit_rule, hid, source=await visit_to(client, head, hid))
    award = award.json()

    own = await client.post(f"/v1/awards/{award['id']}/approve", headers=head)
    by_member = await client.post(
        f"/v1/awards/{award['id']}/approve", headers=world.headers["member_a1"]
    )

    assert (own.status_code, own.json()["errcode"]) == (403, 40330)
    assert (by_member.status_code, by_member.json()["errcode"]) == (403, 40300)
    assert (await account(client, world, "household", hid))["balance"] == 0
    state = await client.get(f"/v1/awards/{award['id']}", headers=head)
    assert state.json()["state"] == "proposed"


async def test_redemption_is_checked_against_the_balance_and_cancel_refunds(
    client: Client, world: World, container: Container, visit_rule: str
) -> None:
    # given a household with 10 points
    hid = await household(client, world)
    await approved(client, world, visit_rule, hid)
    base = f"/v1/points-accounts/household/{hid}/redemptions"
    member = world.headers["member_a1"]
    soap = {"sku": "soap", "name": "肥皂", "unit_points": 3, "quantity": 2}
    redemption = {"redemption_id": str(uuid.uuid4()), "items": [soap]}

    # when 6 points of goods are redeemed (and the counter re-sends it)
    first = await client.post(base, headers=member, json=redemption)
    again = await client.post(base, headers=member, json=redemption)

    # then 6 points are charged once
    assert first.status_code == 201, first.text
    assert (again.status_code, again.json()["duplicate"]) == (200, True)
    assert again.json()["account"]["balance"] == 4

    # when goods worth more than the balance are asked for
    rice = {"sku": "rice", "name": "大米", "unit_points": 5, "quantity": 1}
    too_much = await client.post(
        base, headers=member, json={"redemption_id": str(uuid.uuid4()), "items": [rice]}
    )

    # then it is refused with the balance named, and the balance is unchanged
    assert (too_much.status_code, too_much.json()["errcode"]) == (409, 40930)
    assert (too_much.json()["balance"], too_much.json()["needed"]) == (4, 5)
    assert (await account(client, world, "household", hid))["balance"] == 4

    # when the first redemption is cancelled (twice)
    cancel = f"{base}/{redemption['redemption_id']}/cancel"
    cancelled = await client.post(cancel, headers=member, json={"reason": "退货"})
    twice = await client.post(cancel, headers=member, json={"reason": "退货"})

    # then the points come back once
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["redemption"]["cancelled"] is True
    assert cancelled.json()["account"]["balance"] == 10
    assert (twice.status_code, twice.json()["errcode"]) == (409, 40910)

    # and the projection adds up to the aggregate, line by line
    view = await account(client, world, "household", hid)
    stored = await aggregate(container, "household", hid)
    assert (view["balance"], view["owed"]) == (stored.balance, stored.owed) == (10, 0)
    assert [line["points"] for line in reversed(view["history"])] == [10, -6, 6]
    assert [line["points"] for line in reversed(view["history"])] == [
        e.points for e in stored.history
    ]


async def test_a_household_without_points_cannot_redeem(client: Client, world: World) -> None:
    hid = await household(client, world)
    response = await client.post(
        f"/v1/points-accounts/household/{hid}/redemptions",
        headers=world.headers["member_a1"],
        json={
            "redemption_id": str(uuid.uuid4()),
            "items": [{"sku": "soap", "name": "肥皂", "unit_points": 1, "quantity": 1}],
        },
    )
    assert (response.status_code, response.json()["errcode"]) == (409, 40930)


async def test_staff_deduction_and_revocation(
    client: Client, world: World, container: Container
) -> None:
    # given a 约谈 rule of -5 and a commendation for excellent grid members
    deduction = await define_rule(container, "staff_deduction", -5, target="staff")
    excellent = await define_rule(
        container,
        "manual_commendation",
        8,
        target="staff",
        commendation="excellent_grid_member",
    )
    member_id = str(world.staff["member_a1"])
    head, supervisor = world.headers["head_a"], world.headers["supervisor"]
    # for a visit member A1 recorded
    source = await visit_to(client, world.headers["member_a1"], await household(client, world))

    # when the head proposes both for member A1 and the supervisor approves them
    ids = []
    for code in (excellent, deduction):
        proposal = await propose(client, head, code, member_id, owner_kind="staff", source=source)
        assert proposal.status_code == 201, proposal.text
        ids.append(proposal.json()["id"])
        decided = await client.post(f"/v1/awards/{ids[-1]}/approve", headers=supervisor)
        assert decided.status_code == 200, decided.text

    # then the member sees 8 - 5 = 3 and the commendation on their own account
    own = await client.get(
        f"/v1/points-accounts/staff/{member_id}", headers=world.headers["member_a1"]
    )
    assert own.status_code == 200, own.text
    assert own.json()["balance"] == 3
    assert [c["commendation"] for c in own.json()["commendations"]] == ["excellent_grid_member"]

    # when the commendation is revoked
    revoked = await client.post(
        f"/v1/awards/{ids[0]}/revoke", headers=supervisor, json={"reason": "材料不实"}
    )

    # then its 8 points are reversed: 3 taken, 5 owed; the commendation is gone
    assert (revoked.status_code, revoked.json()["state"]) == (200, "revoked")
    after = await account(client, world, "staff", member_id)
    assert (after["balance"], after["owed"], after["commendations"]) == (0, 5, [])
    stored = await aggregate(container, "staff", member_id)
    assert (stored.balance, stored.owed) == (0, 5)


async def test_a_cap_that_leaves_no_room_refuses_the_approval(
    client: Client, world: World, container: Container
) -> None:
    # given a rule of 10 points capped at 10 a day, already used today
    capped = await define_rule(container, "household_conduct", 10, daily_cap=10)
    hid = await household(client, world)
    await approved(client, world, capped, hid)

    # when a second award under it is approved the same day
    member = world.headers["member_a1"]
    second = await propose(client, member, capped, hid, source=await visit_to(client, member, hid))
    refused = await client.post(
        f"/v1/awards/{second.json()['id']}/approve", headers=world.headers["head_a"]
    )

    # then it is refused (40931), the award stays proposed and the balance stays 10
    assert (refused.status_code, refused.json()["errcode"]) == (409, 40931)
    award = await client.get(f"/v1/awards/{second.json()['id']}", headers=world.headers["head_a"])
    assert award.json()["state"] == "proposed"
    assert (await account(client, world, "household", hid))["balance"] == 10


async def test_reject_and_list_by_state(client: Client, world: World, visit_rule: str) -> None:
    hid = await household(client, world)
    member = world.headers["member_a1"]
    source = await visit_to(client, member, hid)
    award = (await propose(client, member, visit_rule, hid, source=source)).json()

    rejected = await client.post(
        f"/v1/awards/{award['id']}/reject", headers=world.headers["head_a"], json={"reason": "重复"}
    )

    assert (rejected.status_code, rejected.json()["state"]) == (200, "rejected")
    listed = await client.get(
        "/v1/awards",
        headers=world.headers["head_a"],
        params={"state": "rejected", "owner_id": hid},
    )
    assert [a["id"] for a in listed.json()["items"]] == [award["id"]]


@pytest.mark.parametrize(
    ("case", "status", "errcode"),
    [
        ("unknown_rule", 404, 40400),
        ("unknown_household", 404, 40400),
        ("household_elsewhere", 403, 40301),
        ("rule_for_staff", 400, 40010),
        ("member_on_staff", 403, 40300),
        ("wrong_type", 400, 40000),
    ],
)
async def test_bad_proposals_write_nothing(
    client: Client,
    world: World,
    container: Container,
    visit_rule: str,
    case: str,
    status: int,
    errcode: int,
) -> None:
    hid = await household(client, world)
    member = world.headers["member_a1"]
    staff_rule = await define_rule(container, "staff_deduction", -1, target="staff")
    owner, kind, code = hid, "household", visit_rule
    source = await visit_to(client, member, hid)
    if case == "unknown_rule":
        code = "no-such-rule"
    elif case == "unknown_household":
        owner = str(uuid.uuid4())
    elif case == "household_elsewhere":
        owner = await household(client, world, world.grid_b1)
    elif case == "rule_for_staff":
        code = staff_rule
    elif case == "member_on_staff":
        owner, kind = str(world.staff["member_b1"]), "staff"

    if case == "wrong_type":
        response = await client.post(
            "/v1/awards",
            headers=member,
            json={"rule_code": code, "source_event_id": 7, "owner_kind": kind, "owner_id": owner},
        )
    else:
        response = await propose(client, member, code, owner, owner_kind=kind, source=source)

    assert (response.status_code, response.json()["errcode"]) == (status, errcode), response.text
    listed = await client.get(
        "/v1/awards", headers=world.headers["supervisor"], params={"owner_id": owner}
    )
    assert listed.json()["total"] == 0
    assert await aggregate_or_none(container, kind, owner) is None


async def aggregate(container: Container, kind: str, owner_id: str) -> PointsAccount:
    found = await aggregate_or_none(container, kind, owner_id)
    assert found is not None
    return found


async def aggregate_or_none(container: Container, kind: str, owner_id: str) -> Any:
    from eventsourcing.application import AggregateNotFoundError

    account_id = PointsAccount.id_for(kind, UUID(owner_id))  # type: ignore[arg-type]

    def load() -> Any:
        try:
            return container.event_log.repository.get(account_id)
        except AggregateNotFoundError:
            return None

    return await to_thread.run_sync(load)


async def void(client: Client, world: World, visit_id: str) -> None:
    voided = await client.post(
        f"/v1/visits/{visit_id}/void", headers=world.headers["member_a1"], json={"reason": "录错户"}
    )
    assert voided.status_code == 200, voided.text


async def case_about(client: Client, world: World, container: Container, household_id: str) -> str:
    """A case member A1 reports about the household (left as reported)."""
    from backend.services.reference import ensure_default_categories
    from tests.integration.test_case_api import report

    await ensure_default_categories(container)
    case = await report(client, world.headers["member_a1"], household_id=household_id)
    case_id: str = case["id"]
    return case_id


@pytest.mark.parametrize(
    ("case", "status", "errcode"),
    [
        ("made_up", 404, 40400),
        ("a_case_for_a_visit_rule", 400, 40030),
        ("the_household_itself", 400, 40030),
        ("a_visit_to_the_neighbours", 400, 40031),
        ("a_voided_visit", 409, 40932),
        ("a_visit_outside_the_scope", 403, 40301),
    ],
)
async def test_an_award_must_cite_a_source_that_earns_it(
    client: Client,
    world: World,
    container: Container,
    visit_rule: str,
    case: str,
    status: int,
    errcode: int,
) -> None:
    # given a household of grid A1, and a source member A1 cites for its visit award
    hid, member = await household(client, world), world.headers["member_a1"]
    if case == "made_up":
        source = str(uuid.uuid4())
    elif case == "a_case_for_a_visit_rule":
        source = await case_about(client, world, container, hid)
    elif case == "the_household_itself":
        source = hid
    elif case == "a_visit_to_the_neighbours":
        source = await visit_to(client, member, await household(client, world))
    elif case == "a_voided_visit":
        source = await visit_to(client, member, hid)
        await void(client, world, source)
    else:  # member B1's visit in grid B1, which member A1 cannot read
        elsewhere = await household(client, world, world.grid_b1)
        source = await visit_to(client, world.headers["member_b1"], elsewhere)

    # when the award is proposed over HTTP
    response = await propose(client, member, visit_rule, hid, source=source)

    # then it is refused with the source named, and nothing is written
    assert (response.status_code, response.json()["errcode"]) == (status, errcode), response.text
    assert response.json()["field"] == "source_event_id"
    listed = await client.get(
        "/v1/awards", headers=world.headers["supervisor"], params={"owner_id": hid}
    )
    assert listed.json()["total"] == 0
    assert await aggregate_or_none(container, "household", hid) is None


async def test_a_made_up_source_commends_nobody(
    client: Client, world: World, container: Container
) -> None:
    # given a 星级文明户 rule and a household of grid A1
    star = await define_rule(
        container, "manual_commendation", 5, commendation="star_civilised_household"
    )
    hid, head = await household(client, world), world.headers["head_a"]
    # when the head proposes it for a source that does not exist
    made_up = await propose(client, head, star, hid, source=str(uuid.uuid4()))
    # then nothing is there to approve, and the household has no commendation
    assert (made_up.status_code, made_up.json()["errcode"]) == (404, 40400)
    listed = await client.get("/v1/awards", headers=head, params={"owner_id": hid})
    assert listed.json()["items"] == []
    # when it cites a visit to the household, it is proposed and approved as before
    cited = await propose(client, head, star, hid, source=await visit_to(client, head, hid))
    assert cited.status_code == 201, cited.text
    decided = await client.post(
        f"/v1/awards/{cited.json()['id']}/approve", headers=world.headers["supervisor"]
    )
    assert decided.status_code == 200, decided.text
    commended = (await account(client, world, "household", hid))["commendations"]
    assert [c["commendation"] for c in commended] == ["star_civilised_household"]


async def test_a_source_voided_before_the_approval_earns_nothing(
    client: Client, world: World, visit_rule: str
) -> None:
    # given an award proposed for a visit
    hid, member = await household(client, world), world.headers["member_a1"]
    source = await visit_to(client, member, hid)
    award = await propose(client, member, visit_rule, hid, source=source)
    assert award.status_code == 201, award.text
    # when the visit is voided (recorded against the wrong household) and the head approves
    await void(client, world, source)
    refused = await client.post(
        f"/v1/awards/{award.json()['id']}/approve", headers=world.headers["head_a"]
    )
    # then the approval is refused, the award stays proposed and no point is credited
    assert (refused.status_code, refused.json()["errcode"]) == (409, 40932), refused.text
    assert refused.json()["state"] == "voided"
    stored = await client.get(f"/v1/awards/{award.json()['id']}", headers=member)
    assert stored.json()["state"] == "proposed"
    assert (await account(client, world, "household", hid))["balance"] == 0
    # and a late retry of the proposal is still answered as the duplicate it is
    retry = await propose(client, member, visit_rule, hid, source=source)
    assert (retry.status_code, retry.json()["duplicate"]) == (200, True)


async def test_a_case_closure_award_waits_for_the_closure(
    client: Client, world: World, container: Container
) -> None:
    # given a case about a household of grid A1, reported by member A1 and not closed yet
    closure = await define_rule(container, "case_closed", 3)
    hid, member = await household(client, world), world.headers["member_a1"]
    case_id = await case_about(client, world, container, hid)
    # when a closure award is proposed for it
    early = await propose(client, member, closure, hid, source=case_id)
    # then it is refused: the case is still reported (409 40932)
    assert (early.status_code, early.json()["errcode"]) == (409, 40932), early.text
    assert early.json()["state"] == "reported"
