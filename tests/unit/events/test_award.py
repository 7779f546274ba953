"""Stories of awards: one per (rule, source, account), decided by someone else, final states."""

import hashlib
from collections.abc import Callable
from datetime import date
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import IntegrityError
from eventsourcing.popo import POPOAggregateRecorder

from events import (
    SYSTEM_META,
    Award,
    EventMeta,
    InvalidTransition,
    InvalidValue,
    PointRule,
    RuleTerms,
    SelfApproval,
)
from tests.unit.events.conftest import MEMBER, meta
from tests.unit.events.test_grid import stored

HEAD = UUID(int=4)
SOURCE = UUID(int=500)
ACCOUNT = UUID(int=600)
D1, D2 = date(2024, 1, 1), date(2024, 4, 1)
PHOTO = hashlib.sha256(b"photo").hexdigest()


def head() -> EventMeta:
    return meta(role="grid_head", actor=HEAD)


def rule() -> PointRule:
    return PointRule.define(
        code="visit", trigger="visit_recorded", target="staff",
        terms=RuleTerms(points=2, daily_cap=None, total_cap=None, commendation=None, label="走访"),
        effective_from=D1, meta=meta(role="admin"),
    )  # fmt: skip


def propose(r: PointRule | None = None, **kw: object) -> Award:
    version = (r or rule()).version_on(D1)
    assert version is not None
    args: dict[str, object] = {
        "rule": version, "source_event_id": SOURCE, "account_id": ACCOUNT,
        "reason": "入户走访", "evidence": (PHOTO,), "meta": meta(),
    }  # fmt: skip
    args.update(kw)
    return Award.propose(**args)  # type: ignore[arg-type]


def test_a_proposal_gets_the_id_of_its_rule_source_and_account() -> None:
    award = propose()
    assert award.id == Award.id_for("visit", SOURCE, ACCOUNT)
    assert award.state == "proposed"
    assert (award.rule_code, award.points, award.evidence) == ("visit", None, (PHOTO,))
    assert Award.id_for("visit", SOURCE, uuid4()) != award.id


def test_a_repeated_proposal_is_refused_by_the_store() -> None:
    # given a proposal stored once, even under a later rule version
    recorder = POPOAggregateRecorder()
    r = rule()
    recorder.insert_events(stored(propose(r).collect_events()))
    r.revise(
        RuleTerms(points=3, daily_cap=None, total_cap=None, commendation=None, label="走访"),
        D1, meta=meta(role="admin"),
    )  # fmt: skip
    # when the phone sends it again, then it hits the same id and the store refuses it
    again = propose(r)
    assert again.rule.rule_version == 2
    assert again.id == Award.id_for("visit", SOURCE, ACCOUNT)
    with pytest.raises(IntegrityError):
        recorder.insert_events(stored(again.collect_events()))


def test_approval_fixes_the_points_of_the_proposal_version() -> None:
    # given a proposal under version 1 (2 points), when the rule is revised to 5 points
    r = rule()
    award = propose(r)
    r.revise(
        RuleTerms(points=5, daily_cap=None, total_cap=None, commendation=None, label="走访"),
        D2, meta=meta(role="admin"),
    )  # fmt: skip
    # then approval still decides 2 points
    assert award.approve(meta=head()) == 2
    assert (award.state, award.points) == ("approved", 2)


def test_rejection_and_revocation() -> None:
    rejected = propose()
    rejected.reject("照片不清", meta=head())
    assert (rejected.state, rejected.decision_reason) == ("rejected", "照片不清")
    revoked = propose()
    revoked.approve(meta=head())
    revoked.revoke("走访记录不实", meta=head())
    assert revoked.state == "revoked"


@pytest.mark.parametrize(
    ("history", "command", "state"),
    [
        ("approve", "reject", "approved"),
        ("approve", "approve", "approved"),
        ("reject", "approve", "rejected"),
        ("reject", "revoke", "rejected"),
        ("", "revoke", "proposed"),
        ("approve,revoke", "revoke", "revoked"),
        ("approve,revoke", "approve", "revoked"),
    ],
)
def test_refused_transitions(history: str, command: str, state: str) -> None:
    award = propose()
    act: dict[str, Callable[[], object]] = {
        "approve": lambda: award.approve(meta=head()),
        "reject": lambda: award.reject("不符合", meta=head()),
        "revoke": lambda: award.revoke("不实", meta=head()),
    }
    for step in filter(None, history.split(",")):
        act[step]()
    with pytest.raises(InvalidTransition) as exc:
        act[command]()
    assert exc.value.details["state"] == state


def test_the_proposer_cannot_decide_their_own_award() -> None:
    award = propose(meta=meta(actor=MEMBER))
    with pytest.raises(SelfApproval) as exc:
        award.approve(meta=meta(role="grid_head", actor=MEMBER))
    assert exc.value.errcode == 40330
    assert award.state == "proposed"
    # the system may decide what the system proposed (automatic visit points)
    auto = propose(meta=SYSTEM_META)
    auto.approve(meta=SYSTEM_META)
    assert auto.state == "approved"


def test_evidence_is_normalised_and_checked() -> None:
    award = propose(evidence=(PHOTO.upper(), f" {PHOTO} "))
    assert award.evidence == (PHOTO,)
    with pytest.raises(InvalidValue):
        propose(evidence=("not-a-hash",))
    many = tuple(hashlib.sha256(bytes([i])).hexdigest() for i in range(10))
    with pytest.raises(InvalidValue):
        propose(evidence=many)
    with pytest.raises(InvalidValue):
        propose(reason="  ")
