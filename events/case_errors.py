"""Domain errors of the case loop (事件闭环).

They extend the stable table in :mod:`events.errors` (the first three digits are the HTTP
status; codes are never renumbered). Refused transitions use
:class:`~events.errors.InvalidTransition` (40910) with ``details["state"]`` and
``details["allowed"]`` (the actions allowed in that state).

=========  ===========  =========================================================
errcode    class        meaning
=========  ===========  =========================================================
40340      NotAssignee  only the staff member a case was dispatched to may sign it
=========  ===========  =========================================================
"""

from typing import ClassVar

from events.errors import DomainError

__all__ = ["NotAssignee"]


class NotAssignee(DomainError):
    """errcode 40340 (HTTP 403): someone other than the assignee tried to sign for (签收) a
    case dispatched to a staff member, or the system tried to sign. ``details["case_id"]``
    names the case; the assignee's id is not echoed."""

    errcode: ClassVar[int] = 40340
