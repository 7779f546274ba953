"""Staff: appointment, reassignment, relief and WeChat binding (DESIGN §2, privacy.md 8–9).

Assignments are effective-dated: ``effective_to`` is exclusive (the day the next assignment
or the relief takes effect). A relieved staff member is final: every command raises
:class:`~events.errors.InvalidTransition`, and the relief drops the WeChat binding so the
backend can revoke tokens from the event alone.

WeChat binding: an admin issues a one-time code; only its hash is stored (the admin hands
the clear code to the person). ``bind_wechat`` checks hash, expiry and single use, and the
openid is stored hashed (privacy.md rule 8).
"""

import hmac
from datetime import date, datetime
from typing import Final, Literal, Self, get_args
from uuid import UUID, uuid4

import msgspec
from eventsourcing.domain import Aggregate, event

from events.errors import BindingCodeInvalid, InvalidTransition, InvalidValue
from events.meta import EventMeta
from events.validation import ensure_aware, ensure_not_before, validate_text, validate_work_phone

__all__ = ["STAFF_ROLES", "Assignment", "BindingCode", "Staff", "StaffRole", "StaffStatus"]

StaffRole = Literal["grid_member", "grid_head", "supervisor", "mediator", "auditor", "admin"]
StaffStatus = Literal["active", "relieved"]
STAFF_ROLES: Final[tuple[str, ...]] = get_args(StaffRole)
NAME_MAX: Final = 64


class Assignment(msgspec.Struct, frozen=True, kw_only=True):
    """A role over a scope (grid subtree root) for a date range; ``effective_to`` exclusive."""

    role: StaffRole
    scope_unit_id: UUID
    effective_from: date
    effective_to: date | None = None


class BindingCode(msgspec.Struct, frozen=True, kw_only=True):
    """The one outstanding binding code (hash only)."""

    code_hash: str
    expires_at: datetime
    used: bool = False


def _validate_role(role: str) -> StaffRole:
    if role not in STAFF_ROLES:
        raise InvalidValue("unknown role", field="role", value=role)
    return role  # type: ignore[return-value]  # narrowed by the membership test above


