"""Domain errors of points, awards and the points supermarket (积分超市).

They extend the stable table in :mod:`events.errors` (the first three digits are the HTTP
status; codes are never renumbered):

=========  ===================  =================================================
errcode    class                meaning
=========  ===================  =================================================
40330      SelfApproval         the proposer of an award may not decide it
40930      InsufficientBalance  a redemption needs more points than the balance
40931      CapReached           a rule's daily or total cap leaves no room at all
=========  ===================  =================================================
"""

from typing import ClassVar

from events.errors import DomainError

__all__ = ["CapReached", "InsufficientBalance", "SelfApproval"]


class SelfApproval(DomainError):
    """errcode 40330 (HTTP 403): the staff member who proposed an award tried to approve,
    reject or revoke it. Points are money-like; a second person must decide (四眼原则).
    ``details["award_id"]`` names the award."""

    errcode: ClassVar[int] = 40330


class InsufficientBalance(DomainError):
    """errcode 40930 (HTTP 409): a redemption costs more than the balance.

    ``details`` has ``balance`` and ``needed`` (both ints); the balance is left unchanged."""

    errcode: ClassVar[int] = 40930


class CapReached(DomainError):
    """errcode 40931 (HTTP 409): a credit would be clipped to nothing by a rule's cap.

    ``details``: ``rule_code``, ``cap`` (``"daily"`` or ``"total"``), ``limit``, ``used`` and
    ``requested``. Only raised when the caller did not pass ``allow_clip=True``; a credit that
    is clipped only partly is recorded, never refused."""

    errcode: ClassVar[int] = 40931
