"""Stories of points accounts: awards flowing in, the points supermarket, caps, reversals."""

from datetime import date, timedelta
from uuid import UUID, uuid4

import pytest

from events import (
    Award,
    CapReached,
    EventMeta,
    InsufficientBalance,
    InvalidTransition,
    InvalidValue,
    NotFound,
    PointRule,
    PointsAccount,
    RedeemItem,
    RuleTerms,
    post_award,
)
from tests.unit.events.conftest import meta

HEAD = UUID(int=4)
HOUSEHOLD = UUID(int=700)
STAFF = UUID(int=701)
D1 = date(2024, 3, 1)
D2 = D1 + timedelta(days=1)
SOAP = RedeemItem(sku="soap", name="肥皂", unit_points=3, quantity=2)
OIL = RedeemItem(sku="oil", name="食用油", unit_points=20, quantity=1)


def head() -> EventMeta:
    return meta(role="grid_head", actor=HEAD)


def rule(code: str, trigger: str, target: str, points: int, **caps: object) -> PointRule:
    terms = RuleTerms(
        points=points, daily_cap=caps.get("daily"), total_cap=caps.get("total"),  # type: ignore[arg-type]
        commendation=caps.get("commendation"), label=code,  # type: ignore[arg-type]
    )  # fmt: skip
    return PointRule.define(
        code=code, trigger=trigger, target=target, terms=terms,  # type: ignore[arg-type]
        effective_from=date(2024, 1, 1), meta=meta(role="admin"),
    )  # fmt: skip


def approved(r: PointRule, account: PointsAccount, source: UUID | None = None) -> Award:
    version = r.version_on(D1)
    assert version is not None
    award = Award.propose(
        rule=version, source_event_id=source or uuid4(), account_id=account.id,
        reason="事由", meta=meta(),
    )  # fmt: skip
    award.approve(meta=head())
    return award


def household() -> PointsAccount:
    return PointsAccount.open("household", HOUSEHOLD, meta=meta(role="admin"))


def staff() -> PointsAccount:
    return PointsAccount.open("staff", STAFF, meta=meta(role="admin"))


def credit(
    acc: PointsAccount,
    points: int,
    day: date = D1,
    *,
    daily_cap: int | None = None,
    total_cap: int | None = None,
    allow_clip: bool = False,
) -> int:
    return acc.credit(
        uuid4(), "conduct", points, on=day, daily_cap=daily_cap, total_cap=total_cap,
        meta=meta(), allow_clip=allow_clip,
    )  # fmt: skip


def test_proposal_approval_credit_redemption_and_cancellation() -> None:
    # given a household account and an approved 30-point conduct award
    acc = household()
    assert acc.id == PointsAccount.id_for("household", HOUSEHOLD)
    award = approved(rule("conduct", "household_conduct", "household", 30), acc)
    # when a worker posts it, the household redeems soap, and the clerk cancels the receipt
    post_award(acc, award, on=D1, meta=meta(role="system"))
    receipt = uuid4()
    acc.redeem(receipt, (SOAP,), on=D2, meta=meta(role="grid_head"))
    assert acc.balance == 24
    acc.cancel_redemption(receipt, "退货", on=D2, meta=meta(role="grid_head"))
    # then the balance is whole again and the history tells the story
    assert (acc.balance, acc.owed) == (30, 0)
    kinds = [(e.kind, e.points, e.balance_after) for e in acc.history]
    assert kinds == [("credit", 30, 30), ("redemption", -6, 24), ("redemption_cancel", 6, 30)]
    assert acc.history[0].award_id == award.id
    assert acc.history[1].redemption_id == receipt


def test_redeeming_above_the_balance_changes_nothing() -> None:
    acc = household()
    credit(acc, 10)
    acc.collect_events()
    with pytest.raises(InsufficientBalance) as exc:
        acc.redeem(uuid4(), (SOAP, OIL), on=D1, meta=meta())
    assert exc.value.errcode == 40930
    assert exc.value.details == {"balance": 10, "needed": 26}
    assert acc.balance == 10
    assert acc.collect_events() == []


