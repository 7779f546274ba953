"""Notice board (公示栏): staff compose/review/publish editions; the public reads them."""

from __future__ import annotations

from typing import Annotated, Any, Final
from uuid import UUID

import msgspec
from litestar import Controller, MediaType, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter

from backend.http.deps import ContainerDep
from backend.http.guards import BEARER, ActorDep, actor_dependency
from backend.http.notice_board_page import render_board_page
from backend.http.notice_board_schemas import (
    ComposeEdition,
    EditionPage,
    EditionView,
    PublicBoard,
    WithdrawEdition,
    edition_view,
)
from backend.http.responses import READ_ERRORS, WRITE_ERRORS, ErrorBody, error_responses
from backend.services.notice_board import EditionDraft, NoticeBoardService
from backend.services.notice_board_public import public_board
from events.notice_board import EditionState

__all__ = ["NoticeBoardController", "PublicNoticeBoardController"]

_REPEATED = ResponseSpec(EditionView, description="Composed before under this edition_id")
_REFUSED: Final[dict[int, Any]] = {
    422: ResponseSpec(
        ErrorBody,
        description="The content holds a protected field (42280, with findings); not published",
        generate_examples=False,
    )
}
_PUBLIC_ERRORS: Final = error_responses(400, 404)
_EDITIONS: Final = "/v1/notice-board/editions"


class NoticeBoardController(Controller):
    tags = ["notice board"]
    dependencies = actor_dependency
    security = BEARER

    @post(
        _EDITIONS,
        operation_id="composeNoticeBoardEdition",
        summary="Compose a draft edition of a village's or town's board (supervisor, admin)",
        responses={**WRITE_ERRORS, 200: _REPEATED},
    )
    async def compose(
        self, container: ContainerDep, actor: ActorDep, data: JSONBody[ComposeEdition]
    ) -> Response[EditionView]:
        draft = EditionDraft(
            unit_id=data.unit_id, edition_id=data.edition_id, period_start=data.period_start,
            period_end=data.period_end, notes=tuple(data.notes),
        )  # fmt: skip
        row, duplicate = await NoticeBoardService(container).compose(actor, draft)
        return Response(
            edition_view(row, duplicate=duplicate), status_code=200 if duplicate else 201
        )

    @get(
        "/v1/notice-board/units/{unit_id:uuid}/editions",
        operation_id="listNoticeBoardEditions",
        summary="Editions of one village or town in your scope, newest first",
        responses=READ_ERRORS,
    )
    async def list_editions(
        self,
        container: ContainerDep,
        actor: ActorDep,
        unit_id: FromPath[UUID],
        edition_state: Annotated[EditionState | None, QueryParameter(name="state")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
        offset: Annotated[int, QueryParameter(ge=0, le=1_000_000)] = 0,
    ) -> EditionPage:
        total, rows = await NoticeBoardService(container).editions(
            actor, unit_id=unit_id, state=edition_state, limit=limit, offset=offset
        )
        return EditionPage(
            total=total, limit=limit, offset=offset, items=[edition_view(r) for r in rows]
        )

    @get(
        f"{_EDITIONS}/{{edition_id:uuid}}",
        operation_id="getNoticeBoardEdition",
        summary="One edition, with what the privacy gate would refuse in it",
        responses=READ_ERRORS,
    )
    async def get_edition(
        self, container: ContainerDep, actor: ActorDep, edition_id: FromPath[UUID]
    ) -> EditionView:
        return edition_view(await NoticeBoardService(container).view(actor, edition_id))

    @post(
        f"{_EDITIONS}/{{edition_id:uuid}}/approve",
        operation_id="approveNoticeBoardEdition",
        status_code=200,
        summary="Review passed (not by the composer)",
        responses=WRITE_ERRORS,
    )
    async def approve(
        self, container: ContainerDep, actor: ActorDep, edition_id: FromPath[UUID]
    ) -> EditionView:
        return edition_view(await NoticeBoardService(container).approve(actor, edition_id))

    @post(
        f"{_EDITIONS}/{{edition_id:uuid}}/publish",
        operation_id="publishNoticeBoardEdition",
        status_code=200,
        summary="Publish the reviewed edition, frozen, after the privacy gate",
        responses={**WRITE_ERRORS, **_REFUSED},
    )
    async def publish(
        self, container: ContainerDep, actor: ActorDep, edition_id: FromPath[UUID]
    ) -> EditionView:
        return edition_view(await NoticeBoardService(container).publish(actor, edition_id))

    @post(
        f"{_EDITIONS}/{{edition_id:uuid}}/withdraw",
        operation_id="withdrawNoticeBoardEdition",
        status_code=200,
        summary="Withdraw an edition (or discard a draft) with a reason",
        responses=WRITE_ERRORS,
    )
    async def withdraw(
        self,
        container: ContainerDep,
        actor: ActorDep,
        edition_id: FromPath[UUID],
        data: JSONBody[WithdrawEdition],
    ) -> EditionView:
        service = NoticeBoardService(container)
        return edition_view(await service.withdraw(actor, edition_id, data.reason))


async def _board(container: ContainerDep, unit_id: UUID) -> PublicBoard:
    return msgspec.convert(await public_board(container, unit_id), PublicBoard, strict=False)


class PublicNoticeBoardController(Controller):
    """No token: what residents read, on screen or printed on A4."""

    tags = ["public"]

    @get(
        "/v1/public/notice-board/{unit_id:uuid}",
        operation_id="getPublicNoticeBoard",
        summary="The unit's current published editions and every published one (no token)",
        responses=_PUBLIC_ERRORS,
    )
    async def board_json(self, container: ContainerDep, unit_id: FromPath[UUID]) -> PublicBoard:
        return await _board(container, unit_id)

    @get(
        "/public/notice-board/{unit_id:uuid}",
        operation_id="getPublicNoticeBoardPage",
        summary="The same board as an HTML page that prints on A4 (no token)",
        media_type=MediaType.HTML,
        responses=_PUBLIC_ERRORS,
    )
    async def board_page(self, container: ContainerDep, unit_id: FromPath[UUID]) -> str:
        board = await _board(container, unit_id)
        return render_board_page(board, today=board.today, zone=container.clock.zone)