class Staff(Aggregate):
    """A person holding a role over a grid scope, appointed and relieved over time."""

    class Appointed(Aggregate.Created):
        name: str
        work_phone: str
        role: StaffRole
        scope_unit_id: UUID
        effective_from: date
        meta: EventMeta

    class Reassigned(Aggregate.Event):
        role: StaffRole
        scope_unit_id: UUID
        effective_from: date
        meta: EventMeta

    class Relieved(Aggregate.Event):
        effective_from: date
        reason: str
        meta: EventMeta

    class BindingCodeIssued(Aggregate.Event):
        code_hash: str
        expires_at: datetime
        meta: EventMeta

    class WechatBound(Aggregate.Event):
        openid_hash: str
        code_hash: str
        meta: EventMeta

    class WechatUnbound(Aggregate.Event):
        reason: str
        meta: EventMeta

    @classmethod
    def appoint(
        cls,
        *,
        name: str,
        work_phone: str,
        role: str,
        scope_unit_id: UUID,
        effective_from: date,
        meta: EventMeta,
        staff_id: UUID | None = None,
    ) -> Self:
        """Appoint a new staff member; ``staff_id`` defaults to a fresh uuid4."""
        return cls(
            id=staff_id or uuid4(),
            name=validate_text(name, field="name", max_len=NAME_MAX),
            work_phone=validate_work_phone(work_phone),
            role=_validate_role(role),
            scope_unit_id=scope_unit_id,
            effective_from=effective_from,
            meta=meta,
        )

    @event(Appointed)
    def __init__(
        self,
        id: UUID,  # eventsourcing passes the caller's id under this exact name
        name: str,
        work_phone: str,
        role: StaffRole,
        scope_unit_id: UUID,
        effective_from: date,
        meta: EventMeta,
    ) -> None:
        self.name = name
        self.work_phone = work_phone
        self.status: StaffStatus = "active"
        self.assignments = [
            Assignment(role=role, scope_unit_id=scope_unit_id, effective_from=effective_from)
        ]
        self.binding_code: BindingCode | None = None
        self.wechat_openid_hash: str | None = None

    # -- queries ---------------------------------------------------------------------------

    @property
    def current(self) -> Assignment:
        return self.assignments[-1]

    def assignment_on(self, day: date) -> Assignment | None:
        """The assignment in force on ``day`` (None before appointment or after relief)."""
        for a in reversed(self.assignments):
            if a.effective_from <= day and (a.effective_to is None or day < a.effective_to):
                return a
        return None

    # -- commands --------------------------------------------------------------------------

    def reassign(
        self, role: str, scope_unit_id: UUID, effective_from: date, *, meta: EventMeta
    ) -> None:
        """Move to another role and/or scope; the same role and scope is a no-op."""
        self._check_active()
        ensure_not_before(effective_from, self.current.effective_from)
        valid_role = _validate_role(role)
        if (valid_role, scope_unit_id) != (self.current.role, self.current.scope_unit_id):
            self._reassigned(
                role=valid_role,
                scope_unit_id=scope_unit_id,
                effective_from=effective_from,
                meta=meta,
            )

    def relieve(self, effective_from: date, reason: str, *, meta: EventMeta) -> None:
        """End the appointment; final."""
        self._check_active()
        ensure_not_before(effective_from, self.current.effective_from)
        reason = validate_text(reason, field="reason", max_len=200)
        self._relieved(effective_from=effective_from, reason=reason, meta=meta)

    def issue_binding_code(self, code_hash: str, expires_at: datetime, *, meta: EventMeta) -> None:
        """Issue a one-time binding code; it replaces any earlier unused code."""
        self._check_active()
        code_hash = validate_text(code_hash, field="code_hash", max_len=128)
        self._binding_code_issued(
            code_hash=code_hash, expires_at=ensure_aware(expires_at, field="expires_at"), meta=meta
        )

    def bind_wechat(
        self, openid_hash: str, code_hash: str, now: datetime, *, meta: EventMeta
    ) -> None:
        """Bind a WeChat account by presenting the code; consumes the code."""
        self._check_active()
        openid_hash = validate_text(openid_hash, field="openid_hash", max_len=128)
        self._check_binding_code(code_hash, ensure_aware(now, field="now"))
        self._wechat_bound(openid_hash=openid_hash, code_hash=code_hash, meta=meta)

    def unbind_wechat(self, reason: str, *, meta: EventMeta) -> None:
        """Drop the binding (lost phone, account change)."""
        self._check_active()
        if self.wechat_openid_hash is None:
            raise InvalidTransition("no WeChat account is bound", state="unbound")
        reason = validate_text(reason, field="reason", max_len=200)
        self._wechat_unbound(reason=reason, meta=meta)

    def _check_active(self) -> None:
        if self.status != "active":
            raise InvalidTransition("staff member is relieved", state=self.status)

    def _check_binding_code(self, code_hash: str, now: datetime) -> None:
        code = self.binding_code
        if code is None:
            raise BindingCodeInvalid("no binding code was issued", reason="missing")
        # Constant-time compare: the hash is the secret the phone proves knowledge of.
        if not hmac.compare_digest(code.code_hash.encode(), code_hash.strip().encode()):
            raise BindingCodeInvalid("binding code does not match", reason="mismatch")
        if code.used:
            raise BindingCodeInvalid("binding code was already used", reason="used")
        if now >= code.expires_at:
            raise BindingCodeInvalid("binding code has expired", reason="expired")

    # -- event appliers (also run on replay: no validation here) ----------------------------

    def _close_current(self, effective_to: date) -> None:
        self.assignments[-1] = msgspec.structs.replace(self.current, effective_to=effective_to)

    @event(Reassigned)
    def _reassigned(
        self, role: StaffRole, scope_unit_id: UUID, effective_from: date, meta: EventMeta
    ) -> None:
        self._close_current(effective_from)
        self.assignments.append(
            Assignment(role=role, scope_unit_id=scope_unit_id, effective_from=effective_from)
        )

    @event(Relieved)
    def _relieved(self, effective_from: date, reason: str, meta: EventMeta) -> None:
        self._close_current(effective_from)
        self.status = "relieved"
        self.binding_code = None
        self.wechat_openid_hash = None

    @event(BindingCodeIssued)
    def _binding_code_issued(self, code_hash: str, expires_at: datetime, meta: EventMeta) -> None:
        self.binding_code = BindingCode(code_hash=code_hash, expires_at=expires_at)

    @event(WechatBound)
    def _wechat_bound(self, openid_hash: str, code_hash: str, meta: EventMeta) -> None:
        self.wechat_openid_hash = openid_hash
        if self.binding_code is not None:
            self.binding_code = msgspec.structs.replace(self.binding_code, used=True)

    @event(WechatUnbound)
    def _wechat_unbound(self, reason: str, meta: EventMeta) -> None:
        self.wechat_openid_hash = None