def test_the_same_award_is_credited_once() -> None:
    acc = household()
    award = approved(rule("conduct", "household_conduct", "household", 5), acc)
    post_award(acc, award, on=D1, meta=meta())
    post_award(acc, award, on=D2, meta=meta())  # a retried worker
    assert acc.credit(award.id, "conduct", 5, on=D2, daily_cap=None, total_cap=None,
                      meta=meta()) == 5  # fmt: skip
    assert acc.balance == 5
    assert len(acc.history) == 1


def test_the_daily_cap_clips_and_resets_the_next_day() -> None:
    # given a rule of 4 points capped at 6 a day
    acc = household()
    # when three awards arrive on one day
    assert credit(acc, 4, daily_cap=6) == 4
    assert credit(acc, 4, daily_cap=6) == 2  # clipped, recorded
    with pytest.raises(CapReached) as exc:
        credit(acc, 4, daily_cap=6)  # nothing left: refused
    assert exc.value.details == {
        "rule_code": "conduct", "cap": "daily", "limit": 6, "used": 6, "requested": 4,
    }  # fmt: skip
    assert credit(acc, 4, daily_cap=6, allow_clip=True) == 0  # settled with nothing
    # then the next day starts afresh
    assert credit(acc, 4, D2, daily_cap=6) == 4
    assert acc.balance == 10
    assert (acc.used_on("conduct", D1), acc.used_on("conduct", D2)) == (6, 4)


def test_the_total_cap_holds_across_days() -> None:
    acc = household()
    assert credit(acc, 5, D1, daily_cap=5, total_cap=8) == 5
    assert credit(acc, 5, D2, daily_cap=5, total_cap=8) == 3
    with pytest.raises(CapReached) as exc:
        credit(acc, 5, D2 + timedelta(days=1), daily_cap=5, total_cap=8)
    assert (exc.value.details["cap"], exc.value.details["used"]) == ("total", 8)


def test_a_revoked_award_already_spent_leaves_points_owed() -> None:
    # given 20 points credited and 18 spent
    acc = household()
    award = approved(rule("conduct", "household_conduct", "household", 20), acc)
    post_award(acc, award, on=D1, meta=meta())
    acc.redeem(uuid4(), (RedeemItem(sku="rice", name="大米", unit_points=18, quantity=1),),
               on=D1, meta=meta())  # fmt: skip
    # when the award is found false and revoked
    award.revoke("虚报", meta=head())
    post_award(acc, award, on=D2, meta=meta())
    post_award(acc, award, on=D2, meta=meta())  # retried: no second reversal
    # then the balance stops at zero and the rest is owed
    assert (acc.balance, acc.owed) == (0, 18)
    assert acc.history[-1].kind == "revocation"
    # and the next credit repays the debt first
    credit(acc, 25)
    assert (acc.balance, acc.owed) == (7, 0)


def test_a_reversed_credit_frees_its_cap_room() -> None:
    acc = household()
    r = rule("conduct", "household_conduct", "household", 6, daily=6)
    first = approved(r, acc)
    post_award(acc, first, on=D1, meta=meta())
    first.revoke("重复上报", meta=head())
    post_award(acc, first, on=D1, meta=meta())
    post_award(acc, approved(r, acc), on=D1, meta=meta())
    assert (acc.balance, acc.used_on("conduct", D1)) == (6, 6)


def test_a_redemption_is_cancelled_once() -> None:
    acc = household()
    credit(acc, 10)
    receipt = uuid4()
    acc.redeem(receipt, (SOAP,), on=D1, meta=meta())
    acc.cancel_redemption(receipt, "退货", on=D1, meta=meta())
    with pytest.raises(InvalidTransition) as exc:
        acc.cancel_redemption(receipt, "退货", on=D1, meta=meta())
    assert exc.value.details["state"] == "cancelled"
    assert acc.balance == 10
    with pytest.raises(NotFound):
        acc.cancel_redemption(uuid4(), "退货", on=D1, meta=meta())


