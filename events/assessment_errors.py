"""Errors of assessments (考核), errcodes 40075..40979 (the assessments range 75–79).

They subclass the generic domain errors, so callers catching ``InvalidValue`` or
``InvalidTransition`` still see them, while phones and supervisors get a precise errcode.
"""

from typing import ClassVar

from events.errors import InvalidTransition, InvalidValue

__all__ = ["AlreadySignedOff", "InvalidPeriod", "InvalidScheme", "SignOffOutOfOrder"]


class InvalidPeriod(InvalidValue):
    """errcode 40075: a period id is not one of ``2026-Q3``, ``2026-07``, ``2026-W27-28``."""

    errcode: ClassVar[int] = 40075


class InvalidScheme(InvalidValue):
    """errcode 40076: an assessment scheme breaks a rule (weights, thresholds, penalties)."""

    errcode: ClassVar[int] = 40076


class SignOffOutOfOrder(InvalidTransition):
    """errcode 40975: a parent is signed before all its children (grid → village → town), or
    the period has not started yet."""

    errcode: ClassVar[int] = 40975


class AlreadySignedOff(InvalidTransition):
    """errcode 40976: the period is already signed off (locked) for this unit."""

    errcode: ClassVar[int] = 40976
