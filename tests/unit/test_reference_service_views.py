"""Reference data between the wire and the domain, without services: request bodies become
domain values (and bad ones fail as the domain says), read results become wire views."""

from __future__ import annotations

from datetime import date

import msgspec
import pytest

from backend.http.reference_schemas import (
    DefinePointRule,
    ReplaceSlaRules,
    policy_view,
    rule_detail_view,
    to_terms,
)
from backend.services.reference import PointRuleInfo, PolicyInfo
from events import DEFAULT_POLICY, InvalidValue, RuleVersion, SlaRule


def test_a_rule_body_becomes_the_domain_rule() -> None:
    body = msgspec.json.decode(
        b'{"rules": [{"level": 3, "stage": "handling", "category": "dispute", "limit_days": 5}]}',
        type=ReplaceSlaRules,
    )
    (rule,) = [r.to_rule() for r in body.rules]
    assert rule == SlaRule(level=3, stage="handling", category="dispute", limit_days=5)


def test_a_rule_body_with_yellow_after_red_fails_as_the_domain_says() -> None:
    body = msgspec.json.decode(
        b'{"rules": [{"level": 3, "stage": "handling", "limit_days": 5, "yellow_at": 0.9,'
        b' "red_at": 0.5}]}',
        type=ReplaceSlaRules,
    )
    with pytest.raises(InvalidValue):
        body.rules[0].to_rule()


def test_request_bodies_are_allow_lists() -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"rules": [], "source": "admin"}', type=ReplaceSlaRules)


def test_a_point_rule_body_gives_its_terms() -> None:
    body = DefinePointRule(
        code="visit", trigger="visit_recorded", target="staff", points=5, label="走访", daily_cap=20
    )
    terms = to_terms(body)
    assert (terms.points, terms.daily_cap, terms.total_cap, terms.label) == (5, 20, None, "走访")


def test_the_default_policy_is_shown_as_the_default() -> None:
    view = policy_view(PolicyInfo(policy=DEFAULT_POLICY, source="default", version=0))
    assert (view.source, view.version, len(view.rules)) == ("default", 0, len(DEFAULT_POLICY.rules))
    assert view.rules[0].stage == DEFAULT_POLICY.rules[0].stage


def test_a_rule_detail_lists_every_version_and_shows_the_current_one() -> None:
    versions = [
        RuleVersion(
            code="visit", rule_version=n, trigger="visit_recorded", target="staff", points=p,
            daily_cap=None, total_cap=None, commendation=None, label="走访",
            effective_from=date(2026, n, 1),
        )
        for n, p in ((1, 5), (2, 8))
    ]  # fmt: skip
    current = {
        "code": "visit", "trigger": "visit_recorded", "target": "staff", "current_version": 2,
        "retired_from": None, "version": 2, "points": 8, "daily_cap": None, "total_cap": None,
        "commendation": None, "label": "走访", "effective_from": date(2026, 2, 1),
    }  # fmt: skip
    view = rule_detail_view(PointRuleInfo(current=current, versions=versions))  # type: ignore[arg-type]
    assert (view.current.rule_version, view.current.points) == (2, 8)
    assert [v.points for v in view.versions] == [5, 8]