def test_a_redemption_is_idempotent_per_id() -> None:
    acc = household()
    credit(acc, 30)
    receipt = uuid4()
    acc.redeem(receipt, (SOAP, OIL), on=D1, meta=meta())
    acc.redeem(receipt, (SOAP, OIL), on=D1, meta=meta())  # the phone re-sent it
    assert acc.balance == 4
    with pytest.raises(InvalidValue):
        acc.redeem(receipt, (SOAP,), on=D1, meta=meta())


@pytest.mark.parametrize(
    "items",
    [
        (),
        (RedeemItem(sku="soap", name="肥皂", unit_points=0, quantity=1),),
        (RedeemItem(sku="soap", name="肥皂", unit_points=1, quantity=0),),
        (RedeemItem(sku=" ", name="肥皂", unit_points=1, quantity=1),),
        (SOAP, SOAP),
    ],
)
def test_redemption_items_are_checked(items: tuple[RedeemItem, ...]) -> None:
    acc = household()
    credit(acc, 100)
    with pytest.raises(InvalidValue):
        acc.redeem(uuid4(), items, on=D1, meta=meta())


def test_a_commendation_of_zero_points_is_recorded() -> None:
    acc = household()
    star = rule("star", "manual_commendation", "household", 0, total=1,
                commendation="star_civilised_household")  # fmt: skip
    award = approved(star, acc)
    assert award.points == 0
    post_award(acc, award, on=D1, meta=meta())
    post_award(acc, approved(star, acc), on=D2, meta=meta())  # a cap never refuses 0 points
    assert acc.balance == 0
    assert acc.commendations == ["star_civilised_household", "star_civilised_household"]
    # and a revoked commendation is no longer held
    award.revoke("评选不实", meta=head())
    post_award(acc, award, on=D2, meta=meta())
    assert acc.commendations == ["star_civilised_household"]


def test_a_staff_deduction_and_its_refund() -> None:
    # given a grid member with 3 points, when a 约谈 deduction of 5 is approved and posted
    acc = staff()
    credit(acc, 3)
    talk = rule("talk", "staff_deduction", "staff", -5)
    award = approved(talk, acc)
    post_award(acc, award, on=D1, meta=meta())
    # then the balance stops at zero, 2 are owed, and the entry names the award
    assert (acc.balance, acc.owed) == (0, 2)
    assert (acc.history[-1].kind, acc.history[-1].points) == ("deduction", -5)
    assert acc.history[-1].award_id == award.id
    # and revoking the deduction forgives the debt and gives back the rest
    award.revoke("约谈撤销", meta=head())
    post_award(acc, award, on=D2, meta=meta())
    assert (acc.balance, acc.owed) == (3, 0)


def test_posting_checks_the_award() -> None:
    acc = household()
    r = rule("conduct", "household_conduct", "household", 5)
    proposed = Award.propose(rule=r.current, source_event_id=uuid4(), account_id=acc.id,
                             reason="x", meta=meta())  # fmt: skip
    with pytest.raises(InvalidTransition) as exc:
        post_award(acc, proposed, on=D1, meta=meta())
    assert exc.value.details["state"] == "proposed"
    with pytest.raises(InvalidValue):
        post_award(staff(), approved(r, acc), on=D1, meta=meta())
    # a revoked award that was never posted leaves nothing to undo
    never = approved(r, acc)
    never.revoke("x", meta=head())
    post_award(acc, never, on=D1, meta=meta())
    assert acc.history == []


def test_account_command_rules() -> None:
    acc = household()
    with pytest.raises(InvalidValue):
        credit(acc, -1)
    with pytest.raises(InvalidValue):
        acc.deduct(uuid4(), "talk", 0, on=D1, meta=meta())
    with pytest.raises(NotFound):
        acc.debit_revocation(uuid4(), on=D1, meta=meta())
    with pytest.raises(NotFound):
        acc.refund_deduction(uuid4(), on=D1, meta=meta())
    with pytest.raises(InvalidValue):
        PointsAccount.open("village", HOUSEHOLD, meta=meta())  # type: ignore[arg-type]
