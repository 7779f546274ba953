"""Use cases of points accounts (积分账户) and the points supermarket (积分超市).

Accounts are read from the ``points_ledger`` projection; an owner without an account yet has a
zero balance. Redemptions are checked against the balance by the aggregate (never negative)
and are idempotent per the caller's redemption id.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from backend.bootstrap import Container
from backend.errors import ApiError
from backend.services.actor import Actor
from backend.services.awards import business_day, owner_unit
from backend.services.commands import CommandRunner
from backend.services.scope import require_role
from events.points import PointsAccount
from events.points_errors import InsufficientBalance
from events.points_events import OwnerKind, RedeemItem, validate_items
from projections import points_ledger

__all__ = ["PointsService"]

READERS = ("grid_member", "grid_head", "mediator", "supervisor", "auditor", "admin")
# Who keeps the counter of the points supermarket.
CASHIERS = ("grid_member", "grid_head", "supervisor", "admin")
HISTORY_LIMIT = 200


class PointsService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.pool = container.pool
        self.commands = CommandRunner(container)

    async def account(self, actor: Actor, kind: OwnerKind, owner_id: UUID) -> dict[str, Any]:
        """Balance, owed, the latest history lines and the commendations held."""
        require_role(actor, *READERS)
        await owner_unit(self.container, actor, kind, owner_id)
        row = await points_ledger.get_account(self.pool, kind, owner_id)
        account_id = PointsAccount.id_for(kind, owner_id)
        base = {"id": account_id, "owner_kind": kind, "owner_id": owner_id}
        if row is None:
            return {**base, "balance": 0, "owed": 0, "version": 0, "history": []}
        return {
            **base,
            "balance": row["balance"],
            "owed": row["owed"],
            "version": row["version"],
            "history": await points_ledger.account_history(
                self.pool, account_id, limit=HISTORY_LIMIT
            ),
            "commendations": await points_ledger.commendations(self.pool, account_id),
        }

    async def redeem(
        self,
        actor: Actor,
        kind: OwnerKind,
        owner_id: UUID,
        redemption_id: UUID,
        items: tuple[RedeemItem, ...],
    ) -> tuple[dict[str, Any], dict[str, Any], bool]:
        """Redeem; returns (redemption, account, whether this id had been redeemed before)."""
        require_role(actor, *CASHIERS)
        await owner_unit(self.container, actor, kind, owner_id)
        account_id = PointsAccount.id_for(kind, owner_id)
        if await points_ledger.get_account(self.pool, kind, owner_id) is None:
            needed = sum(i.unit_points * i.quantity for i in validate_items(items))
            raise InsufficientBalance("not enough points", balance=0, needed=needed)
        meta, on, seen = actor.meta(), business_day(self.container), []

        def decide(account: PointsAccount) -> None:
            seen.append(redemption_id in account.redemptions)
            account.redeem(redemption_id, items, on=on, meta=meta)

        await self.commands.change(PointsAccount, account_id, decide, what="points account")
        redemption = await points_ledger.redemptions_of(self.pool, account_id, redemption_id)
        return redemption, await self.account(actor, kind, owner_id), seen[-1]

    async def cancel(
        self, actor: Actor, kind: OwnerKind, owner_id: UUID, redemption_id: UUID, reason: str
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Refund a redemption once; a second cancel is 40910."""
        require_role(actor, *CASHIERS)
        await owner_unit(self.container, actor, kind, owner_id)
        account_id = PointsAccount.id_for(kind, owner_id)
        if await points_ledger.get_account(self.pool, kind, owner_id) is None:
            raise ApiError(40400, "no such redemption", redemption_id=str(redemption_id))
        meta, on = actor.meta(), business_day(self.container)
        await self.commands.change(
            PointsAccount,
            account_id,
            lambda a: a.cancel_redemption(redemption_id, reason, on=on, meta=meta),
            what="points account",
        )
        redemption = await points_ledger.redemptions_of(self.pool, account_id, redemption_id)
        return redemption, await self.account(actor, kind, owner_id)
