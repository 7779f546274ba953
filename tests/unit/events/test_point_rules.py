"""Stories of point rules: numbered versions, effective dates, term rules, retirement."""

from datetime import date

import msgspec
import pytest

from events import InvalidTransition, InvalidValue, PointRule, RuleTerms
from tests.unit.events.conftest import ADMIN, meta

D1, D2, D3 = date(2024, 1, 1), date(2024, 4, 1), date(2024, 7, 1)
VISIT = RuleTerms(points=2, daily_cap=6, total_cap=100, commendation=None, label="入户走访")


def visit_rule() -> PointRule:
    return PointRule.define(
        code="visit", trigger="visit_recorded", target="staff", terms=VISIT,
        effective_from=D1, meta=meta(role="admin", actor=ADMIN),
    )  # fmt: skip


def terms(**changes: object) -> RuleTerms:
    return msgspec.structs.replace(VISIT, **changes)


def test_define_records_version_one() -> None:
    rule = visit_rule()
    assert rule.id == PointRule.id_for_code(" visit ")
    assert rule.rule_version == 1
    v1 = rule.current
    assert (v1.code, v1.trigger, v1.target, v1.points, v1.daily_cap) == (
        "visit", "visit_recorded", "staff", 2, 6,
    )  # fmt: skip
    assert v1.effective_from == D1


def test_revisions_are_numbered_and_effective_dated() -> None:
    # given version 1 from January, when the points rise from April and July
    rule = visit_rule()
    assert rule.revise(terms(points=3), D2, meta=meta(role="admin")) == 2
    assert rule.revise(terms(points=4), D3, meta=meta(role="admin")) == 3
    # then each day answers with the version in force
    assert rule.version_on(date(2023, 12, 31)) is None
    assert rule.version_on(D1) == rule.get_version(1)
    assert rule.version_on(date(2024, 3, 31)).points == 2  # type: ignore[union-attr]
    assert rule.version_on(D2).rule_version == 2  # type: ignore[union-attr]
    assert rule.version_on(date(2030, 1, 1)).points == 4  # type: ignore[union-attr]
    assert [v.rule_version for v in rule.versions] == [1, 2, 3]
    with pytest.raises(InvalidValue):
        rule.get_version(4)


def test_a_same_day_revision_wins_and_unchanged_terms_are_a_no_op() -> None:
    rule = visit_rule()
    rule.collect_events()
    rule.revise(terms(label=" 入户走访 "), D2, meta=meta())  # same terms once normalised
    assert rule.collect_events() == []
    rule.revise(terms(points=3), D2, meta=meta())
    rule.revise(terms(points=5), D2, meta=meta())
    assert rule.version_on(D2).points == 5  # type: ignore[union-attr]


def test_revisions_may_not_go_back_in_time() -> None:
    rule = visit_rule()
    rule.revise(terms(points=3), D2, meta=meta())
    with pytest.raises(InvalidValue):
        rule.revise(terms(points=4), D1, meta=meta())


def test_retirement_ends_every_version() -> None:
    rule = visit_rule()
    rule.revise(terms(points=3), D2, meta=meta())
    rule.retire(D3, "考核办法调整", meta=meta(role="admin"))
    assert rule.version_on(date(2024, 6, 30)).rule_version == 2  # type: ignore[union-attr]
    assert rule.version_on(D3) is None
    for command in (
        lambda: rule.revise(terms(points=9), D3, meta=meta()),
        lambda: rule.retire(D3, "again", meta=meta()),
    ):
        with pytest.raises(InvalidTransition) as exc:
            command()
        assert exc.value.details["state"] == "retired"


@pytest.mark.parametrize(
    ("trigger", "target", "changes", "field"),
    [
        ("visit_recorded", "staff", {"points": -1}, "points"),  # not a deduction trigger
        ("staff_deduction", "staff", {"points": 1, "daily_cap": None, "total_cap": None}, "points"),
        ("visit_recorded", "staff", {"points": 0}, "points"),  # 0 only for commendations
        ("staff_deduction", "staff", {"points": -5, "total_cap": None}, "daily_cap"),
        ("visit_recorded", "staff", {"points": 8}, "daily_cap"),  # cap below points
        ("visit_recorded", "staff", {"daily_cap": 0}, "daily_cap"),
        ("visit_recorded", "staff", {"daily_cap": 200}, "daily_cap"),  # above total cap
        ("manual_commendation", "staff", {"commendation": "beautiful_courtyard"}, "commendation"),
        ("household_conduct", "staff", {}, "target"),
        ("staff_deduction", "household", {}, "target"),
        ("meeting_attended", "staff", {}, "trigger"),
        ("visit_recorded", "village", {}, "target"),
        ("visit_recorded", "staff", {"label": ""}, "label"),
    ],
)
def test_term_rules(trigger: str, target: str, changes: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidValue) as exc:
        PointRule.define(
            code="r1", trigger=trigger, target=target, terms=terms(**changes),  # type: ignore[arg-type]
            effective_from=D1, meta=meta(),
        )  # fmt: skip
    assert exc.value.details["field"] == field


def test_household_conduct_may_add_or_deduct_and_commendations_may_be_worth_nothing() -> None:
    bonus = terms(points=5, daily_cap=None, total_cap=None, label="村规民约加分")
    fine = terms(points=-5, daily_cap=None, total_cap=None, label="乱堆乱放扣分")
    star = terms(points=0, daily_cap=None, total_cap=1, commendation="star_civilised_household")
    for code, t in (("bonus", bonus), ("fine", fine)):
        PointRule.define(
            code=code, trigger="household_conduct", target="household", terms=t,
            effective_from=D1, meta=meta(),
        )  # fmt: skip
    rule = PointRule.define(
        code="star", trigger="manual_commendation", target="household", terms=star,
        effective_from=D1, meta=meta(),
    )  # fmt: skip
    assert rule.current.commendation == "star_civilised_household"
    with pytest.raises(InvalidValue):
        PointRule.define(
            code="x", trigger="household_conduct", target="household",
            terms=terms(
                points=-5, daily_cap=None, total_cap=None, commendation="beautiful_courtyard"
            ),
            effective_from=D1, meta=meta(),
        )  # fmt: skip


@pytest.mark.parametrize("code", ["", "V", "x", "visit rule", "a" * 49])
def test_rule_codes(code: str) -> None:
    with pytest.raises(InvalidValue) as exc:
        PointRule.define(
            code=code, trigger="visit_recorded", target="staff", terms=VISIT,
            effective_from=D1, meta=meta(),
        )  # fmt: skip
    assert exc.value.details["field"] == "code"
