"""Domain errors of dispute mediation (矛盾纠纷调解).

They extend the stable table in :mod:`events.errors` (the first three digits are the HTTP
status; codes are never renumbered):

=========  ===============  ======================================================
errcode    class            meaning
=========  ===============  ======================================================
40911      SessionIdTaken   a session id was recorded before with other content
40933      NoSessionHeld    a mediation cannot be concluded before a session is held
=========  ===============  ======================================================
"""

from typing import ClassVar

from events.errors import DomainError, InvalidTransition

__all__ = ["NoSessionHeld", "SessionIdTaken"]


class NoSessionHeld(InvalidTransition):
    """errcode 40933 (HTTP 409): a mediation is concluded only after a session was recorded.
    ``details``: ``state``, ``action`` and ``allowed`` (as :class:`InvalidTransition`)."""

    errcode: ClassVar[int] = 40933


class SessionIdTaken(DomainError):
    """errcode 40911 (HTTP 409): the ``session_id`` was recorded before with other content;
    the first session stands. ``details["session_id"]`` names it."""

    errcode: ClassVar[int] = 40911
