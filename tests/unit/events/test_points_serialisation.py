"""Every event of reference data, rules, awards and points accounts survives msgspec JSON."""

from datetime import date
from uuid import UUID, uuid4

from events import (
    SYSTEM_META,
    Award,
    CaseCategory,
    PointRule,
    PointsAccount,
    RedeemItem,
    RuleTerms,
    post_award,
)
from tests.unit.events.conftest import meta
from tests.unit.events.test_serialisation import assert_round_trips

D1 = date(2024, 3, 1)
PHOTO = "ab" * 32


def test_case_category_events_round_trip() -> None:
    parent = CaseCategory.define(code="dispute", label="矛盾纠纷", mediation_eligible=True,
                                 meta=meta(role="admin"))  # fmt: skip
    child = CaseCategory.define(code="neighbour_dispute", label="邻里纠纷",
                                mediation_eligible=True, meta=meta(), parent=parent)  # fmt: skip
    child.relabel("邻里矛盾", meta=meta())
    child.retire("合并", meta=meta())
    assert_round_trips(parent, {"Defined"})
    assert_round_trips(child, {"Defined", "Relabelled", "Retired"})


def test_point_rule_events_round_trip() -> None:
    star = RuleTerms(points=0, daily_cap=None, total_cap=1,
                     commendation="excellent_grid_member", label="优秀网格员")  # fmt: skip
    rule = PointRule.define(code="best-member", trigger="manual_commendation", target="staff",
                            terms=star, effective_from=D1, meta=meta())  # fmt: skip
    rule.revise(RuleTerms(points=10, daily_cap=10, total_cap=20,
                          commendation="excellent_grid_member", label="优秀网格员"),
                date(2024, 4, 1), meta=meta())  # fmt: skip
    rule.retire(date(2025, 1, 1), "办法调整", meta=meta())
    assert_round_trips(rule, {"Defined", "Revised", "Retired"})


def award_flow(account: PointsAccount, terms: RuleTerms, trigger: str, code: str) -> Award:
    rule = PointRule.define(code=code, trigger=trigger, target=account.owner_kind,  # type: ignore[arg-type]
                            terms=terms, effective_from=D1, meta=meta())  # fmt: skip
    award = Award.propose(rule=rule.current, source_event_id=uuid4(), account_id=account.id,
                          reason="事由", evidence=(PHOTO,), meta=meta())  # fmt: skip
    award.approve(meta=meta(actor=UUID(int=4)))
    post_award(account, award, on=D1, meta=SYSTEM_META)
    award.revoke("不实", meta=meta(actor=UUID(int=4)))
    post_award(account, award, on=D1, meta=SYSTEM_META)
    return award


def test_award_and_points_account_events_round_trip() -> None:
    acc = PointsAccount.open("staff", UUID(int=9), meta=meta(role="admin"))
    acc.credit(uuid4(), "bonus", 30, on=D1, daily_cap=None, total_cap=None, meta=meta())
    plus = RuleTerms(points=5, daily_cap=5, total_cap=None, commendation=None, label="走访")
    minus = RuleTerms(points=-40, daily_cap=None, total_cap=None, commendation=None, label="约谈")
    credited = award_flow(acc, plus, "visit_recorded", "visit")
    award_flow(acc, minus, "staff_deduction", "talk")
    rejected = Award.propose(rule=credited.rule, source_event_id=uuid4(), account_id=acc.id,
                             reason="x", meta=meta())  # fmt: skip
    rejected.reject("重复", meta=meta(actor=UUID(int=4)))
    receipt = uuid4()
    acc.redeem(receipt, (RedeemItem(sku="soap", name="肥皂", unit_points=3, quantity=2),),
               on=D1, meta=meta())  # fmt: skip
    acc.cancel_redemption(receipt, "退货", on=D1, meta=meta())
    assert_round_trips(credited, {"Proposed", "Approved", "Revoked"})
    assert_round_trips(rejected, {"Proposed", "Rejected"})
    assert_round_trips(
        acc,
        {
            "Opened", "Credited", "RevocationDebited", "Deducted", "DeductionRefunded",
            "Redeemed", "RedemptionCancelled",
        },
    )  # fmt: skip
