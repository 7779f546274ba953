"""Awards (积分/表彰): a proposal from a phone, decided by a grid head (DESIGN §2, §4).

One award per (rule, source event, account): the id is ``Award.id_for(rule_code,
source_event_id, account_id)``, so a re-sent or retried proposal targets the same aggregate and
the event store refuses the second ``Proposed`` (the caller compares ids to report
"duplicate"). ``source_event_id`` is the visit, case or mediation that earned the award — for
a manual commendation or deduction too, the field record it rests on; what each trigger may
cite is in :mod:`events.award_source`, checked at the proposal and again at the approval.

The proposal snapshots the rule version in force (``PointRule.version_on``); approval fixes
the points at that version, whatever revisions came since. The points reach the account when
a worker calls :func:`post_award` after each decision.

States (every other command raises ``InvalidTransition`` with ``details["state"]``)::

    proposed --approve--> approved --revoke--> revoked
    proposed --reject---> rejected

The proposer may not approve, reject or revoke their own award (``SelfApproval``); the system
(``actor_id`` None) may decide system proposals, e.g. automatic visit points.
"""

import re
from datetime import date
from typing import Final, Literal, Self
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from events.errors import InvalidTransition, InvalidValue
from events.meta import EventMeta
from events.point_rules import Commendation, RuleVersion
from events.points import PointsAccount
from events.points_errors import SelfApproval
from events.validation import validate_text

__all__ = [
    "AWARD_NAMESPACE",
    "EVIDENCE_MAX",
    "Award",
    "AwardState",
    "post_award",
    "validate_evidence",
]

AwardState = Literal["proposed", "approved", "rejected", "revoked"]
AWARD_NAMESPACE: Final = UUID("9f0d0bb9-5333-4011-a3c9-7e415d4972b8")
# wx.chooseImage picks at most 9 photos at a time.
EVIDENCE_MAX: Final = 9
REASON_MAX: Final = 500
_SHA256: Final = re.compile(r"[0-9a-f]{64}")


def validate_evidence(evidence: tuple[str, ...]) -> tuple[str, ...]:
    """Lower-case SHA-256 hex digests, de-duplicated in order, at most EVIDENCE_MAX."""
    digests = tuple(dict.fromkeys(d.strip().lower() for d in evidence))
    if len(digests) > EVIDENCE_MAX:
        raise InvalidValue(f"at most {EVIDENCE_MAX} photos", field="evidence")
    if not all(_SHA256.fullmatch(d) for d in digests):
        raise InvalidValue("evidence must be SHA-256 hex digests", field="evidence")
    return digests


