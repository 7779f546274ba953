"""Awards and points (积分) over HTTP on the real services: a member proposes, the grid head
approves, retries are one award, the points supermarket never goes below the balance, and the
projection adds up to the aggregate."""

from __future__ import annotations

import uuid
from datetime import date
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


async def propose(
    client: Client,
    headers: dict[str, str],
    code: str,
    owner_id: str,
    *,
    source: str | None = None,
    owner_kind: str = "household",
) -> httpx.Response:
    return await client.post(
        "/v1/awards",
        headers=headers,
        json={
            "rule_code": code,
            "source_event_id": source or str(uuid.uuid4()),
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
    proposal = await propose(client, world.headers["member_a1"], code, owner_id)
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
    source = str(uuid.uuid4())

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
    award = (await propose(client, head, visit_rule, hid)).json()

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

    # when the head proposes both for member A1 and the supervisor approves them
    ids = []
    for code in (excellent, deduction):
        proposal = await propose(client, head, code, member_id, owner_kind="staff")
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
    second = await propose(client, world.headers["member_a1"], capped, hid)
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
    award = (await propose(client, world.headers["member_a1"], visit_rule, hid)).json()

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
        response = await propose(client, member, code, owner, owner_kind=kind)

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