class Award(Aggregate):
    """A points award or commendation for one account, from one source event."""

    class Proposed(Aggregate.Created):
        rule: RuleVersion
        source_event_id: UUID
        account_id: UUID
        reason: str
        evidence: tuple[str, ...]
        meta: EventMeta

    class Approved(Aggregate.Event):
        points: int
        meta: EventMeta

    class Rejected(Aggregate.Event):
        reason: str
        meta: EventMeta

    class Revoked(Aggregate.Event):
        reason: str
        meta: EventMeta

    @staticmethod
    def create_id(rule: RuleVersion, source_event_id: UUID, account_id: UUID) -> UUID:
        """eventsourcing hook: one award per (rule, source event, account)."""
        return Award.id_for(rule.code, source_event_id, account_id)

    @staticmethod
    def id_for(rule_code: str, source_event_id: UUID, account_id: UUID) -> UUID:
        # The rule *code*, not its version: a revision must not allow a second award.
        return uuid5(AWARD_NAMESPACE, f"award:{rule_code}:{source_event_id}:{account_id}")

    @classmethod
    def propose(
        cls,
        *,
        rule: RuleVersion,
        source_event_id: UUID,
        account_id: UUID,
        reason: str,
        evidence: tuple[str, ...] = (),
        meta: EventMeta,
    ) -> Self:
        """Propose an award under ``rule`` (the version in force on the source's day)."""
        return cls(
            rule=rule,
            source_event_id=source_event_id,
            account_id=account_id,
            reason=validate_text(reason, field="reason", max_len=REASON_MAX),
            evidence=validate_evidence(evidence),
            meta=meta,
        )

    @event(Proposed)
    def __init__(
        self,
        rule: RuleVersion,
        source_event_id: UUID,
        account_id: UUID,
        reason: str,
        evidence: tuple[str, ...],
        meta: EventMeta,
    ) -> None:
        self.rule = rule
        self.source_event_id = source_event_id
        self.account_id = account_id
        self.reason = reason
        self.evidence = evidence
        self.proposed_by = meta.actor_id
        self.state: AwardState = "proposed"
        self.points: int | None = None  # decided at approval
        self.decision_reason: str | None = None

    # -- queries ---------------------------------------------------------------------------

    @property
    def rule_code(self) -> str:
        return self.rule.code

    @property
    def commendation(self) -> Commendation | None:
        return self.rule.commendation

    # -- commands --------------------------------------------------------------------------

    def approve(self, *, meta: EventMeta) -> int:
        """Approve at the proposal's rule version; returns the points decided."""
        self._check_decision("proposed", meta)
        self._approved(points=self.rule.points, meta=meta)
        return self.rule.points

    def reject(self, reason: str, *, meta: EventMeta) -> None:
        self._check_decision("proposed", meta)
        self._rejected(reason=validate_text(reason, field="reason", max_len=REASON_MAX), meta=meta)

    def revoke(self, reason: str, *, meta: EventMeta) -> None:
        """Withdraw an approved award (e.g. found false); the account reverses its points."""
        self._check_decision("approved", meta)
        self._revoked(reason=validate_text(reason, field="reason", max_len=REASON_MAX), meta=meta)

    def _check_decision(self, required: AwardState, meta: EventMeta) -> None:
        if self.state != required:
            raise InvalidTransition(f"award is {self.state}", state=self.state)
        if meta.actor_id is not None and meta.actor_id == self.proposed_by:
            raise SelfApproval("the proposer cannot decide the award", award_id=str(self.id))

    # -- event appliers (also run on replay: no validation here) ----------------------------

    @event(Approved)
    def _approved(self, points: int, meta: EventMeta) -> None:
        self.state = "approved"
        self.points = points

    @event(Rejected)
    def _rejected(self, reason: str, meta: EventMeta) -> None:
        self.state = "rejected"
        self.decision_reason = reason

    @event(Revoked)
    def _revoked(self, reason: str, meta: EventMeta) -> None:
        self.state = "revoked"
        self.decision_reason = reason


def post_award(
    account: PointsAccount, award: Award, *, on: date, meta: EventMeta, allow_clip: bool = False
) -> None:
    """Bring ``account`` in line with ``award``: credit (or deduct, for negative points) an
    approved award, reverse a revoked one. Idempotent, so a worker may replay decisions."""
    if award.account_id != account.id or award.rule.target != account.owner_kind:
        raise InvalidValue("award is for another account", field="account_id")
    if award.state == "revoked":
        _reverse(account, award.id, on=on, meta=meta)
    elif award.state != "approved" or award.points is None:
        raise InvalidTransition(f"award is {award.state}", state=award.state)
    elif award.points < 0:
        account.deduct(award.id, award.rule_code, -award.points, on=on, meta=meta)
    else:
        rule = award.rule
        account.credit(
            award.id,
            rule.code,
            award.points,
            on=on,
            daily_cap=rule.daily_cap,
            total_cap=rule.total_cap,
            commendation=rule.commendation,
            meta=meta,
            allow_clip=allow_clip,
        )


def _reverse(account: PointsAccount, award_id: UUID, *, on: date, meta: EventMeta) -> None:
    posting = account.postings.get(award_id)
    if posting is None:
        return  # revoked before it was ever posted: nothing to undo
    if posting.kind == "credit":
        account.debit_revocation(award_id, on=on, meta=meta)
    else:
        account.refund_deduction(award_id, on=on, meta=meta)
